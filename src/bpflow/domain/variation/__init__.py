"""Stage 3 (variation assets): the helpers the variation-gen job and the variation-assets
workflow share, kept out of both so each stays a short list of decisions.

- ``paths``: where Stage 3 reads and writes inside one scene, and the prefix guard;
- ``requests``: the replicator's ``variation_assets/manifest.json``, validated;
- ``palette``: the scale / colour / material variants an asset may get;
- ``sources``: which scene object (and which USD file) a requested asset varies;
- ``variant_usd``: the per-asset ``variants.usda`` with real USD variant sets;
- ``documents``: the ``variation_assets.json`` entries and the variants' scene manifest;
- ``workflow_state``: the workflow's own reads and writes (resume, progress, count, marker);
- ``isaac_refresh``: the Isaac Lab refresh plan and config module, and its check.
"""

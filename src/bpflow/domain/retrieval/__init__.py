"""Stage 1 text adapter: turn a planned text scene (``textgen/package.json``) into the canonical
Stage-1 outputs (object assets, manifest, scaled layout, inventory) that Stage 2 consumes.

Modules, each with one job: ``planned_package`` (read and check the planner's output), ``library``
(what can be retrieved), ``lexical`` / ``embeddings`` / ``ann`` / ``select`` (retrieval and its
rollout modes), ``rollout`` (the shared rollout state), ``asset_catalog`` (asset rows in the database),
``usd_models`` / ``materialize`` (per-object USD), ``outputs`` (canonical files), ``queues``
(embedding and replication requests) and ``pipeline`` (the run, in the reference's order).
"""

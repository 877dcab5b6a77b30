"""Infrastructure every other package stands on: settings, storage, events, the engine, runners,
policy, the trigger map, contracts and the job SDK (``jobkit``). Nothing here imports bpflow code
outside ``core/`` (``tests/test_import_layers.py`` checks it)."""

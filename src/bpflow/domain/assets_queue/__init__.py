"""Consumers of the two bucket-backed asset queues (embedding and replication).

Producers (the text adapter, backfills) drop one JSON object per batch under
``automation/asset_<kind>/queue/``; a consumer claims each object exactly once with a
create-only claim object, processes it, files the result under ``processed/`` or ``failed/``
and removes the queue object. See ``queue.py`` for the life cycle.
"""

"""asset-embedding-job: embed queued assets into the catalog (maintenance spec §2.4).

Env: ``QUEUE_OBJECT`` (this run's object; the backlog follows), ``TEXT_ASSET_EMBEDDING_*``
(queue/processed/failed prefixes, ``MAX_ITEMS`` 20, ``BATCH_SIZE`` 32, ``DRY_RUN``,
``FAIL_ON_ERROR``, ``BACKEND``, ``MODEL``), ``TEXT_ASSET_ANN_NAMESPACE`` →
``VECTOR_STORE_NAMESPACE`` → ``assets-v1``, and ``BPFLOW_DATABASE_URL`` (the catalog).
"""

from __future__ import annotations

from typing import Any

from bpflow.core.jobkit import env_bool, env_int, env_str, job_bucket, job_settings, run_main
from bpflow.domain.assets_queue.embedding import embed_item
from bpflow.domain.assets_queue.queue import QueuePaths
from bpflow.domain.retrieval.asset_catalog import Catalog
from bpflow.domain.retrieval.embeddings import make_embedder
from bpflow.jobs._queue import drain_queue

JOB = "asset-embedding-job"


def _main() -> int:
    settings = job_settings()
    paths = QueuePaths.of(
        settings.text_asset_embedding_queue_prefix,
        settings.text_asset_embedding_processed_prefix,
        settings.text_asset_embedding_failed_prefix,
    )
    embedder = make_embedder(env_str("TEXT_ASSET_EMBEDDING_BACKEND"), settings.text_asset_embedding_model)
    namespace = env_str("TEXT_ASSET_ANN_NAMESPACE") or env_str("VECTOR_STORE_NAMESPACE") or "assets-v1"
    batch_size = max(1, env_int("TEXT_ASSET_EMBEDDING_BATCH_SIZE", 32))
    dry_run = env_bool("TEXT_ASSET_EMBEDDING_DRY_RUN", False)
    catalog = Catalog.open(settings.database_url)
    try:

        def process(key: str, body: dict[str, Any]) -> dict[str, Any]:
            return embed_item(
                body,
                queue_object=key,
                catalog=catalog,
                embedder=embedder,
                namespace=namespace,
                batch_size=batch_size,
                dry_run=dry_run,
            )

        return drain_queue(
            job_bucket(),
            paths,
            env_prefix="TEXT_ASSET_EMBEDDING",
            default_max_items=20,
            workflow="asset-embedding-pipeline",
            process=process,
        )
    finally:
        catalog.close()


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())

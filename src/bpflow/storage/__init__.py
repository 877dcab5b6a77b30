"""Storage backends behind one Bucket interface, chosen by URL (file://, s3://, gs://)."""

from __future__ import annotations

from bpflow.storage.base import Bucket, ObjectInfo, check_key, glob_to_regex, literal_prefix

__all__ = ["Bucket", "ObjectInfo", "check_key", "glob_to_regex", "literal_prefix", "open_bucket"]


def open_bucket(url: str) -> Bucket:
    """``file:///abs/path`` (or a bare path), ``s3://name``, ``gs://name``."""
    from bpflow.errors import ConfigError

    if url.startswith("s3://"):
        from bpflow.storage.s3 import S3Bucket

        return S3Bucket.from_url(url)
    if url.startswith("gs://"):
        from bpflow.storage.gcs import GCSBucket

        return GCSBucket.from_url(url)
    if url.startswith("file://"):
        from bpflow.storage.local import LocalBucket

        return LocalBucket(url[len("file://"):])
    if "://" in url:
        raise ConfigError(f"unsupported bucket URL scheme: {url!r} (use file://, s3:// or gs://)", field="BPFLOW_BUCKET_URL")
    from bpflow.storage.local import LocalBucket

    return LocalBucket(url)

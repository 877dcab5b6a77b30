"""Storage backends behind one Bucket interface, chosen by URL (file://, s3://, gs://)."""

from __future__ import annotations

from bpflow.core.storage.base import Bucket, ObjectInfo, check_key, glob_to_regex, literal_prefix

__all__ = ["Bucket", "ObjectInfo", "check_key", "credential_env", "glob_to_regex", "literal_prefix", "open_bucket"]

#: Variables a client library of each remote backend reads for credentials and endpoints: what a
#: job working on such a bucket must receive (``bpflow.core.runners.job_env``).
S3_CREDENTIAL_ENV: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_EC2_METADATA_DISABLED",
)
GCS_CREDENTIAL_ENV: tuple[str, ...] = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "STORAGE_EMULATOR_HOST",
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
    "CLOUDSDK_CONFIG",
    "GCE_METADATA_HOST",
    "GCE_METADATA_IP",
    "NO_GCE_CHECK",
)


def credential_env(url: str) -> tuple[str, ...]:
    """The credential variables of the backend ``url`` names (none for a directory bucket)."""
    if url.startswith("s3://"):
        return S3_CREDENTIAL_ENV
    if url.startswith("gs://"):
        return GCS_CREDENTIAL_ENV
    return ()


def object_uri(bucket: str, key: str) -> str:
    """The address of ``key`` in ``bucket``: a bucket URL keeps its own scheme
    (``file:///srv/b/key``, ``s3://b/key``), a directory path is a local bucket
    (``file:///srv/b/key``), a bare name is a GCS bucket (``gs://name/key``, the reference's
    form) — never ``gs://file:///…`` or ``gs:///srv/…``."""
    key = key.lstrip("/")
    if "://" in bucket:
        return f"{bucket.rstrip('/')}/{key}"
    if bucket.startswith("/"):
        return f"file://{bucket.rstrip('/')}/{key}"
    return f"gs://{bucket}/{key}"


def bucket_key(url: str, schemes: tuple[str, ...] = ("gs://", "s3://", "file://")) -> str:
    """The object key a bucket URL names: ``gs://b/scenes/x`` → ``scenes/x`` (what follows the
    bucket name). A path in none of ``schemes`` is already a key and comes back unchanged."""
    for scheme in schemes:
        if url.startswith(scheme):
            return url[len(scheme) :].partition("/")[2]
    return url


def open_bucket(url: str) -> Bucket:
    """``file:///abs/path`` (or a bare path), ``s3://name``, ``gs://name``."""
    from bpflow.core.errors import ConfigError

    if url.startswith("s3://"):
        from bpflow.core.storage.s3 import S3Bucket

        return S3Bucket.from_url(url)
    if url.startswith("gs://"):
        from bpflow.core.storage.gcs import GCSBucket

        return GCSBucket.from_url(url)
    if url.startswith("file://"):
        from bpflow.core.storage.local import LocalBucket

        return LocalBucket(url[len("file://") :])
    if "://" in url:
        raise ConfigError(
            f"unsupported bucket URL scheme: {url!r} (use file://, s3:// or gs://)", field="BPFLOW_BUCKET_URL"
        )
    from bpflow.core.storage.local import LocalBucket

    return LocalBucket(url)

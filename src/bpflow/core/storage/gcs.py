"""A Google Cloud Storage bucket through google-cloud-storage.

GCS gives bpflow everything natively: each write gets a new, strictly increasing ``generation``;
``ifGenerationMatch=0`` is create-only, ``ifGenerationMatch=N`` is compare-and-swap, and the
server decides atomically. This module only maps names and errors.

Environment: ``BPFLOW_GCS_ENDPOINT_URL`` (else ``STORAGE_EMULATOR_HOST``) points the client at
another endpoint. Either one means "an emulator" (fake-gcs-server, the test suite's): the client
then uses anonymous credentials and the project ``BPFLOW_GCS_PROJECT`` (default ``bpflow-local``).
Without them the client uses Application Default Credentials against Google.

Known limit: google-cloud-storage retries a conditional upload after a transient error. If the
first attempt did land, a create-only retry answers 412 although this writer won; callers see
``PreconditionFailed`` (safe: nobody else holds the object, it just stays until its owner's TTL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NoReturn

import requests
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError, TransportError
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from bpflow.core.errors import ConfigError, ObjectNotFound, PreconditionFailed, StorageError
from bpflow.core.storage.base import ObjectInfo, RemoteBucket, check_key, split_bucket_url

DEFAULT_EMULATOR_PROJECT = "bpflow-local"
_READ_ATTEMPTS = 20
RETRY = DEFAULT_RETRY.with_timeout(20.0)
"""The client's own retry of transient errors, bounded well below its 120 s default: bpflow's retry
policy (``blocks/``) decides what happens after that, so a dead endpoint surfaces quickly as a
retryable StorageError instead of stalling a worker for two minutes."""


class GCSBucket(RemoteBucket):
    """A bucket (optionally a key prefix inside it) on Google Cloud Storage or fake-gcs-server."""

    scheme = "gs"

    def __init__(
        self,
        name: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        project: str | None = None,
        client: storage.Client | None = None,
    ) -> None:
        super().__init__(name, prefix)
        self.endpoint_url = endpoint_url
        self._client = client if client is not None else make_client(endpoint_url, project)
        self._bucket = self._client.bucket(name)

    @classmethod
    def from_url(cls, url: str) -> GCSBucket:
        """``gs://name`` or ``gs://name/some/prefix``; the endpoint comes from the env."""
        name, prefix = split_bucket_url(url, "gs")
        return cls(name, prefix=prefix, endpoint_url=endpoint_from_env())

    # -- mapping -----------------------------------------------------------------------------
    def _info(self, key: str, blob: storage.Blob) -> ObjectInfo:
        updated: datetime | None = blob.updated
        updated = updated.astimezone(UTC) if updated is not None else datetime.now(UTC)
        return ObjectInfo(
            key=key,
            size=int(blob.size or 0),
            updated=updated,
            generation=int(blob.generation or 0),
            bucket=self.name,
            metadata=dict(blob.metadata or {}),
        )

    # -- backend surface ---------------------------------------------------------------------
    def stat(self, key: str) -> ObjectInfo | None:
        check_key(key)
        try:
            blob = self._bucket.get_blob(self._full(key), retry=RETRY)
        except Exception as exc:  # noqa: BLE001 - translated below
            _raise(exc, key)
        return self._info(key, blob) if blob is not None else None

    def _read(self, key: str) -> tuple[bytes, ObjectInfo]:
        # Metadata first, then the body of exactly that generation: the pair is always consistent.
        for _ in range(_READ_ATTEMPTS):
            try:
                blob = self._bucket.get_blob(self._full(key), retry=RETRY)
                if blob is None:
                    raise ObjectNotFound(f"object not found: {key}", field="key")
                data = blob.download_as_bytes(if_generation_match=blob.generation, retry=RETRY)
            except (gexc.PreconditionFailed, gexc.NotFound):
                continue  # overwritten or deleted between the two requests: look again
            except ObjectNotFound:
                raise
            except Exception as exc:  # noqa: BLE001 - translated below
                _raise(exc, key)
            return data, self._info(key, blob)
        raise StorageError(f"object {key} kept changing while being read", code="read_contention", retryable=True)

    def _write(self, key: str, data: bytes, if_generation_match: int | None, content_type: str) -> ObjectInfo:
        blob = self._bucket.blob(self._full(key))
        try:
            blob.upload_from_string(
                data, content_type=content_type, if_generation_match=if_generation_match, retry=RETRY
            )
        except gexc.PreconditionFailed:
            what = "already exists" if if_generation_match == 0 else "changed meanwhile"
            raise PreconditionFailed(f"object {what}: {key}", field="key") from None
        except gexc.NotFound as exc:
            if if_generation_match not in (None, 0):
                raise PreconditionFailed(f"object not found for compare-and-swap: {key}", field="key") from None
            _raise(exc, key)  # the bucket itself is missing
        except Exception as exc:  # noqa: BLE001 - translated below
            _raise(exc, key)
        return self._info(key, blob)  # the upload response carries the new resource

    def _delete(self, key: str, if_generation_match: int | None) -> bool:
        """Delete, with GCS's own ``ifGenerationMatch`` when conditional.

        A conditional delete also checks the generation first: GCS enforces the precondition
        atomically anyway, but fake-gcs-server (the emulator used locally and in tests) ignores
        preconditions on DELETE, and a lock must never be released by a stale owner there either.
        Against the emulator the check-then-delete leaves a small window; against GCS it does not.
        """
        if if_generation_match is not None:
            current = self.stat(key)
            if current is None:
                if if_generation_match != 0:
                    raise PreconditionFailed(f"object not found for conditional delete: {key}", field="key")
                return False
            if current.generation != if_generation_match:
                raise PreconditionFailed(f"generation mismatch deleting {key}", field="key")
        try:
            self._bucket.blob(self._full(key)).delete(if_generation_match=if_generation_match, retry=RETRY)
        except gexc.NotFound:
            if if_generation_match not in (None, 0):
                raise PreconditionFailed(f"object not found for conditional delete: {key}", field="key") from None
            return False
        except gexc.PreconditionFailed:
            raise PreconditionFailed(f"generation mismatch deleting {key}", field="key") from None
        except Exception as exc:  # noqa: BLE001 - translated below
            _raise(exc, key)
        return True

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        """GCS lists in lexicographic (UTF-8 byte) order, with generation and size per object."""
        try:
            for blob in self._client.list_blobs(self._bucket, prefix=self._full(prefix), retry=RETRY):
                yield self._info(blob.name[len(self.prefix) :], blob)
        except Exception as exc:  # noqa: BLE001 - translated below
            _raise(exc, prefix)

    def close(self) -> None:
        self._client.close()


def endpoint_from_env() -> str | None:
    return os.environ.get("BPFLOW_GCS_ENDPOINT_URL") or os.environ.get("STORAGE_EMULATOR_HOST") or None


def make_client(endpoint_url: str | None = None, project: str | None = None) -> storage.Client:
    """A client for Google itself (ADC) or, when an endpoint is given, an anonymous emulator client."""
    try:
        if endpoint_url:
            return storage.Client(
                project=project or os.environ.get("BPFLOW_GCS_PROJECT") or DEFAULT_EMULATOR_PROJECT,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": endpoint_url},
            )
        return storage.Client(project=project or os.environ.get("BPFLOW_GCS_PROJECT") or None)
    except DefaultCredentialsError as exc:
        raise ConfigError(
            f"no Google credentials found for GCS ({exc}); set GOOGLE_APPLICATION_CREDENTIALS, "
            "or BPFLOW_GCS_ENDPOINT_URL / STORAGE_EMULATOR_HOST for an emulator",
            field="BPFLOW_BUCKET_URL",
        ) from exc


def _raise(exc: Exception, key: str) -> NoReturn:
    """Translate google / transport errors into bpflow's typed errors."""
    if isinstance(exc, gexc.PreconditionFailed | gexc.Conflict):
        raise PreconditionFailed(f"precondition failed for {key}: {exc}", field="key") from exc
    if isinstance(exc, gexc.NotFound):
        raise StorageError(
            f"GCS resource not found for {key}: {exc}", code="bucket_not_found", retryable=False
        ) from exc
    if isinstance(exc, gexc.TooManyRequests | gexc.ServerError | gexc.RetryError):
        raise StorageError(f"GCS unavailable for {key}: {exc}", code="storage_unavailable", retryable=True) from exc
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout | TransportError):
        raise StorageError(f"cannot reach GCS for {key}: {exc}", code="storage_unavailable", retryable=True) from exc
    if isinstance(exc, gexc.GoogleAPICallError):
        raise StorageError(f"GCS error on {key}: {exc}", retryable=False) from exc
    raise StorageError(f"GCS client error on {key}: {exc}", retryable=False) from exc

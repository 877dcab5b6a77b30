"""An S3 (or S3-compatible) bucket through boto3.

S3 has no per-object generation, so bpflow keeps one in the user metadata key
``bpflow-generation`` (``x-amz-meta-bpflow-generation``). Every write is a small optimistic loop:

1. ``head_object`` gives the current ETag and generation (or "absent");
2. the new generation is ``max(time.time_ns(), previous + 1)``, so it strictly increases per key
   even when clocks of several writers disagree;
3. ``put_object`` with ``IfMatch=<etag>`` (or ``IfNoneMatch="*"`` when absent) stores body and
   generation atomically, and only if nobody wrote in between.

An unconditional write that loses that race simply goes round again (bounded); a conditional write
(create-only, or compare-and-swap on a generation) reports ``PreconditionFailed`` instead.

Known limits, inherent to S3's API (conditions exist on ETag only):

* The ETag of a single-part upload is the MD5 of the body. If two writers race to store a body
  *identical* to the one already there, both ``IfMatch`` conditions hold, both writes succeed, and
  the generation left behind is the one of whichever request landed last (it may be the smaller
  of the two). Content is the same in that case; only "exactly one CAS winner" and strict
  monotonicity of that one step are lost. Writes that change the content are exact.
* Objects written by other tools carry no ``bpflow-generation``; their generation is their
  ``LastModified`` in nanoseconds, which S3 reports with one-second resolution. Two foreign writes
  of one key within the same second therefore share a generation.

Environment: ``BPFLOW_S3_ENDPOINT_URL`` (else ``AWS_ENDPOINT_URL``, else AWS itself) picks the
endpoint, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` the region (default ``us-east-1``),
``BPFLOW_S3_ADDRESSING_STYLE`` (``auto``/``path``/``virtual``) the addressing style (default: ``path``
for a custom endpoint, as MinIO, moto and most S3-compatible stores expect). Credentials come from
the normal boto3 chain.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from bpflow.core.errors import ObjectNotFound, PreconditionFailed, StorageError
from bpflow.core.storage.base import Listed, ObjectInfo, RemoteBucket, check_key, split_bucket_url

S3Client = Any  # boto3 clients are generated at runtime; mypy-boto3-s3 stubs are optional

GENERATION_META = "bpflow-generation"
"""User-metadata key (S3 lowercases it) that holds bpflow's generation of an object."""

MAX_WRITE_ATTEMPTS = 20
"""How often an unconditional write retries after losing a race to another writer."""

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_PRECONDITION_CODES = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})
_RETRYABLE_CODES = frozenset(
    {"500", "502", "503", "504", "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "Throttling"}
)


class _Lost(Exception):
    """Internal: a conditional request lost against a concurrent writer (412/409, or 404 on If-Match)."""


class S3Bucket(RemoteBucket):
    """A bucket (optionally a key prefix inside it) on S3 or an S3-compatible store."""

    scheme = "s3"

    def __init__(
        self,
        name: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        super().__init__(name, prefix)
        self.endpoint_url = endpoint_url
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._client: S3Client = client if client is not None else self._make_client()

    @classmethod
    def from_url(cls, url: str) -> S3Bucket:
        """``s3://name`` or ``s3://name/some/prefix``; the endpoint and region come from the env."""
        name, prefix = split_bucket_url(url, "s3")
        endpoint = os.environ.get("BPFLOW_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
        return cls(name, prefix=prefix, endpoint_url=endpoint)

    def _make_client(self) -> S3Client:
        style = os.environ.get("BPFLOW_S3_ADDRESSING_STYLE") or ("path" if self.endpoint_url else "auto")
        config = Config(
            region_name=self.region,
            s3={"addressing_style": style},
            retries={"max_attempts": 5, "mode": "standard"},
            # Many workflow threads share one client (clients are thread-safe; sessions are not).
            max_pool_connections=32,
        )
        session = boto3.session.Session()
        return session.client("s3", endpoint_url=self.endpoint_url, config=config)

    # -- key mapping -------------------------------------------------------------------------
    def _info(self, key: str, last_modified: datetime, size: int, metadata: Mapping[str, str]) -> ObjectInfo:
        updated = last_modified.astimezone(UTC)
        meta = {k: v for k, v in metadata.items() if k != GENERATION_META}
        return ObjectInfo(
            key=key,
            size=int(size),
            updated=updated,
            generation=_generation(metadata, updated),
            bucket=self.name,
            metadata=meta,
        )

    def _head(self, key: str) -> tuple[ObjectInfo, str] | None:
        """Current info and ETag of ``key``, or None when absent."""
        try:
            resp = self._client.head_object(Bucket=self.name, Key=self._full(key))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND_CODES:
                return None
            _raise(exc, key)
        except BotoCoreError as exc:
            _raise(exc, key)
        info = self._info(key, resp["LastModified"], resp["ContentLength"], resp.get("Metadata", {}))
        return info, resp["ETag"]

    # -- backend surface ---------------------------------------------------------------------
    def _read(self, key: str) -> tuple[bytes, ObjectInfo]:
        # One GET returns body and metadata together, so the generation always names this body.
        try:
            resp = self._client.get_object(Bucket=self.name, Key=self._full(key))
            data = resp["Body"].read()
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND_CODES:
                raise ObjectNotFound(f"object not found: {key}", field="key") from None
            _raise(exc, key)
        except BotoCoreError as exc:
            _raise(exc, key)
        return data, self._info(key, resp["LastModified"], len(data), resp.get("Metadata", {}))

    def stat(self, key: str) -> ObjectInfo | None:
        head = self._head(check_key(key))
        return head[0] if head else None

    def _write(self, key: str, data: bytes, if_generation_match: int | None, content_type: str) -> ObjectInfo:
        for attempt in range(MAX_WRITE_ATTEMPTS):
            head = self._head(key)
            current = head[0] if head else None
            if if_generation_match == 0 and current is not None:
                raise PreconditionFailed(f"object already exists: {key}", field="key")
            if if_generation_match not in (None, 0) and (current is None or current.generation != if_generation_match):
                raise PreconditionFailed(
                    f"generation mismatch for {key}: expected {if_generation_match}, "
                    f"found {current.generation if current else 'none'}",
                    field="key",
                )
            generation = time.time_ns()
            if current is not None and generation <= current.generation:
                generation = current.generation + 1
            condition: dict[str, str] = {"IfMatch": head[1]} if head else {"IfNoneMatch": "*"}
            try:
                self._put(key, data, content_type, generation, condition)
            except _Lost:
                # botocore may have retried a request whose first attempt did land: the generation
                # is unique to this attempt, so finding it stored means we won after all.
                landed = self._head(key)
                if landed is not None and landed[0].generation == generation:
                    return landed[0]
                if if_generation_match is not None:
                    what = "already exists" if if_generation_match == 0 else "changed meanwhile"
                    raise PreconditionFailed(f"object {what}: {key}", field="key") from None
                time.sleep(min(0.5, 0.005 * 2**attempt) * random.random())
                continue
            # put_object returns no LastModified; the head after it is the truth (and may already
            # show a later writer, which is fine: we return what we wrote, by generation).
            after = self._head(key)
            if after is not None and after[0].generation == generation:
                return after[0]
            return ObjectInfo(
                key=key, size=len(data), updated=datetime.now(UTC), generation=generation, bucket=self.name
            )
        raise StorageError(
            f"gave up writing {key}: lost {MAX_WRITE_ATTEMPTS} races against concurrent writers",
            code="write_contention",
            field="key",
            retryable=True,
        )

    def _put(self, key: str, data: bytes, content_type: str, generation: int, condition: dict[str, str]) -> None:
        try:
            self._client.put_object(
                Bucket=self.name,
                Key=self._full(key),
                Body=data,
                ContentType=content_type,
                Metadata={GENERATION_META: str(generation)},
                **condition,
            )
        except ClientError as exc:
            code = _code(exc)
            # If-Match against an object deleted meanwhile answers 404: also a lost race.
            if code in _PRECONDITION_CODES or ("IfMatch" in condition and code in _NOT_FOUND_CODES):
                raise _Lost() from None
            _raise(exc, key)
        except BotoCoreError as exc:
            _raise(exc, key)

    def _delete(self, key: str, if_generation_match: int | None) -> bool:
        """Head, check the generation, then ``DeleteObject`` with ``IfMatch=<etag>``.

        S3 cannot condition a delete on our metadata, only on the ETag, so a conditional delete is
        exact except for the identical-body case described in the module docstring. Stores that
        ignore ``If-Match`` on DELETE (older S3-compatible servers) leave a small window between
        the head and the delete in which a concurrent write can be deleted.
        """
        for attempt in range(MAX_WRITE_ATTEMPTS):
            head = self._head(key)
            if head is None:
                if if_generation_match not in (None, 0):
                    raise PreconditionFailed(f"object not found for conditional delete: {key}", field="key")
                return False
            current, etag = head
            if if_generation_match is not None and current.generation != if_generation_match:
                raise PreconditionFailed(f"generation mismatch deleting {key}", field="key")
            try:
                self._client.delete_object(Bucket=self.name, Key=self._full(key), IfMatch=etag)
            except ClientError as exc:
                code = _code(exc)
                if code in _NOT_FOUND_CODES:
                    if if_generation_match not in (None, 0):
                        raise PreconditionFailed(f"object deleted meanwhile: {key}", field="key") from None
                    return False  # someone else deleted it first
                if code in _PRECONDITION_CODES:
                    if if_generation_match is not None:
                        raise PreconditionFailed(f"object changed meanwhile: {key}", field="key") from None
                    time.sleep(min(0.5, 0.005 * 2**attempt) * random.random())
                    continue
                _raise(exc, key)
            except BotoCoreError as exc:
                _raise(exc, key)
            return True
        raise StorageError(
            f"gave up deleting {key}: lost {MAX_WRITE_ATTEMPTS} races against concurrent writers",
            code="write_contention",
            field="key",
            retryable=True,
        )

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Keys come back in S3's order (UTF-8 byte order = code point order, as ``sorted``)."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=self._full(prefix)):
                for entry in page.get("Contents", []):
                    key = entry["Key"][len(self.prefix) :]
                    info = self._listed_info(key, entry)
                    if info is not None:
                        yield info
        except ClientError as exc:
            _raise(exc, prefix)
        except BotoCoreError as exc:
            _raise(exc, prefix)

    def list_keys(self, prefix: str = "", *, start_after: str = "") -> Iterator[Listed]:
        """LIST alone, no HEAD: key, size and LastModified are all in the listing."""
        paginator = self._client.get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": self.name, "Prefix": self._full(prefix)}
        if start_after:
            kwargs["StartAfter"] = self._full(start_after)
        try:
            for page in paginator.paginate(**kwargs):
                for entry in page.get("Contents", []):
                    yield Listed(
                        entry["Key"][len(self.prefix) :], int(entry["Size"]), entry["LastModified"].timestamp()
                    )
        except ClientError as exc:
            _raise(exc, prefix)
        except BotoCoreError as exc:
            _raise(exc, prefix)

    def list_folders(self, prefix: str, *, start_after: str = "") -> Iterator[str]:
        """A delimiter listing: one request per 1,000 folders, none of their objects listed."""
        paginator = self._client.get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": self.name, "Prefix": self._full(prefix), "Delimiter": "/"}
        if start_after:
            kwargs["StartAfter"] = self._full(prefix + start_after + "/")
        try:
            for page in paginator.paginate(**kwargs):
                for cp in page.get("CommonPrefixes", []):
                    name = cp["Prefix"][len(self._full(prefix)) :].rstrip("/")
                    if name and name != start_after:  # the cursor's own folder reappears after its StartAfter
                        yield name
        except ClientError as exc:
            _raise(exc, prefix)
        except BotoCoreError as exc:
            _raise(exc, prefix)

    def _listed_info(self, key: str, entry: Mapping[str, Any]) -> ObjectInfo | None:
        """The generation lives in metadata, which LIST does not return: one HEAD per object.

        Correct first; this is the one place to optimise (e.g. a cache keyed by ETag) later. None
        when the object vanished between the list and the head.
        """
        head = self._head(key)
        return head[0] if head else None

    def close(self) -> None:
        self._client.close()


def _generation(metadata: Mapping[str, str], updated: datetime) -> int:
    raw = metadata.get(GENERATION_META)
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            pass
    # Written by another tool: LastModified, as the local backend uses a foreign file's mtime.
    return int(updated.timestamp()) * 1_000_000_000 + updated.microsecond * 1_000


def _code(exc: ClientError) -> str:
    err = exc.response.get("Error", {})
    code = str(err.get("Code", ""))
    if code:
        return code
    return str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _raise(exc: Exception, key: str) -> NoReturn:
    """Translate a boto error into bpflow's typed errors (retryable where trying again can help)."""
    if isinstance(exc, ClientError):
        code = _code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _PRECONDITION_CODES:
            raise PreconditionFailed(f"precondition failed for {key}: {exc}", field="key") from exc
        if code == "NoSuchBucket":
            raise StorageError(f"bucket does not exist: {exc}", code="bucket_not_found", retryable=False) from exc
        retryable = code in _RETRYABLE_CODES or int(status or 0) >= 500
        raise StorageError(f"S3 error on {key}: {exc}", retryable=retryable, details={"s3_code": code}) from exc
    if isinstance(exc, NoCredentialsError):
        raise StorageError(f"no AWS credentials found: {exc}", code="storage_credentials", retryable=False) from exc
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        raise StorageError(f"cannot reach S3 for {key}: {exc}", code="storage_unavailable", retryable=True) from exc
    raise StorageError(f"S3 client error on {key}: {exc}", retryable=False) from exc

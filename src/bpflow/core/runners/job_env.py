"""The environment a job process starts with: its env contract plus an allowlist, never more.

The service's environment holds the API token, LLM keys and cloud credentials. A job gets:

* the process basics: ``PATH``, ``HOME``, user and shell names, locale (``LANG``, ``LC_*``), time
  zone, temp dirs, proxies, CA bundles, the Python/venv variables and the numeric-library knobs;
* bpflow's configuration: every non-secret setting of ``bpflow.core.config`` and every other
  ``BPFLOW_*`` variable that does not look like a credential;
* the credential variables of the backend of every bucket URL in sight (the job's bucket, a
  replication target): ``bpflow.core.storage.credential_env``;
* what its job declares (``bpflow.jobs.env_needs``) and what the operator adds with
  ``BPFLOW_JOB_ENV_PASSTHROUGH``;
* then the job's own env contract on top.

``BPFLOW_API_TOKEN`` is removed last, whatever asked for it: no job talks to the service.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache

from bpflow.jobs.env_needs import declared_env

NEVER = frozenset({"BPFLOW_API_TOKEN"})
PASSTHROUGH_ENV = "BPFLOW_JOB_ENV_PASSTHROUGH"

BASE_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "LANG",
        "LANGUAGE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONHASHSEED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONWARNINGS",
        "PYTHONIOENCODING",
        "VIRTUAL_ENV",
        "LD_LIBRARY_PATH",
        "CI",
        "OPENBLAS_CORETYPE",
        "OPENBLAS_L2_SIZE",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "XDG_CACHE_HOME",
        "HF_HOME",
        "HF_HUB_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "SENTENCE_TRANSFORMERS_HOME",
        "TORCH_HOME",
        "MUJOCO_GL",
        "PYOPENGL_PLATFORM",
    }
)
BASE_PREFIXES = ("LC_",)

#: A variable named like a credential is never passed on by a prefix rule (only by name).
SECRET_NAME = re.compile(
    r"(_KEY|_TOKEN|_SECRET|_PASSWORD|_CREDENTIALS|_CREDENTIAL)$|^(?:.*_)?(?:PASSWORD|SECRET)$", re.IGNORECASE
)


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


@lru_cache(maxsize=1)
def _config_names() -> frozenset[str]:
    from bpflow.core.config import env_fields

    return frozenset(f.env for f in env_fields() if not f.secret)


def _bucket_credentials(bucket_url: str | None) -> tuple[str, ...]:
    if not bucket_url:
        return ()
    from bpflow.core.storage import credential_env

    return credential_env(bucket_url)


def allowed(name: str, extra: frozenset[str]) -> bool:
    if name in NEVER:
        return False
    if name in extra or name in BASE_NAMES or name.startswith(BASE_PREFIXES):
        return True
    if looks_secret(name):
        return False
    return name.startswith("BPFLOW_") or name in _config_names()


def job_process_env(
    job: str, contract: Mapping[str, str], service_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a job process: allowlisted service variables, then ``contract``."""
    source = os.environ if service_env is None else service_env
    passthrough = [n.strip() for n in source.get(PASSTHROUGH_ENV, "").split(",") if n.strip()]
    # Every bucket the job may open (its own, a replication target, ...) brings its backend's credentials.
    urls = {v for v in (*contract.values(), *source.values()) if v.startswith(("s3://", "gs://"))}
    urls.add(contract.get("BPFLOW_BUCKET_URL") or source.get("BPFLOW_BUCKET_URL") or "")
    extra = frozenset([*declared_env(job), *passthrough, *(n for url in urls for n in _bucket_credentials(url))])
    env = {k: v for k, v in source.items() if allowed(k, extra)}
    env.update(contract)
    for name in NEVER:
        env.pop(name, None)
    return env

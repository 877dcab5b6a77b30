"""``object_uri``: where a marker says an object is, for every kind of bucket name a job gets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bpflow.core.storage import object_uri
from bpflow.jobs.genie_sim_import import bucket_key

KEY = st.from_regex(r"scenes/[a-z0-9_]{1,12}(/[a-z0-9_.]{1,12}){0,3}", fullmatch=True)


def test_a_bucket_url_keeps_its_scheme_and_a_bare_name_is_gcs() -> None:
    assert object_uri("file:///srv/b", "scenes/x/geniesim/job.json") == "file:///srv/b/scenes/x/geniesim/job.json"
    assert object_uri("file:///srv/b/", "/scenes/x/job.json") == "file:///srv/b/scenes/x/job.json"
    assert object_uri("s3://bk/pre", "scenes/x/job.json") == "s3://bk/pre/scenes/x/job.json"
    assert object_uri("/srv/b", "scenes/x/job.json") == "file:///srv/b/scenes/x/job.json"  # a run's bucket path
    assert object_uri("my-bucket", "scenes/x/job.json") == "gs://my-bucket/scenes/x/job.json"


@given(bucket=st.sampled_from(["file:///tmp/bucket", "/tmp/bucket", "gs://b", "s3://b", "plain-name"]), key=KEY)
def test_the_key_is_found_again_after_scenes(bucket: str, key: str) -> None:
    """Readers take the key back from ``/scenes/`` on (``genie_sim_import.bucket_key``)."""
    uri = object_uri(bucket, key)
    assert "gs://file:" not in uri and "gs:///" not in uri and uri.count("://") == 1
    assert bucket_key(uri, bucket, "field") == key

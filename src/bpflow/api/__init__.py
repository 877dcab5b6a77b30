"""The HTTP service: CloudEvents ingestion, REST, and metrics."""

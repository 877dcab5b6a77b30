"""bpflow: durable, event-driven orchestration for scene-generation pipelines."""

__version__ = "0.1.0"

"""Domain logic (no orchestration): what a stage computes, independent of buckets and workflows."""

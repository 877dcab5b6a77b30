"""Bucket-state primitives: small JSON objects read-merge-written with compare-and-swap on the
object's generation (circuit breaker, idempotency markers, canary and routing state)."""

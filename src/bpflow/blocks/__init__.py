"""Building blocks every workflow composes: retries, timeouts, idempotency, breakers, routing."""

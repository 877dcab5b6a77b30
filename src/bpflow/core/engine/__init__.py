"""The durable engine: DBOS set-up, the workflow registry, the dispatcher and schedules."""

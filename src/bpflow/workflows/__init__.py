"""One module per workflow of the seed's trigger map, each named after it.

Importing this package registers every implemented workflow with the engine.
"""

from bpflow.workflows import retention_cleanup  # noqa: F401

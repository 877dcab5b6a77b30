"""Scene sources: the scene_request.json v1 contract (text, image, auto) and its helpers.

The package re-exports :mod:`bpflow.source.request`'s public API, the one owner of the contract.
"""

from bpflow.source.request import *  # noqa: F403
from bpflow.source.request import __all__ as __all__

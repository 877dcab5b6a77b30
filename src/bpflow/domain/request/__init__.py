"""The scene request: the scene_request.json v1 contract (text, image, auto) and its helpers.

The package re-exports :mod:`bpflow.domain.request.contract`'s public API, the one owner of the contract.
"""

from bpflow.domain.request.contract import *  # noqa: F403
from bpflow.domain.request.contract import __all__ as __all__

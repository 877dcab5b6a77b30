"""One module per workflow of the seed's trigger map, each named after it.

Importing this package registers every implemented workflow with the engine: each module here is
imported, so adding a workflow is adding its module.
"""

import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

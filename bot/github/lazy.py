"""Load a module on first use: ``import name`` binds it at once, its code runs when an attribute is first read.

The standard library's ``importlib.util.LazyLoader`` does not serve here: every later ``import name`` statement
reads the module's ``__spec__`` (to see whether it is still initialising), and on Python 3.11 that read already
executes a lazily loaded module. The stand-in below answers ``__spec__`` itself and loads the real module on the
first read of anything else, then hands every later read to it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_lock = threading.Lock()


class _Deferred(types.ModuleType):
    """Stand in for a module until one of its attributes is read."""

    def __getattr__(self, attribute: str) -> Any:
        # Called only for what the stand-in lacks: everything but its name, spec and loader.
        real = vars(self).get("_loaded")
        if real is None:
            with _lock:
                real = vars(self).get("_loaded")
                if real is None:
                    if sys.modules.get(self.__name__) is self:
                        del sys.modules[self.__name__]
                    real = importlib.import_module(self.__name__)
                    vars(self)["_loaded"] = real
        return getattr(real, attribute)


def load_on_first_use(name: str) -> bool:
    """Make ``import name`` cheap until the module is used; False when it is loaded already or not installed."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None:
        return False
    stand_in = _Deferred(name)
    stand_in.__spec__ = spec
    stand_in.__loader__ = spec.loader
    sys.modules[name] = stand_in
    return True

"""Package faces whose names are loaded on first use (PEP 562).

A face lists its public names and the private module of each; importing the package costs nothing
more, and `from nanobragg_jax.io import read_smv` loads only `io._smv`.  The command line's warm
start imports only what a plain render uses (bench/bench_pilatus.py measures it).
"""

from __future__ import annotations

import importlib
import sys


def lazy_face(package: str, exports: dict):
    """The module-level `__getattr__`, `__dir__` and `__all__` of a package face.

    Arguments:
        package: the package's dotted name (its `__name__`).
        exports: public name -> the private module in the package that defines it under that name,
            or (module, attribute) when the module names it differently.
    Returns:
        (__getattr__, __dir__, __all__): assign them at the package's top level.
    Raises:
        AttributeError (from __getattr__): a name the face does not export.
    """

    def __getattr__(name):
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = (where, name) if isinstance(where, str) else where
        value = getattr(importlib.import_module(f"{package}.{module}"), attr)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__, sorted(exports)

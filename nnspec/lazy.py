"""Names of a package imported on first use (PEP 562), so that importing the
package, or the CLI's start, loads no numpy or matplotlib until needed."""
import importlib


def attributes(package, table):
    """-> a module __getattr__ that imports table[name] (a submodule of package)
    the first time `name` is asked for, and keeps it."""
    def getattr_(name):
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{table[name]}")
        value = getattr(module, name)
        setattr(importlib.import_module(package), name, value)
        return value
    return getattr_

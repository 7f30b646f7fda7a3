"""ae-import: bulk importer of call and meeting recordings into AskElephant.

The Python API (docs/python.md)::

    import ae_import

    report = ae_import.validate("calls.csv", config="mapping.yaml")
    summary = ae_import.run("calls.csv", config="mapping.yaml", concurrency=16)

Importing the package loads nothing else: ``validate``, ``run`` and the rest load on
first use (``ae_import.api``), and never Typer or rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ae_import.api import (
        RunProgress,
        Summary,
        ValidationReport,
        run,
        run_async,
        validate,
        validate_async,
    )
    from ae_import.errors import (
        AeImportError,
        AuthError,
        CloudError,
        ConfigError,
        LedgerBusyError,
        LedgerError,
        ManifestError,
        RunStopped,
        Terminated,
        UsageError,
    )

__all__ = [
    "AeImportError",
    "AuthError",
    "CloudError",
    "ConfigError",
    "LedgerBusyError",
    "LedgerError",
    "ManifestError",
    "RunProgress",
    "RunStopped",
    "Summary",
    "Terminated",
    "UsageError",
    "ValidationReport",
    "__version__",
    "run",
    "run_async",
    "validate",
    "validate_async",
]

_ERRORS = frozenset(
    {"AeImportError", "AuthError", "CloudError", "ConfigError", "LedgerBusyError"}
    | {"LedgerError", "ManifestError", "RunStopped", "Terminated", "UsageError"}
)


def __getattr__(name: str) -> Any:
    """Load the API's names on first use, so ``import ae_import`` stays light."""
    if name == "__version__":
        from ae_import.version import version

        return version()
    if name in _ERRORS:
        from ae_import import errors

        return getattr(errors, name)
    if name in __all__:
        from ae_import import api

        return getattr(api, name)
    raise AttributeError(f"module 'ae_import' has no attribute {name!r}")

"""Importing the SageMaker SDK v3, only where it is used, with a clear error without it."""

from __future__ import annotations

import importlib
from types import ModuleType

from training.errors import UsageError

INSTALL_HINT = (
    "the SageMaker SDK v3 is not installed; install the aws extra: "
    ".venv/bin/pip install -e '.[aws]'"
)


def import_sdk(module: str) -> ModuleType:
    """``import_sdk("sagemaker.core.resources")``, or :class:`UsageError` saying how to
    install the ``aws`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"{INSTALL_HINT} ({exc.name or module} is missing)") from exc

"""Make ``chalice package --pkg-format terraform``'s template acceptable to current Terraform.

chalice writes ``"required_version": ">= 0.12.26, < 1.4.0"`` into ``chalice.tf.json``, and
any Terraform from 1.4 on refuses the whole template at ``terraform init`` ("Unsupported
Terraform Core version"). Nothing in the template needs an old Terraform: the upper bound
only says which versions chalice was tested with. :func:`relax_required_version` drops the
upper bounds and keeps the rest of the file as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.errors import UsageError

TEMPLATE = "chalice.tf.json"


def relaxed(constraint: str) -> str:
    """``constraint`` without its upper bounds (``<``, ``<=``, ``~>`` pins stay out too)."""
    kept = [
        part.strip()
        for part in constraint.split(",")
        if part.strip() and not part.strip().startswith(("<", "~>"))
    ]
    return ", ".join(kept) or ">= 0.12.26"


def relax_required_version(out_dir: Path) -> tuple[str | None, str]:
    """Rewrite ``out_dir/chalice.tf.json`` so current Terraform accepts it; the old and the
    new ``required_version``."""
    path = out_dir / TEMPLATE
    try:
        template: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(
            f"{path} does not exist: run `chalice package --pkg-format terraform {out_dir}` "
            "in sentiment_api/ first (or `sentiment package` without --skip-chalice)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable Terraform JSON template ({exc})") from exc
    settings = template.setdefault("terraform", {})
    old = settings.get("required_version")
    new = relaxed(old or "")
    settings["required_version"] = new
    path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    return old, new

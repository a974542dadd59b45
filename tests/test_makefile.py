"""``make help`` lists every target the Makefile declares."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO


def test_make_help_lists_every_phony_target() -> None:
    makefile = (REPO / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    targets = set(phony.group(1).split()) - {"help"}
    shown = subprocess.run(
        ["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    listed = {line.split()[1] for line in shown.splitlines() if line.startswith("make ")}
    assert listed == targets

"""``sentiment package``: chalice's Terraform template, made acceptable to current Terraform
(chalice pins ``required_version`` below 1.4, which Terraform 1.4+ refuses at init)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from training.terraform import relaxed


def test_relaxed_drops_upper_bounds_only() -> None:
    assert relaxed(">= 0.12.26, < 1.4.0") == ">= 0.12.26"
    assert relaxed(">= 1.0,<= 1.3, ~> 1.2") == ">= 1.0"
    assert relaxed("< 1.4.0") == ">= 0.12.26"


def _terraform_init(directory: Path, plugins: Path) -> str:
    """``terraform init`` offline (an empty plugin dir: nothing is downloaded); its output."""
    done = subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"]
        + [f"-plugin-dir={plugins}"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def test_the_packaged_template_is_accepted_by_current_terraform(
    tmp_path: Path, packaged: tuple[Path, str]
) -> None:
    """``sentiment package`` (run once per session by the ``packaged`` fixture)."""
    built, printed = packaged
    assert (built / "deployment.zip").is_file()
    out = tmp_path / "out"  # terraform init writes into the dir: a copy of its own
    shutil.copytree(built, out)
    template = json.loads((out / "chalice.tf.json").read_text())
    version = template["terraform"]["required_version"]
    assert "<" not in version and version.startswith(">=")
    # Everything else is chalice's: both functions, the bucket notification, the policies.
    names = json.dumps(template["resource"])
    assert "api_handler" in names and "refresh_vocabulary" in names
    assert "aws_s3_bucket_notification" in template["resource"]
    old = printed.split("required_version ", 1)[1].split(" -> ")[0].strip("'")
    assert "<" in old  # what chalice wrote, and what this step fixed
    # The next steps are docs/aws.md's: Terraform, then the gateway settings it leaves out.
    steps = printed.split("next, from this folder:", 1)[1]
    assert steps.index(f"terraform -chdir={built.resolve()} apply") < steps.index(
        "sentiment deploy-api --stage dev"
    )
    assert f'--rest-api-id "$(terraform -chdir={built.resolve()} output -raw RestAPIId)"' in steps
    assert "RestAPIId" in template["output"]  # the output that step reads

    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed: the template's text was checked")
    plugins = tmp_path / "no-plugins"
    plugins.mkdir()
    accepted = _terraform_init(out, plugins)
    assert "Unsupported Terraform Core version" not in accepted
    assert "required_version" not in accepted
    # chalice's own constraint is refused by this Terraform: the step is what fixes it.
    pinned = tmp_path / "pinned"
    pinned.mkdir()
    template["terraform"]["required_version"] = old
    (pinned / "chalice.tf.json").write_text(json.dumps(template))
    assert "Unsupported Terraform Core version" in _terraform_init(pinned, plugins)

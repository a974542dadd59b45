"""What is deployed: the Lambda zip's contents, the stages, the IAM policies, the settings.

``chalice package`` uses the Terraform format: CloudFormation cannot attach a notification to
an existing bucket, so chalice refuses to package ``@app.on_s3_event`` apps for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STOPWORDS
from tests.sentiment_api.conftest import APP_DIR, DOCS
from vocab_store import (
    Encoder,
    Tokenizer,
    TokenizerSettings,
    build_vocabulary,
    read_stopwords,
)

# Long (waits on `chalice package`): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

FORBIDDEN = ("numpy", "scipy", "sklearn", "xgboost", "sagemaker", "pandas", "training", "devstack")


@pytest.fixture(scope="module")
def package_out(packaged: tuple[Path, str]) -> Path:
    """``chalice package`` of the dev stage (``deployment.zip`` and ``chalice.tf.json``),
    built once per session by ``sentiment package`` (tests/conftest.py ``packaged``)."""
    return packaged[0]


@pytest.fixture(scope="module")
def package(package_out: Path) -> tuple[set[str], dict[str, Any]]:
    with zipfile.ZipFile(package_out / "deployment.zip") as zf:
        names = set(zf.namelist())
    return names, json.loads((package_out / "chalice.tf.json").read_text())


def test_the_zip_holds_vocab_store_and_nothing_heavy(package: tuple[set[str], Any]) -> None:
    names, _ = package
    tops = {n.split("/", 1)[0] for n in names}
    assert {"app.py", "chalicelib", "vocab_store", "nltk", "aws_lambda_powertools"} <= tops
    # The Lambda runtime has boto3 and botocore: the zip must not carry its own.
    assert not {"boto3", "botocore"} & tops
    assert "vocab_store/store.py" in names and "vocab_store/encode.py" in names
    assert not [t for t in tops if t.split("-")[0].lower() in FORBIDDEN]


HEAVY = ("numpy", "scipy", "sklearn", "pandas", "xgboost", "sagemaker", "joblib")
# Run in ``python -S -I`` (no site-packages, no PYTHONPATH, no current directory): sys.path is
# the unpacked zip and the standard library, as for the Lambda's code.
ENCODE_IN_THE_ZIP = """
import json, sys
task, vocabulary, review, heavy = sys.argv[1:]
sys.path.insert(0, task)
from vocab_store import Encoder, loads
with open(vocabulary, encoding="utf-8") as fh:
    body = Encoder(loads(fh.read())).body([review])
print(json.dumps({
    "body": body.decode("ascii"),
    "heavy": [m for m in heavy.split(",") if m in sys.modules],
    "path": sys.path,
    "files": {m: sys.modules[m].__file__ for m in ("vocab_store", "nltk")},
}))
"""


def test_the_zip_alone_encodes_with_the_stemmer_and_bigrams_and_nothing_heavy(
    package_out: Path, tmp_path: Path
) -> None:
    task = tmp_path / "task"
    with zipfile.ZipFile(package_out / "deployment.zip") as zf:
        zf.extractall(task)
    tokenizer = TokenizerSettings(
        stopwords=read_stopwords(STOPWORDS), stemmer="porter", ngram_range=(1, 2)
    )
    vocabulary = build_vocabulary(
        (Tokenizer(tokenizer).terms(d) for d in DOCS), tokenizer, max_terms=60
    )
    assert any(" " in term for term in vocabulary.terms)  # bigrams are in it
    path = tmp_path / "vocabulary.json"
    path.write_text(vocabulary.to_json(), encoding="utf-8")
    review = "The acting was wonderful and moving; the worst plots, the best films."
    expected = Encoder(vocabulary).body([review])
    row = expected.decode("ascii").split(",")
    present = {term for term, value in zip(vocabulary.terms, row, strict=True) if value != "0"}
    assert {"act", "wonder", "wonder move", "best film"} <= present  # stems and bigrams

    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", ENCODE_IN_THE_ZIP]
        + [str(task), str(path), review, ",".join(HEAVY)],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "")},
        check=True,
        capture_output=True,
        text=True,
    )
    found = json.loads(out.stdout)
    assert found["body"].encode("ascii") == expected
    assert found["heavy"] == []
    stdlib = Path(sys.base_prefix)
    assert [p for p in found["path"] if not Path(p).is_relative_to(stdlib)] == [str(task)]
    assert all(Path(f).is_relative_to(task) for f in found["files"].values()), found["files"]


def test_two_functions_with_their_own_policies(package: tuple[set[str], Any]) -> None:
    _, tf = package
    resources = tf["resource"]
    functions = resources["aws_lambda_function"]
    assert set(functions) == {"api_handler", "refresh_vocabulary"}
    assert functions["api_handler"]["timeout"] < 29  # below API Gateway's limit
    notify = next(iter(resources["aws_s3_bucket_notification"].values()))
    assert notify["bucket"] == "sentiment-api-dev"
    assert notify["lambda_function"][0]["filter_prefix"] == "vocab/incoming/"

    def statements(role: str) -> list[dict[str, Any]]:
        policy = resources["aws_iam_role_policy"][role]["policy"]
        return list(json.loads(policy)["Statement"])

    def actions(role: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for s in statements(role):
            for action in s["Action"]:
                found.setdefault(action, []).extend(
                    s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
                )
        return found

    api = actions("api_handler_role")
    assert set(api) - {a for a in api if a.startswith("logs:")} == {
        "sagemaker:InvokeEndpoint",
        "s3:GetObject",
        "s3:PutObject",
    }
    assert all("endpoint/sentiment-" in r for r in api["sagemaker:InvokeEndpoint"])
    assert api["s3:PutObject"] == ["arn:aws:s3:::sentiment-api-dev/feedback/*"]
    refresh = actions("refresh_vocabulary_role")
    # The pointer, the immutable live copies and the outcomes; never an upload.
    assert refresh["s3:PutObject"] == [
        "arn:aws:s3:::sentiment-api-dev/vocab/current.json",
        "arn:aws:s3:::sentiment-api-dev/vocab/live/*",
        "arn:aws:s3:::sentiment-api-dev/vocab/outcomes/*",
    ]
    assert "sagemaker:InvokeEndpoint" not in refresh
    writes = [a for a in refresh if a.startswith("sagemaker:")]
    assert all(a.startswith(("sagemaker:Describe", "sagemaker:List")) for a in writes)


def test_config_stages() -> None:
    config = json.loads((APP_DIR / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    assert set(config["stages"]) == {"local", "dev", "prod"}
    for stage in ("dev", "prod"):
        assert not config["stages"][stage].get("debug")
        variables = config["stages"][stage]["environment_variables"]
        assert not [k for k in variables if k.startswith("AWS_")]
    assert (APP_DIR / "vendor" / "vocab_store" / "__init__.py").exists()
    requirements = (APP_DIR / "requirements.txt").read_text().split()
    # Only nltk and Powertools (boto3 is in the Lambda runtime; the X-Ray SDK would bring a
    # second botocore), each the very version the project itself pins.
    import tomllib

    project = tomllib.loads((APP_DIR.parent / "pyproject.toml").read_text())["project"]
    pinned = [d for d in project["dependencies"] if d.startswith(("nltk", "aws-lambda-powertools"))]
    assert sorted(r for r in requirements if not r.startswith("#")) == sorted(pinned)


def test_settings_are_typed_and_missing_ones_are_named() -> None:
    from chalicelib import settings
    from chalicelib.errors import SettingsError

    s = settings.load({"SENTIMENT_STAGE": "dev", "SENTIMENT_BUCKET": "b"})
    assert (s.vocab_ttl, s.max_review_bytes, s.vocab_prefix) == (30.0, 100_000, "vocab/incoming/")
    with pytest.raises(SettingsError, match="SENTIMENT_BUCKET"):
        settings.load({"SENTIMENT_STAGE": "dev"})
    with pytest.raises(SettingsError, match="SENTIMENT_VOCAB_TTL"):
        settings.load(
            {"SENTIMENT_STAGE": "dev", "SENTIMENT_BUCKET": "b", "SENTIMENT_VOCAB_TTL": "60"}
        )
    with pytest.raises(SettingsError, match="SENTIMENT_MAX_REVIEW_BYTES"):
        settings.load(
            {"SENTIMENT_STAGE": "dev", "SENTIMENT_BUCKET": "b", "SENTIMENT_MAX_REVIEW_BYTES": "x"}
        )


def test_importing_the_app_loads_neither_boto3_nor_nltk() -> None:
    # Powertools imports botocore's package (its __init__, to register a user-agent hook),
    # never its clients or sessions, nor the X-Ray SDK.
    heavy = ("boto3", "botocore.session", "botocore.client", "nltk", "aws_xray_sdk")
    code = f"import sys, app; print([m for m in {heavy!r} if m in sys.modules])"
    env = {**os.environ, "SENTIMENT_BUCKET": "b", "PYTHONPATH": f"{APP_DIR}:{APP_DIR / 'vendor'}"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=APP_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "[]"


def test_the_refresh_functions_memory_covers_the_largest_vocabulary_it_accepts() -> None:
    """The size cap and the memory agree: the refresh function's peak, measured by
    ``python -m bench refresh`` (BASE_MB + PER_MIB_MB per MiB of vocabulary), fits the
    memory of every deployed stage at the configured cap."""
    from bench.bench_refresh import BASE_MB, PER_MIB_MB

    config = json.loads((APP_DIR / ".chalice" / "config.json").read_text())
    for name, stage in config["stages"].items():
        if "lambda_functions" not in stage:
            continue
        variables = {**config["environment_variables"], **stage["environment_variables"]}
        cap_mib = int(variables["SENTIMENT_MAX_VOCAB_BYTES"]) / 1024 / 1024
        memory = stage["lambda_functions"]["refresh_vocabulary"]["lambda_memory_size"]
        assert memory >= BASE_MB + PER_MIB_MB * cap_mib, (name, memory, cap_mib)

"""Peak memory of the S3 handler (``refresh_vocabulary``) promoting a vocabulary near the
size cap, so the cap (``SENTIMENT_MAX_VOCAB_BYTES``) and the function's
``lambda_memory_size`` can be made to agree.

Each size runs in a fresh interpreter that imports ``app.py`` as Lambda does, builds its
real boto3 clients (as on a cold start) and hands ``refresh()`` a real-shaped event, with
the vocabulary's bytes served by an in-memory S3 stand-in (it keeps what is written only as
sizes, as S3 would: only the handler's own memory is measured). The figure is the
process's peak resident set (``VmHWM``: Linux), which is what Lambda reports as "Max Memory
Used", less the runtime's own few megabytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import check_targets

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "sentiment_api"
CONFIG = APP_DIR / ".chalice" / "config.json"
SIZES_MB = (5, 10, 19.5)
# Lambda's own runtime and its buffers, on top of our interpreter's peak.
HEADROOM_MB = 32
# Measured with this benchmark (5, 10 and 19.5 MiB: peaks 112, 161 and 251 MB on
# 2026-12-01): about 69 MB after importing app.py and building its clients, plus 9.3 MB per
# MiB of vocabulary (the bytes, the parsed document, the vocabulary and its re-serialised
# copy). tests/sentiment_api/test_package.py holds the config to it: a refresh function's
# memory must cover BASE_MB + PER_MIB_MB x the cap.
BASE_MB = 69 + HEADROOM_MB
PER_MIB_MB = 9.3

CHILD = r"""
import io, json, os, sys
sys.path[:0] = [sys.argv[1], os.path.join(sys.argv[1], "vendor")]
os.environ.update(
    {"SENTIMENT_STAGE": "test", "SENTIMENT_BUCKET": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
)
import app  # noqa: F401 - what Lambda imports
from chalicelib import wiring
wiring.s3.get(); wiring.sagemaker.get()  # the handler's real clients (no call is made)
from botocore.exceptions import ClientError
from chalicelib import refresh
from vocab_store.pairing import (FEATURE_COUNT_TAG, MODEL_FINGERPRINT_TAG,
    VOCABULARY_FINGERPRINT_TAG, EndpointState, ServedModel)
from vocab_store.store import VocabularyStore

KEY = "vocab/incoming/bench.json"
path = sys.argv[2]

class S3:
    def __init__(self):
        self.small = {}
    def get_object(self, Bucket, Key, **kw):
        if Key == KEY:
            size = os.path.getsize(path)
            return {"ContentLength": size, "Body": open(path, "rb")}
        if Key not in self.small:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        blob = self.small[Key]
        return {"ContentLength": len(blob), "Body": io.BytesIO(blob), "ETag": '"e"'}
    def put_object(self, Bucket, Key, Body, **kw):
        if len(Body) < 65536:
            self.small[Key] = Body

model, count, content = json.loads(sys.argv[3])  # the tags the endpoint carries
tags = {MODEL_FINGERPRINT_TAG: model, FEATURE_COUNT_TAG: str(count),
        VOCABULARY_FINGERPRINT_TAG: content}
def hwm():  # this process's peak RSS in kB (ru_maxrss would count the parent's, kept over exec)
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
before = hwm()
store = VocabularyStore("bench", s3_client=S3(), max_bytes=200 * 1024 * 1024)
describe = lambda name, variant: EndpointState(
    name, True, "InService", variant, (ServedModel("m", tags),))
event = {"Records": [{"eventName": "ObjectCreated:Put",
    "s3": {"bucket": {"name": "bench"}, "object": {"key": KEY}}}]}
(outcome,) = refresh.refresh(event, store, describe)
peak = hwm()
print(json.dumps({"result": outcome.result, "reason": outcome.reason,
                  "before_mb": before / 1024, "peak_mb": peak / 1024}))
"""


def synthetic(size_mb: float, directory: Path) -> tuple[Path, list[object]]:
    """A valid vocabulary document of about ``size_mb`` MiB: unique terms with weights."""
    import random

    from vocab_store import ModelRecord, TokenizerSettings, Vocabulary

    per_term = 33  # bytes of JSON per term with its weight, measured below and corrected
    target = int(size_mb * 1024 * 1024)
    rng = random.Random(0)
    count = target // per_term
    for _ in range(3):
        terms = tuple(f"t{i:07d}" for i in range(count))
        weights = tuple(round(rng.uniform(0.5, 9.5), 12) for _ in range(count))
        model = ModelRecord("a" * 64, count, "sentiment-bench")
        blob = Vocabulary(terms, TokenizerSettings(), weights=weights, model=model).to_json()
        count = int(count * target / len(blob.encode()))
    path = directory / f"vocabulary-{size_mb}.json"
    path.write_text(blob, encoding="utf-8")
    written = Vocabulary(terms, TokenizerSettings(), weights=weights, model=model)
    return path, [model.fingerprint, model.feature_count, written.fingerprint]


def measure(path: Path, tags: list[object]) -> dict[str, float | str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(APP_DIR), str(path), json.dumps(tags)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    config = json.loads(CONFIG.read_text())
    cap = int(config["environment_variables"]["SENTIMENT_MAX_VOCAB_BYTES"])
    memory = min(
        stage["lambda_functions"]["refresh_vocabulary"]["lambda_memory_size"]
        for stage in config["stages"].values()
        if "lambda_functions" in stage
    )
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES_MB:
            path, tags = synthetic(size, Path(tmp))
            real = path.stat().st_size / 1024 / 1024
            got = measure(path, tags)
            assert got["result"] == "promoted", got
            print(
                f"{real:5.1f} MiB vocabulary: peak {float(got['peak_mb']):.0f} MB "
                f"(app.py imported, clients built: {float(got['before_mb']):.0f} MB)"
            )
            figures[f"peak_mb_{size}"] = float(got["peak_mb"])
    largest = figures[f"peak_mb_{SIZES_MB[-1]}"]
    print(
        f"cap {cap / 1024 / 1024:.1f} MiB, refresh_vocabulary memory {memory} MB: peak at the "
        f"cap plus {HEADROOM_MB} MB for the runtime = {largest + HEADROOM_MB:.0f} MB"
    )
    figures["peak_at_cap_mb"] = largest + HEADROOM_MB
    return check_targets(figures, {"peak_at_cap_mb": memory})

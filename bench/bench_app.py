"""The Lambda's cold start and the API handler's own time per request (issue 5).

- Cold start: ``import app`` in a fresh ``python -S -I`` with only the Lambda zip's contents
  (built by ``chalice package``) and boto3/botocore with their dependencies on ``sys.path``,
  as on Lambda. Target <= 0.3 s (median of 7). Powertools' Logger and Metrics add their
  import: 157 ms before, 246 ms with them, measured together on a loaded machine (66 ms
  before on an idle one); see docs/operate.md. In the same interpreter, the first request's
  extra cost (no target): importing nltk on the first stemmed word, importing botocore and
  building the two clients.
- Handler time: every IMDB test review sent through the Lambda entry point (``app.app`` with
  an API Gateway proxy event, text/plain), with a 5,000-term vocabulary already live and an
  endpoint client that answers at once, so everything but the endpoint call is measured:
  routing, parsing, encoding, the width check, parsing the answer, the log line. Then the
  same, in a new interpreter, with the vocabulary of ``artifacts/latest`` (the default
  one, what is really served) when there is one. Target p50 <= 0.5 ms, both.
- Vocabulary cold load: parsing and validating ``artifacts/latest``'s vocabulary (its
  coefficients included) and building the encoder, in fresh interpreters, the download
  aside. Target <= 0.25 s (issue 15).
- Where the handler's time goes: after each timed pass, a second pass over 2,000 of the
  reviews with the handler's phases timed (:mod:`bench.phases`), printed largest first.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import check_targets
from bench.app_stand_ins import InstantEndpoint, LiveCache
from bench.phases import describe

REPO = Path(__file__).resolve().parent.parent
APP_DIR = REPO / "sentiment_api"
DATA = REPO.parent / "shared" / "data"
TARGETS = {"cold_start_s": 0.3, "p50_ms": 0.5}
# The default vocabulary's cold load on this machine (Lambda's CPU at 512 MB is slower).
VOCABULARY_LOAD_S = 0.25
ENV = {"SENTIMENT_STAGE": "dev", "SENTIMENT_BUCKET": "sentiment-api-bench"}
# What the Lambda Python runtime provides beside the zip.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


def _texts(name: str) -> list[str]:
    with gzip.open(DATA / "imdb" / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def build_zip(workdir: Path) -> Path:
    """``chalice package`` the dev stage and unpack the zip; returns the unpacked dir."""
    out = workdir / "package"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTIMENT_")}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "package", "--pkg-format", "terraform"]
        + ["--stage", "dev", str(out)],
        cwd=APP_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    unpacked = workdir / "task"
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        zf.extractall(unpacked)
    return unpacked


def runtime_path(workdir: Path) -> Path:
    """A directory holding only boto3, botocore and their dependencies (symlinks)."""
    import boto3

    site = Path(boto3.__file__).resolve().parent.parent
    runtime = workdir / "runtime"
    runtime.mkdir()
    for name in RUNTIME_MODULES:
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    return runtime


# In the zip-only interpreter: ``import app`` (the cold start), then what the first request
# pays on top of a warm one: nltk's import on the first stemmed word, and importing botocore
# and building the two clients (S3 and sagemaker-runtime), neither connecting yet.
FIRST_REQUEST = """
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
t = time.perf_counter()
import app
cold = time.perf_counter() - t
from vocab_store import Tokenizer, TokenizerSettings
tokenizer = Tokenizer(TokenizerSettings(stemmer="porter"))
t = time.perf_counter()
tokenizer.terms("wonderful movies")
first = time.perf_counter() - t
t = time.perf_counter()
tokenizer.terms("wonderful films")
stem = first - (time.perf_counter() - t)
from chalicelib import wiring
t = time.perf_counter()
wiring.s3.get()
wiring.runtime.get()
clients = time.perf_counter() - t
print(json.dumps({"cold": cold, "stem": stem, "clients": clients}))
"""


def cold_start(task: Path, runtime: Path, runs: int = 7) -> dict[str, float]:
    """Medians over ``runs`` fresh interpreters: ``cold`` (import app), ``stem`` (the first
    stemmed word's extra cost: importing nltk) and ``clients`` (importing botocore and
    building the S3 and endpoint clients), in seconds."""
    runs_out: list[dict[str, float]] = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-S", "-I", "-c", FIRST_REQUEST, str(task), str(runtime)],
            cwd=task,
            env={**ENV, "PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1"},
            check=True,
            capture_output=True,
            text=True,
        )
        runs_out.append(json.loads(out.stdout))
    return {k: statistics.median(r[k] for r in runs_out) for k in runs_out[0]}


CONTEXT = SimpleNamespace(
    function_name="sentiment-api-dev",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:sentiment-api-dev",
    aws_request_id="bench",
)


def phases(test: list[str], *, as_json: bool = False) -> dict[str, float]:
    """After :func:`handler_times`, in the same interpreter: mean milliseconds per request
    of each phase of the handler (:mod:`bench.phases`) over ``test``."""
    import app
    from chalicelib import wiring

    from bench.phases import breakdown

    events = [_event(text, as_json) for text in test]
    return breakdown(app.app, events, CONTEXT, wiring.runtime.get())


def _event(review: str, as_json: bool = False) -> dict[str, Any]:
    content_type = "application/json" if as_json else "text/plain;charset=UTF-8"
    body = json.dumps({"review": review}) if as_json else review
    return {
        "resource": "/",
        "path": "/",
        "httpMethod": "POST",
        "headers": {"Content-Type": content_type},
        "multiValueHeaders": {"Content-Type": [content_type]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": "/", "httpMethod": "POST", "stage": "api"},
        "body": body,
        "isBase64Encoded": False,
    }


def handler_times(
    test: list[str], vocabulary_file: Path | None = None, *, as_json: bool = False
) -> tuple[list[int], int]:
    """Per-request handler times (the endpoint client's own time taken out) with a
    5,000-term vocabulary built here, or with the vocabulary in ``vocabulary_file`` (a
    trained run's); ``as_json``: JSON requests, answered with evidence when the vocabulary
    has the model's weights."""
    os.environ.update(ENV)
    sys.path[:0] = [str(APP_DIR), str(APP_DIR / "vendor")]
    import app
    from chalicelib import wiring

    from vocab_store import (
        Encoder,
        ModelRecord,
        Tokenizer,
        TokenizerSettings,
        build_vocabulary,
        loads,
        read_stopwords,
    )
    from vocab_store.store import Live, Pointer
    from vocab_store.text import forget_stems

    if vocabulary_file is None:
        settings = TokenizerSettings(stopwords=read_stopwords(DATA / "nltk_stopwords_english.txt"))
        tokenizer = Tokenizer(settings)
        train = _texts("train.jsonl.gz")
        random.Random(0).shuffle(train)
        terms = (tokenizer.terms(t) for t in train[:5000])
        vocab = build_vocabulary(terms, settings, max_terms=5000)
    else:
        vocab = loads(vocabulary_file.read_bytes())
    vocab = vocab.with_model(ModelRecord("0" * 64, vocab.feature_count, "sentiment-bench"))
    # The handler starts with no word stemmed, as a new Lambda instance does (building the
    # 5,000-term vocabulary above stemmed the training reviews' words in this process).
    forget_stems()
    pointer = Pointer("vocab/incoming/x.json", vocab.version, vocab.fingerprint, "", '"e"')
    wiring.set_cache(LiveCache(Live(vocab, Encoder(vocab), pointer, 0.0)))  # type: ignore[arg-type]
    endpoint = InstantEndpoint(vocab)
    wiring.runtime.set(endpoint)
    from chalicelib import observability

    # Log lines and EMF metrics are written, as on Lambda, but not to the terminal.
    devnull = open(os.devnull, "w")  # noqa: SIM115
    observability.logger.registered_handler.setStream(devnull)
    lambda_handler = app.app
    with contextlib.redirect_stdout(devnull):
        # The first request loads nltk: the import, not a request.
        first = lambda_handler(_event(test[0], as_json), CONTEXT)
        assert first["statusCode"] == 200, first
        times = []
        errors = 0
        for text in test:
            event = _event(text, as_json)
            endpoint.spent_ns = 0
            start = time.perf_counter_ns()
            response = lambda_handler(event, CONTEXT)
            times.append(time.perf_counter_ns() - start - endpoint.spent_ns)
            errors += response["statusCode"] != 200
    return times, errors


def one_review_call(vocabulary_file: Path, words: int = 230) -> dict[str, Any]:
    """The JSON request for the first IMDB test review of about ``words`` words, with the
    vocabulary in ``vocabulary_file``: how many endpoint calls, rows and body bytes it made,
    and how many sentences its evidence lists."""
    test = _texts("test.jsonl.gz")
    review = min(test, key=lambda t: abs(len(t.split()) - words))
    handler_times([review], vocabulary_file, as_json=True)
    from chalicelib import wiring

    endpoint = wiring.runtime.get()
    calls = endpoint.calls[1:]  # the first was the warm-up request
    return {
        "words": len(review.split()),
        "calls": len(calls),
        "rows": calls[0][0],
        "bytes": calls[0][1],
    }


def _fresh(program: str, vocabulary_file: Path) -> Any:
    """The JSON that ``program`` prints last, run in a new interpreter (the first
    vocabulary's stem memo and modules must not help)."""
    out = subprocess.run(
        [sys.executable, "-c", program, str(vocabulary_file)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# What a cold Lambda pays for the vocabulary once S3 has answered: parse and validate the
# JSON (fingerprint and weights included) and build the encoder (its term index).
LOAD_PROGRAM = (
    "import json, sys, time; from pathlib import Path; "
    "blob = Path(sys.argv[1]).read_bytes(); "
    "from vocab_store import Encoder, loads; "
    "t = time.perf_counter(); Encoder(loads(blob)); "
    "print(json.dumps(time.perf_counter() - t))"
)


def vocabulary_load(vocabulary_file: Path, runs: int = 5) -> float:
    """Median seconds, over ``runs`` fresh interpreters, to parse ``vocabulary_file`` and
    build its :class:`vocab_store.Encoder` (the download aside)."""
    return statistics.median(float(_fresh(LOAD_PROGRAM, vocabulary_file)) for _ in range(runs))


def _default_figures(vocabulary_file: Path) -> dict[str, Any]:
    """Text and JSON handler times with ``vocabulary_file``, each in a new interpreter,
    and the one-call check of a 230-word review."""
    figures: dict[str, Any] = {}
    for name, as_json in (("text", False), ("json", True)):
        # The timed pass over every test review, then the phases of 2,000 of them.
        figures[name] = _fresh(
            "import json, random, sys; from pathlib import Path; "
            "from bench.bench_app import _texts, handler_times, phases; "
            "test = _texts('test.jsonl.gz'); random.Random(1).shuffle(test); "
            f"t, e = handler_times(test, Path(sys.argv[1]), as_json={as_json}); t.sort(); "
            f"b = phases(test[:2000], as_json={as_json}); "
            "print(json.dumps([t[len(t) // 2] / 1e6, t[int(len(t) * 0.99)] / 1e6, e, b]))",
            vocabulary_file,
        )
    figures["load_s"] = vocabulary_load(vocabulary_file)
    figures["one_call"] = _fresh(
        "import json, sys; from pathlib import Path; "
        "from bench.bench_app import one_review_call; "
        "print(json.dumps(one_review_call(Path(sys.argv[1]))))",
        vocabulary_file,
    )
    return figures


def main() -> int:
    test = _texts("test.jsonl.gz")
    random.Random(1).shuffle(test)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        task = build_zip(workdir)
        size = sum(f.stat().st_size for f in task.rglob("*") if f.is_file())
        first = cold_start(task, runtime_path(workdir))
    times, errors = handler_times(test)
    small_phases = phases(test[:2000])
    times.sort()
    p50 = times[len(times) // 2] / 1e6
    p99 = times[int(len(times) * 0.99)] / 1e6
    latest = REPO / "artifacts" / "latest" / "vocabulary.json"
    default = _default_figures(latest) if latest.is_file() else None
    print(f"Lambda zip unpacked: {size / 1e6:.1f} MB")
    print(f"cold start, import app (python -S -I, zip + boto3 only): {first['cold'] * 1000:.0f} ms")
    print(
        "first request's extra cost in that interpreter: "
        f"importing nltk on the first stemmed word {first['stem'] * 1000:.0f} ms, "
        f"importing botocore and building the S3 and endpoint clients "
        f"{first['clients'] * 1000:.0f} ms"
    )
    print(
        f"handler time per request over {len(times)} IMDB test reviews (endpoint excluded): "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, mean {statistics.fmean(times) / 1e6:.3f} ms"
        f" ({errors} non-200 answers: reviews that are empty after trimming, if any)"
    )
    print("  where its time goes (2,000 reviews, after the pass):")
    print(describe(small_phases))
    if default is not None:
        text, answer, call = default["text"], default["json"], default["one_call"]
        print(
            f"artifacts/latest's vocabulary ({latest.stat().st_size / 1e6:.1f} MB): cold load "
            f"(parse + validate + build the encoder, median of 5 fresh interpreters) "
            f"{default['load_s'] * 1000:.0f} ms"
        )
        print(
            f"handler time with that vocabulary (the default one): "
            f"p50 {text[0]:.3f} ms, p99 {text[1]:.3f} ms ({text[2]} non-200 answers)"
        )
        print(
            f"JSON with evidence (sentence rows, the sum check), same vocabulary: "
            f"p50 {answer[0]:.3f} ms, p99 {answer[1]:.3f} ms ({answer[2]} non-200 answers)"
        )
        for name, figure in (("text/plain", text), ("JSON with evidence", answer)):
            print(f"  where a {name} request's time goes (2,000 reviews, after the pass):")
            print(describe(figure[3]))
        print(
            f"a {call['words']}-word review as JSON: {call['calls']} InvokeEndpoint call, "
            f"{call['rows']} rows (the review and its sentences), {call['bytes']:,} bytes"
        )
    else:
        print("(no artifacts/latest: run `sentiment train` to time the default vocabulary too)")
    figures = {"cold_start_s": first["cold"], "p50_ms": p50}
    targets = dict(TARGETS)
    if default is not None:
        figures["p50_default_ms"] = default["text"][0]
        figures["vocabulary_load_s"] = default["load_s"]
        targets["vocabulary_load_s"] = VOCABULARY_LOAD_S
        figures["p50_default_json_ms"] = default["json"][0]
        figures["invoke_calls_230_words"] = default["one_call"]["calls"]
        targets["p50_default_ms"] = TARGETS["p50_ms"]
        targets["p50_default_json_ms"] = TARGETS["p50_ms"]
        targets["invoke_calls_230_words"] = 1
    return check_targets(figures, targets)


if __name__ == "__main__":
    sys.exit(main())

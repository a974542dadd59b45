"""Per-review encode time, body size and import time of vocab_store (issue 3).

A 5,000-term unigram vocabulary (the course notebook's shape) is fitted on 5,000 training
reviews; then every one of the 25,000 IMDB test reviews is encoded (normalise, tokenise,
stem, vector, body), one at a time, as the Lambda does. Targets on the 2-core machine:
p50 <= 0.25 ms, p99 <= 1 ms, import <= 0.3 s.
"""

from __future__ import annotations

import gzip
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import check_targets, encode_figures
from vocab_store import Tokenizer, TokenizerSettings, build_vocabulary, read_stopwords

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
TARGETS = {"p50_ms": 0.25, "p99_ms": 1.0, "import_s": 0.3}


def _texts(name: str) -> list[str]:
    with gzip.open(DATA / "imdb" / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def import_time(runs: int = 7) -> float:
    """Median wall time of ``import vocab_store`` in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); import vocab_store; print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start - base)
    return statistics.median(times)


def main() -> int:
    settings = TokenizerSettings(stopwords=read_stopwords(DATA / "nltk_stopwords_english.txt"))
    tokenizer = Tokenizer(settings)
    train = _texts("train.jsonl.gz")
    random.Random(0).shuffle(train)
    vocab = build_vocabulary((tokenizer.terms(t) for t in train[:5000]), settings, max_terms=5000)
    test = _texts("test.jsonl.gz")
    random.Random(1).shuffle(test)
    enc = encode_figures(vocab, test)
    imp = import_time()
    figures = {"p50_ms": enc["p50_ms"], "p99_ms": enc["p99_ms"], "import_s": imp}
    print(f"vocabulary: {vocab.feature_count} terms, {vocab.content_type}")
    print(
        f"encode per review over {len(test)} IMDB test reviews: p50 {enc['p50_ms']:.3f} ms, "
        f"p99 {enc['p99_ms']:.3f} ms, mean {enc['mean_ms']:.3f} ms"
    )
    print(f"body size: mean {enc['body_mean']:.0f} B, max {enc['body_max']:.0f} B")
    print(f"import vocab_store in a fresh interpreter: {imp * 1000:.0f} ms (median of 7)")
    return check_targets(figures, TARGETS)


if __name__ == "__main__":
    sys.exit(main())

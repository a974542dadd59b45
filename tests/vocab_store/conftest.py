"""Small vocabularies built from real tokenizer settings, for the contract tests."""

from __future__ import annotations

import pytest

from tests.conftest import STOPWORDS
from vocab_store import Tokenizer, TokenizerSettings, Vocabulary, build_vocabulary, read_stopwords

DOCS = [
    "A wonderful, moving film. The acting was superb!",
    "Terrible plot and awful acting; I hated every minute.",
    "Not good, not bad: a forgettable movie with a great score.",
    "Don’t miss it — one of the best films of the year.",
    "The worst movie I have ever seen. Boring and predictable.",
]


@pytest.fixture(scope="session")
def settings() -> TokenizerSettings:
    return TokenizerSettings(stopwords=read_stopwords(STOPWORDS), ngram_range=(1, 2))


@pytest.fixture(scope="session")
def vocabulary(settings: TokenizerSettings) -> Vocabulary:
    tok = Tokenizer(settings)
    return build_vocabulary((tok.terms(d) for d in DOCS), settings, max_terms=200)


@pytest.fixture(scope="session", params=["text/csv", "text/libsvm"])
def any_vocabulary(request: pytest.FixtureRequest, settings: TokenizerSettings) -> Vocabulary:
    """The same terms, weighted and normalised, in each wire format."""
    tok = Tokenizer(settings)
    base = build_vocabulary(
        (tok.terms(d) for d in DOCS),
        settings,
        max_terms=200,
        values="log_count",
        norm="l2",
        content_type=request.param,
    )
    weights = tuple(1.0 + (i % 7) / 3 for i in range(base.feature_count))
    return Vocabulary(
        terms=base.terms,
        tokenizer=settings,
        values=base.values,
        weights=weights,
        norm=base.norm,
        content_type=base.content_type,
    )

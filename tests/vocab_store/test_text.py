from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vocab_store import StopwordsNotFound, Tokenizer, TokenizerSettings, normalise, read_stopwords
from vocab_store.text import _FOLD, fold, ngrams


def test_html_tags_are_removed_and_entities_decoded() -> None:
    assert normalise("Great<br /><br />film &amp; cast") == "great  film & cast"


@pytest.mark.parametrize(
    "curly, plain",
    [("don’t", "don't"), ("“quoted”", '"quoted"'), ("well—made", "well-made"), ("ﬁlm", "film")],
)
def test_typographic_forms_fold_to_what_people_type(curly: str, plain: str) -> None:
    assert normalise(curly) == normalise(plain)


def test_imdb_c1_punctuation_is_folded() -> None:
    # IMDB stores Windows-1252 dashes and quotes as C1 controls (U+0096, U+0092).
    assert normalise("good\x96really good, isn\x92t it") == "good-really good, isn't it"


def test_zero_width_characters_do_not_split_or_join_words() -> None:
    settings = TokenizerSettings(stemmer="none")
    assert Tokenizer(settings).words("gr\u200beat movie") == ["great", "movie"]


def test_stopwords_come_from_the_settings_and_stemming_is_porter() -> None:
    tok = Tokenizer(TokenizerSettings(stopwords=("the", "was")))
    assert tok.words("The acting was AMAZING and moving") == ["act", "amaz", "and", "move"]


def test_curly_and_straight_apostrophes_give_the_same_terms() -> None:
    tok = Tokenizer(TokenizerSettings(stopwords=("don't",)))
    assert tok.terms("I don’t like it") == tok.terms("I don't like it") == ["i", "like", "it"]


def test_ngrams_are_built_after_stopword_removal() -> None:
    assert ngrams(["a", "b", "c"], (1, 2)) == ["a", "b", "c", "a b", "b c"]
    assert ngrams(["a", "b", "c"], (2, 3)) == ["a b", "b c", "a b c"]
    assert ngrams(["a"], (2, 2)) == []


def test_stemming_is_memoised_and_bounded() -> None:
    tok = Tokenizer(TokenizerSettings())
    tok.words("running runs runner")
    # dict.get: the memo's own lookup would stem a missing word, not say it is missing.
    assert {w: dict.get(tok._memo, w) for w in ("running", "runs", "runner")} == {
        "running": "run",
        "runs": "run",
        "runner": "runner",
    }


def test_tokenizers_of_the_same_settings_share_their_stems(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import vocab_store.text as text

    stemmed: list[str] = []
    porter = text._porter()
    monkeypatch.setattr(text, "_porter", lambda: lambda w: stemmed.append(w) or porter(w))
    z, q = porter("zxcvbnings"), porter("qwertyings")
    stop = ("the", "a")
    first = Tokenizer(TokenizerSettings(stopwords=stop))
    assert first.words("the zxcvbnings of a qwertyings") == [z, "of", q]
    assert stemmed == ["zxcvbnings", "of", "qwertyings"]
    # A second vocabulary's tokenizer (a refresh, another run) stems nothing again.
    again = Tokenizer(TokenizerSettings(stopwords=stop, ngram_range=(1, 2)))
    assert again.terms("qwertyings of zxcvbnings") == [q, "of", z, f"{q} of", f"of {z}"]
    assert len(stemmed) == 3
    # Other stopwords or another stemmer: their own memo, their own rule.
    assert Tokenizer(TokenizerSettings(stopwords=("of",))).words("the zxcvbnings of") == [
        "the",
        z,
    ]
    assert stemmed[3:] == ["the", "zxcvbnings"]
    none = Tokenizer(TokenizerSettings(stemmer="none"))
    assert none.words("zxcvbnings of") == ["zxcvbnings", "of"]
    assert len(stemmed) == 5
    # The memo outlives its tokenizers: the next vocabulary of these settings (made after
    # the others are gone) still stems nothing again.
    del first, again
    assert Tokenizer(TokenizerSettings(stopwords=stop)).words("zxcvbnings") == [z]
    assert len(stemmed) == 5


def test_only_the_last_few_settings_keep_their_memo() -> None:
    import vocab_store.text as text

    kept = Tokenizer(TokenizerSettings(stopwords=("kept",)))._memo
    for i in range(text._MEMO_SETTINGS):
        Tokenizer(TokenizerSettings(stopwords=(f"other{i}",)))
    assert text._shared_memo.cache_info().currsize <= text._MEMO_SETTINGS
    assert Tokenizer(TokenizerSettings(stopwords=("kept",)))._memo is not kept
    text.forget_stems()
    assert text._shared_memo.cache_info().currsize == 0


def test_missing_stopword_file_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(StopwordsNotFound, match="nltk_data stopwords"):
        read_stopwords(tmp_path / "nope.txt")


def test_the_shared_nltk_list_has_179_words(settings: TokenizerSettings) -> None:
    assert len(settings.stopwords) == 179 and settings.stopwords[0] == "i"


@given(st.text())
def test_nfc_and_nfd_forms_give_the_same_terms(text: str) -> None:
    tok = Tokenizer(TokenizerSettings(ngram_range=(1, 2)))
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    assert tok.terms(nfc) == tok.terms(nfd)


@given(st.text())
def test_normalised_text_is_always_encodable(text: str) -> None:
    normalise(text).encode("utf-8")


def test_lone_surrogates_are_dropped() -> None:
    assert normalise("good\ud800 film") == "good film"


def test_read_stopwords_dedupes_and_skips_blanks(tmp_path: Path) -> None:
    path = tmp_path / "stop.txt"
    path.write_text("a\n\nthe\na\n", encoding="utf-8")
    assert read_stopwords(path) == ("a", "the")


FOLDED = "".join(sorted(chr(k) for k in _FOLD))


@given(st.text(alphabet=st.sampled_from(FOLDED) | st.characters(), max_size=200))
def test_fold_replaces_exactly_what_the_table_says(text: str) -> None:
    assert fold(text) == text.translate(_FOLD)


@given(st.lists(st.sampled_from(["a", "b", "c", "dd"]), max_size=12))
def test_bigrams_are_adjacent_pairs(words: list[str]) -> None:
    bigrams = ngrams(words, (2, 2))
    assert bigrams == [" ".join(words[i : i + 2]) for i in range(len(words) - 1)]
    assert ngrams(words, (1, 3))[: len(words)] == words


def test_words_longer_than_any_term_are_neither_stemmed_nor_remembered() -> None:
    tokenizer = Tokenizer(TokenizerSettings(stemmer="porter", ngram_range=(1, 2)))
    huge = "running" * 100  # 700 characters: no vocabulary term can hold it
    assert tokenizer.words(f"good {huge} films") == ["good", huge, "film"]
    assert "good film" not in tokenizer.terms(f"good {huge} films")  # neighbours stay apart
    assert huge not in tokenizer._memo
    assert "films" in tokenizer._memo


def test_the_stem_memo_stays_bounded_and_keeps_learning(monkeypatch: pytest.MonkeyPatch) -> None:
    import vocab_store.text as text

    monkeypatch.setattr(text, "_MEMO_ENTRIES", 50)
    tokenizer = Tokenizer(TokenizerSettings(stemmer="porter"))
    words = [f"word{i}ing" for i in range(500)]
    tokenizer.words(" ".join(words))
    assert 0 < len(tokenizer._memo) <= 50
    assert "word499ing" in tokenizer._memo  # still learning once full
    assert tokenizer.words("word7ing") == ["word7"]
    assert "a" * 31 not in tokenizer._memo
    tokenizer.words("a" * 31)
    assert "a" * 31 not in tokenizer._memo  # longer words are stemmed, not remembered

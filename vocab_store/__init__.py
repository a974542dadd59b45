"""The text-to-features contract of sentiment-api, and the vocabulary's storage.

Used by training and by the Lambda alike, so a review is encoded exactly one way. Importing
it loads only the standard library: nltk is loaded on the first stemmed word, boto3 only by
:mod:`vocab_store.store`.
"""

from vocab_store.encode import Encoder, body_width, format_value
from vocab_store.errors import (
    InvalidVocabulary,
    StopwordsNotFound,
    StoreError,
    StoreUnavailable,
    StoreUnreachable,
    VocabError,
    VocabularyNotFound,
)
from vocab_store.text import Tokenizer, TokenizerSettings, normalise, read_stopwords, tokenise
from vocab_store.vocabulary import (
    CONTENT_TYPES,
    FORMAT,
    ModelRecord,
    Vocabulary,
    build_vocabulary,
    from_dict,
    loads,
    next_version,
)

__all__ = [
    "CONTENT_TYPES",
    "FORMAT",
    "Encoder",
    "InvalidVocabulary",
    "ModelRecord",
    "StopwordsNotFound",
    "StoreError",
    "StoreUnavailable",
    "StoreUnreachable",
    "Tokenizer",
    "TokenizerSettings",
    "VocabError",
    "Vocabulary",
    "VocabularyNotFound",
    "body_width",
    "build_vocabulary",
    "format_value",
    "from_dict",
    "loads",
    "next_version",
    "normalise",
    "read_stopwords",
    "tokenise",
]

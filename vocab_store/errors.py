"""Every error vocab_store raises.

Callers catch these, never the boto3, json or OS errors underneath: those are translated
here, at the package's edge, with ``raise ... from exc``.
"""

from __future__ import annotations


class VocabError(Exception):
    """Base of every error raised by vocab_store."""


class InvalidVocabulary(VocabError):
    """A vocabulary artifact that fails validation; the message names the problem."""


class StopwordsNotFound(VocabError):
    """The stopword list file is missing or unreadable."""


class StoreError(VocabError):
    """Reading or writing the vocabulary in S3 failed."""


class VocabularyNotFound(StoreError):
    """No vocabulary has been promoted yet, or the pointer names a missing object."""


class StoreUnavailable(StoreError):
    """S3 could not be reached or refused the request."""


class StoreUnreachable(StoreUnavailable):
    """S3 did not answer at all; the message names the address tried."""


class ControlPlaneUnavailable(VocabError):
    """SageMaker's control plane could not be asked about an endpoint (retry later)."""

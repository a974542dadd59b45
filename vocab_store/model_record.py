"""The record of the model a vocabulary belongs to, and where that model is served."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vocab_store.errors import InvalidVocabulary

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@dataclass(frozen=True)
class ModelRecord:
    """The model a vocabulary belongs to, and where it is served.

    ``fingerprint`` is the sha256 of the ``xgboost-model`` file. ``endpoint`` (and
    ``variant``, for ``TargetVariant``) name the SageMaker endpoint that serves it; they are
    filled in at deploy time, so the API always sends a request to the model its vocabulary
    was trained with.
    """

    fingerprint: str
    feature_count: int
    endpoint: str | None = None
    variant: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "feature_count": self.feature_count,
            "endpoint": self.endpoint,
            "variant": self.variant,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ModelRecord:
        if not isinstance(data, dict):
            raise InvalidVocabulary("model must be an object or null")
        unknown = set(data) - {"fingerprint", "feature_count", "endpoint", "variant"}
        if unknown:
            raise InvalidVocabulary(f"model has unknown fields: {sorted(unknown)}")
        fp = data.get("fingerprint")
        if not isinstance(fp, str) or not _SHA256.match(fp):
            raise InvalidVocabulary("model.fingerprint must be a sha256 hex digest")
        count = data.get("feature_count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise InvalidVocabulary("model.feature_count must be a positive integer")
        for name in ("endpoint", "variant"):
            value = data.get(name)
            if value is not None and (not isinstance(value, str) or not _NAME.match(value)):
                raise InvalidVocabulary(f"model.{name} must be a SageMaker resource name or null")
        return cls(fp, count, data.get("endpoint"), data.get("variant"))

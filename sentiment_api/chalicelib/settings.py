"""The app's settings: environment variables, read once, typed, in one place.

Every other module receives values from :func:`get`; none reads ``os.environ``. A missing
required variable fails loudly with its name. Tests call :func:`clear` after changing the
environment.

======================== ======== =========================================================
variable                 default  meaning
======================== ======== =========================================================
SENTIMENT_STAGE          required ``local``, ``dev`` or ``prod``; shown by ``/health``
SENTIMENT_BUCKET         required the bucket holding vocabularies (and the S3 trigger's)
SENTIMENT_VOCAB_PREFIX   vocab/incoming/  where vocabularies are published (watched)
SENTIMENT_POINTER_KEY    vocab/current.json  the promoted pointer (not watched)
SENTIMENT_FEEDBACK_PREFIX feedback/ where POST /feedback files what people say (not watched)
SENTIMENT_ENDPOINT       none     endpoint for a vocabulary whose model record names none
SENTIMENT_VOCAB_TTL      30       seconds between pointer revalidations, 0 < ttl <= 30
SENTIMENT_MAX_REVIEW_BYTES 100000 largest accepted review (and batch item), in bytes
SENTIMENT_MAX_VOCAB_BYTES 20971520 largest vocabulary the store will read
======================== ======== =========================================================
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.errors import SettingsError
from vocab_store.layout import INCOMING_PREFIX, POINTER_KEY

STAGES = ("local", "dev", "prod", "test")
MAX_TTL = 30.0


@dataclass(frozen=True)
class Settings:
    stage: str
    bucket: str
    vocab_prefix: str = INCOMING_PREFIX
    pointer_key: str = POINTER_KEY
    feedback_prefix: str = "feedback/"
    endpoint: str | None = None
    vocab_ttl: float = 30.0
    max_review_bytes: int = 100_000
    max_vocab_bytes: int = 20 * 1024 * 1024


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"the setting {name} is not set; set it in .chalice/config.json")
    return value


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"the setting {name} must be a number, not {raw!r}") from exc
    if not low < value <= high:
        raise SettingsError(f"the setting {name} must be in ({low:g}, {high:g}], not {raw}")
    return value


def load(env: Mapping[str, str]) -> Settings:
    """Parse and check the settings in ``env``; raises :class:`SettingsError` naming the
    first bad or missing variable."""
    stage = _required(env, "SENTIMENT_STAGE")
    if stage not in STAGES:
        raise SettingsError(f"the setting SENTIMENT_STAGE must be one of {STAGES}, not {stage!r}")
    settings = Settings(
        stage=stage,
        bucket=_required(env, "SENTIMENT_BUCKET"),
        vocab_prefix=env.get("SENTIMENT_VOCAB_PREFIX", "").strip() or INCOMING_PREFIX,
        pointer_key=env.get("SENTIMENT_POINTER_KEY", "").strip() or POINTER_KEY,
        feedback_prefix=env.get("SENTIMENT_FEEDBACK_PREFIX", "").strip() or "feedback/",
        endpoint=env.get("SENTIMENT_ENDPOINT", "").strip() or None,
        vocab_ttl=_number(env, "SENTIMENT_VOCAB_TTL", 30.0, 0.0, MAX_TTL),
        max_review_bytes=int(
            _number(env, "SENTIMENT_MAX_REVIEW_BYTES", 100_000, 0, 10 * 1024 * 1024)
        ),
        max_vocab_bytes=int(
            _number(env, "SENTIMENT_MAX_VOCAB_BYTES", 20 * 1024 * 1024, 0, 200 * 1024 * 1024)
        ),
    )
    # Feedback is a stranger's text: the S3 trigger must never see it as an upload.
    if settings.feedback_prefix.startswith(
        settings.vocab_prefix
    ) or settings.vocab_prefix.startswith(settings.feedback_prefix):
        raise SettingsError(
            "the setting SENTIMENT_FEEDBACK_PREFIX must not overlap SENTIMENT_VOCAB_PREFIX, "
            "which the S3 trigger watches"
        )
    return settings


_settings: Settings | None = None
_lock = threading.Lock()


def get() -> Settings:
    """The process's settings, read from the environment on first use."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = load(os.environ)
        return _settings


def clear() -> None:
    """Forget the settings, so the next :func:`get` reads the environment again."""
    global _settings
    with _lock:
        _settings = None


def trigger() -> tuple[str, str]:
    """The bucket and prefix the S3 handler is subscribed to.

    Chalice needs them when it loads ``app.py`` (to wire the bucket notification at deploy
    time), before any request; the chalice CLI loads the app with the stage's
    ``environment_variables`` already in ``os.environ``, and Lambda sets the same ones, so
    reading them at import gives the deploy and the running function the same values.
    """
    return (
        _required(os.environ, "SENTIMENT_BUCKET"),
        os.environ.get("SENTIMENT_VOCAB_PREFIX", "").strip() or INCOMING_PREFIX,
    )

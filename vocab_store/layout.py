"""Where vocabularies live in the bucket: the default keys, defined once.

The deployed app, the commands and the store read these defaults (each may be overridden by
its settings); only the local stand-ins, which import nothing of ours, repeat the prefix.
"""

from __future__ import annotations

# Every published vocabulary goes here; the S3 trigger watches this prefix.
INCOMING_PREFIX = "vocab/incoming/"
# The pointer naming the live vocabulary: outside the watched prefix, so writing it never
# triggers the handler.
POINTER_KEY = "vocab/current.json"
# Promoted vocabularies, copied here byte for byte as validated and named by their sha256:
# what the pointer names, out of reach of any upload (and of the trigger).
LIVE_PREFIX = "vocab/live/"
# What the refresh handler did with each upload, for `sentiment publish` to report.
OUTCOMES_PREFIX = "vocab/outcomes/"

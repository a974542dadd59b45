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

"""The SageMaker runtime behind one function: rows in, probabilities out.

The client comes in as an argument (:mod:`chalicelib.wiring` builds the process's, with the
timeouts of the API's time budget). Failures become :mod:`chalicelib.errors` with the right
status; the AWS error's text goes to the log only.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.errors import (
    BadGateway,
    EndpointRejected,
    EndpointTimeout,
    EndpointUnavailable,
    EndpointUnreachable,
    InternalError,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024


# SageMaker runtime error codes that mean "not now": the caller should retry later.
_UNAVAILABLE = {
    "ModelNotReadyException",
    "ServiceUnavailable",
    "ThrottlingException",
    "InternalFailure",
    "InternalDependencyException",
}
# A ValidationError is also how SageMaker reports an endpoint that is not there (deleted, or
# not created yet): "Endpoint NAME of account ACCOUNT not found." That one is "not now"; any
# other (a body over the runtime's limit, an unknown TargetVariant) is our misconfiguration.
_NOT_IN_SERVICE = re.compile(
    r"\A\s*Endpoint \S+ (?:of account \S+ )?(?:not found|is not in service)", re.IGNORECASE
)


def invoke(
    body: bytes,
    content_type: str,
    endpoint: str,
    *,
    rows: int,
    variant: str | None = None,
    inference_id: str | None = None,
    client: SageMakerRuntimeClient,
) -> list[float]:
    """Send ``body`` (``rows`` rows) to ``endpoint`` and return one probability per row.
    ``inference_id`` (the prediction id) is SageMaker's ``InferenceId``: data capture and
    the endpoint's own logs record it, so an answer can be found there too."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    kwargs: dict[str, Any] = {
        "EndpointName": endpoint,
        "ContentType": content_type,
        "Accept": "text/csv",
        "Body": body,
    }
    if variant:
        kwargs["TargetVariant"] = variant
    if inference_id:
        kwargs["InferenceId"] = inference_id
    try:
        response = client.invoke_endpoint(**kwargs)
        answer = response["Body"].read(MAX_ANSWER_BYTES + 1)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        log.warning("endpoint %s failed: %s", endpoint, code)
        if code == "ModelNotReadyException":
            raise EndpointUnavailable(
                "The model is starting up; please try again in a few seconds.", retry_after=10
            ) from exc
        if code in _UNAVAILABLE:
            raise EndpointUnavailable() from exc
        if code == "ValidationError":
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if _NOT_IN_SERVICE.match(message):
                raise EndpointUnavailable() from exc
            log.error("endpoint %s refused the request as invalid: %s", endpoint, message)
            raise EndpointRejected() from exc
        if code == "ModelError":
            raise BadGateway("The model could not score this review; please try again.") from exc
        raise InternalError() from exc
    except ReadTimeoutError as exc:
        log.warning("endpoint %s timed out", endpoint)
        raise EndpointTimeout() from exc
    except (ConnectTimeoutError, EndpointConnectionError) as exc:
        url = exc.kwargs.get("endpoint_url") or "its address"
        log.warning("endpoint %s unreachable at %s (%s)", endpoint, url, type(exc).__name__)
        raise EndpointUnreachable() from exc
    except BotoCoreError as exc:
        log.warning("endpoint %s failed: %s", endpoint, type(exc).__name__)
        raise EndpointUnavailable() from exc
    return parse_probabilities(answer, rows)


# What the XGBoost container writes for a probability: a plain decimal number, with an
# exponent for small ones (str(1.2e-05)); no sign, no underscores, ASCII digits only.
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_probabilities(answer: bytes, rows: int) -> list[float]:
    """Exactly ``rows`` probabilities in [0, 1], newline- or comma-separated (the XGBoost
    container uses either); anything else is a :class:`BadGateway`."""
    if len(answer) > MAX_ANSWER_BYTES:
        raise BadGateway()
    try:
        text = answer.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadGateway() from exc
    fields = _split(text)
    if len(fields) != rows:
        log.warning("endpoint answered %d values for %d rows", len(fields), rows)
        raise BadGateway()
    values = []
    for field in fields:
        # float() alone also takes "-0", "0.5_0", "+1", " nan", "infinity".
        if not _DECIMAL.fullmatch(field):
            raise BadGateway()
        value = float(field)
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise BadGateway()
        values.append(value)
    return values


def _split(text: str) -> Sequence[str]:
    text = text.strip()
    if not text:
        return []
    if "\n" in text:
        # One row per line; a line holding several values (multi-class) is not ours.
        return [line.strip() for line in text.split("\n")]
    return [field.strip() for field in text.split(",")]

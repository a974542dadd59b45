"""Every error the API answers with, each knowing its HTTP status.

A client's mistake is a 4xx; our fault or AWS's is a 5xx. Messages are one sentence for the
person calling the API: they never carry an ARN, an exception's text or a stack trace.
Errors from boto3 and vocab_store are translated into these where they are caught, with
``raise ... from exc`` (the cause goes to the log, never to the client).
"""

from __future__ import annotations


class ApiError(Exception):
    """Base of every error the API answers with."""

    status = 500
    message = "Something went wrong on our side; please try again later."
    retry_after: int | None = None

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message
        if retry_after is not None:
            self.retry_after = retry_after

    @property
    def code(self) -> str:
        return type(self).__name__

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class SettingsError(ApiError):
    """A setting is missing or malformed: the deployment is wrong, not the request."""

    message = "The service is not configured correctly; please try again later."


# --- 4xx: the request is wrong --------------------------------------------------------------


class BadRequest(ApiError):
    status = 400
    message = "The request is not valid."


class EmptyReview(BadRequest):
    message = "The review is empty; send the review's text in the request body."


class NotUtf8(BadRequest):
    message = "The request body is not valid UTF-8 text."


class BadJson(BadRequest):
    message = 'The JSON body must be an object like {"review": "text of the review"}.'


class MethodNotAllowed(ApiError):
    """A method the route does not serve; ``allow`` is what it does serve (OPTIONS, the
    CORS preflight, works on every route)."""

    status = 405
    message = "Use POST with the review as the request body."

    def __init__(self, message: str | None = None, *, allow: str = "POST") -> None:
        super().__init__(message)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": f"{self.allow}, OPTIONS"}


class PayloadTooLarge(ApiError):
    status = 413
    message = "The review is too long."


class UnsupportedMediaType(ApiError):
    status = 415
    # curl -d sends application/x-www-form-urlencoded: the message names the header to set.
    message = (
        "Send the review with the header Content-Type: text/plain (curl -d sends a form"
        ' type), or as application/json like {"review": "text of the review"}.'
    )


# --- 5xx: we, or a service we depend on, failed --------------------------------------------


class InternalError(ApiError):
    status = 500


class BadGateway(ApiError):
    status = 502
    message = "The model returned an answer we could not read; please try again later."


class EndpointRejected(BadGateway):
    """The endpoint refused the request as invalid (a body over its size limit, a production
    variant it does not have): our configuration is wrong, so retrying will not help."""

    message = "The model refused the request because of a fault on our side."


class ModelDisagrees(BadGateway):
    """The endpoint's probability is not the sigmoid of the live vocabulary's intercept plus
    contributions: the vocabulary and the model behind the endpoint do not belong together."""

    message = (
        "The model's answer does not match the live vocabulary's weights, so it was not "
        "used; please try again later."
    )


class ServiceUnavailable(ApiError):
    status = 503
    message = "The service is not ready; please try again shortly."
    retry_after = 5


class NoVocabulary(ServiceUnavailable):
    """Nothing has been published (promoted) yet: S3 answered, there is no model."""

    message = "No model has been published yet; please try again shortly."
    retry_after = 30


class S3Unavailable(ServiceUnavailable):
    """S3, where the live vocabulary is, did not answer or refused: not "nothing yet"."""

    message = "The vocabulary store (S3) cannot be reached right now; please try again shortly."


class EndpointUnavailable(ServiceUnavailable):
    message = "The model is not available right now; please try again shortly."


class EndpointUnreachable(EndpointUnavailable):
    """The SageMaker runtime did not answer at all (no connection)."""

    message = "The model's endpoint cannot be reached right now; please try again shortly."


class EndpointTimeout(ApiError):
    status = 504
    message = "The model took too long to answer; please try again."

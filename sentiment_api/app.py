"""sentiment-api: a movie review in, ``0`` or ``1`` out.

Routes parse the request, call one function in ``chalicelib``, and return. On AWS this file
becomes two Lambda functions: ``api_handler`` (the routes) and ``refresh_vocabulary`` (the
S3 trigger on the vocabulary upload prefix). They share nothing but S3.
"""

from __future__ import annotations

import binascii

from chalice.app import Chalice, CORSConfig, Response, S3Event
from chalicelib import (
    feedback,
    observability,
    parsing,
    refresh,
    responses,
    service,
    settings,
    wiring,
)
from chalicelib.errors import BadRequest, MethodNotAllowed
from chalicelib.responses import handled, note

app = Chalice(app_name="sentiment-api")
# Powertools: JSON logs with cold start and request id, EMF metrics, X-Ray on AWS only.
observability.instrument(app)

# Any origin may call the API, never with credentials. A JSON request is preflighted;
# chalice answers the OPTIONS for every route that has this config.
CORS = CORSConfig(allow_origin="*", allow_headers=["Content-Type"], max_age=600)
# Content types are checked by chalicelib.parsing, so a wrong one gets our 415 sentence.
ANY = ["*/*"]
# Every other method gets the app's own 405: chalice's has no CORS header, no log line and an
# Allow naming the GET views, and on AWS API Gateway answers an undeclared method with a 403.
# These views have no chalice CORS config, so the preflight's Access-Control-Allow-Methods
# lists only what works; their answers carry Access-Control-Allow-Origin all the same
# (chalicelib.responses adds it to every answer).
# HEAD too (API Gateway sends the answer's headers only; devstack.chalice_local drops the body).
NOT_POST = ["GET", "HEAD", "PUT", "PATCH", "DELETE"]
NOT_GET = ["HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _body() -> tuple[bytes, str | None]:
    request = app.current_request
    assert request is not None  # chalice sets it before calling a route
    try:
        raw = request.raw_body or b""
    except binascii.Error as exc:  # isBase64Encoded, and the body is not base64
        raise BadRequest("The request body is marked base64 but is not valid base64.") from exc
    return raw if isinstance(raw, bytes) else raw.encode("utf-8"), request.headers.get(
        "content-type"
    )


def _not_allowed(path: str, allow: str, message: str | None = None) -> Response:
    request = app.current_request
    note(route=f"{request.method if request else '?'} {path}")
    raise MethodNotAllowed(message, allow=allow)


def _predict() -> Response:
    body, content_type = _body()
    parsed = parsing.predict_request(body, content_type, settings.get().max_review_bytes)
    verdict = service.predict(parsed.review, explain=parsed.wants_json)
    if parsed.wants_json:
        return responses.json_response(verdict)
    return responses.text(str(verdict["sentiment"]))


@app.route("/", methods=["POST"], cors=CORS, content_types=ANY)
@handled("POST /")
def index() -> Response:
    return _predict()


@app.route("/predict", methods=["POST"], cors=CORS, content_types=ANY)
@handled("POST /predict")
def predict() -> Response:
    return _predict()


@app.route("/batch", methods=["POST"], cors=CORS, content_types=ANY)
@handled("POST /batch")
def batch() -> Response:
    body, content_type = _body()
    items = parsing.batch_request(body, content_type, settings.get().max_review_bytes)
    return responses.json_response(service.predict_batch(items))


@app.route("/health", methods=["GET"], cors=CORS)
@handled("GET /health")
def health() -> Response:
    status, report, headers = service.health()
    return responses.json_response(report, status=status, headers=headers)


@app.route("/feedback", methods=["POST"], cors=CORS, content_types=ANY)
@handled("POST /feedback")
def post_feedback() -> Response:
    body, content_type = _body()
    s = settings.get()
    item = feedback.parse(body, content_type, s.max_review_bytes)
    note(feedback_for=item.prediction_id, feedback_label=item.label)
    created = feedback.store(item, s.bucket, s.feedback_prefix, s3=wiring.s3.get())
    note(feedback_stored=created)
    return responses.json_response(
        {"prediction_id": item.prediction_id, "stored": created}, status=201 if created else 200
    )


@app.route("/", methods=NOT_POST, cors=False, content_types=ANY)
@handled("/")
def index_not_allowed() -> Response:
    return _not_allowed("/", "POST")


@app.route("/predict", methods=NOT_POST, cors=False, content_types=ANY)
@handled("/predict")
def predict_not_allowed() -> Response:
    return _not_allowed("/predict", "POST")


@app.route("/batch", methods=NOT_POST, cors=False, content_types=ANY)
@handled("/batch")
def batch_not_allowed() -> Response:
    return _not_allowed("/batch", "POST", 'Use POST with {"reviews": [...]} as a JSON body.')


@app.route("/feedback", methods=NOT_POST, cors=False, content_types=ANY)
@handled("/feedback")
def feedback_not_allowed() -> Response:
    return _not_allowed("/feedback", "POST", f"Use POST with {feedback.SHAPE} as a JSON body.")


@app.route("/health", methods=NOT_GET, cors=False, content_types=ANY)
@handled("/health")
def health_not_allowed() -> Response:
    return _not_allowed("/health", "GET", "Use GET to read the service's health.")


TRIGGER_BUCKET, TRIGGER_PREFIX = settings.trigger()


@refresh.tolerate_test_events
@app.on_s3_event(
    bucket=TRIGGER_BUCKET,
    prefix=TRIGGER_PREFIX,
    suffix=".json",
    events=["s3:ObjectCreated:*"],
    name="refresh_vocabulary",
)
def refresh_vocabulary(event: S3Event) -> None:
    refresh.handle(event.to_dict())

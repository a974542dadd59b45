"""Does this endpoint serve this vocabulary's model? One rule, asked by every caller.

The S3 handler (before promoting) and ``sentiment publish`` (before uploading) both ask it,
and each maps the plain answer to its own errors. Two parts:

- :func:`describe_endpoint`: the endpoint and the tags of the models behind it, as plain
  values (DescribeEndpoint, DescribeEndpointConfig, DescribeModel, ListTags; read-only). It
  takes the SageMaker client as an argument; botocore is imported only when it runs.
- :func:`check`: pure. It compares a vocabulary with an :class:`EndpointState` and answers
  with a :class:`Pairing` (``ok``, a ``problem`` code, one sentence).

The tag names are defined here and nowhere else: deploy writes them, this module reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from vocab_store.errors import ControlPlaneUnavailable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from vocab_store.vocabulary import Vocabulary

MODEL_FINGERPRINT_TAG = "sentiment-api:model-fingerprint"
# How many features the model reads (the XGBoost container silently accepts rows with fewer
# columns than the model has, so a narrower vocabulary would be served wrong answers).
FEATURE_COUNT_TAG = "sentiment-api:feature-count"
# The content fingerprint (Vocabulary.fingerprint) of the vocabulary trained with the model:
# a document that claims the model but encodes text another way is refused.
VOCABULARY_FINGERPRINT_TAG = "sentiment-api:vocabulary-fingerprint"

# Endpoint states worth waiting for: asked again later, the endpoint may be in service.
TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})


@dataclass(frozen=True)
class ServedModel:
    """One model behind an endpoint, with its tags (``found`` False: the config names a
    model that no longer exists)."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    found: bool = True

    @property
    def fingerprint(self) -> str | None:
        return self.tags.get(MODEL_FINGERPRINT_TAG)

    @property
    def vocabulary_fingerprint(self) -> str | None:
        return self.tags.get(VOCABULARY_FINGERPRINT_TAG)

    @property
    def feature_count(self) -> int | None:
        count = self.tags.get(FEATURE_COUNT_TAG, "")
        return int(count) if count.isdigit() and len(count) < 10 else None


@dataclass(frozen=True)
class EndpointState:
    """An endpoint as the pairing rule sees it. ``exists`` False: no such endpoint.
    ``variant``: the variant asked for (``None``: every variant is in ``models``)."""

    name: str
    exists: bool
    status: str = ""
    variant: str | None = None
    models: tuple[ServedModel, ...] = ()


class Problem(Enum):
    """Why a vocabulary is not paired with an endpoint; callers map these to their errors."""

    NO_MODEL = "no-model"  # the vocabulary records no model
    MISSING = "missing"  # no such endpoint
    NOT_READY = "not-ready"  # being created or updated: ask again later
    NOT_IN_SERVICE = "not-in-service"  # failed, deleting, out of service
    NO_VARIANT = "no-variant"
    MISSING_MODEL = "missing-model"
    OTHER_MODEL = "other-model"
    FEATURE_COUNT = "feature-count"
    UNTAGGED = "untagged"  # deployed before the vocabulary tag existed
    OTHER_VOCABULARY = "other-vocabulary"  # same model, text encoded another way


@dataclass(frozen=True)
class Pairing:
    """The answer of :func:`check`: ``problem`` is ``None`` when the vocabulary may go live
    with that endpoint; ``reason`` is one sentence either way."""

    problem: Problem | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.problem is None


def check(vocabulary: Vocabulary, state: EndpointState) -> Pairing:
    """Whether ``state`` (the endpoint the vocabulary names, described) serves the model
    the vocabulary was trained with: in service, and every variant's model tagged with the
    vocabulary's model fingerprint, (when tagged) its feature count, and the vocabulary's
    content fingerprint, recomputed from what the document is, not what it claims."""
    name = state.name
    model = vocabulary.model
    if model is None:
        return Pairing(Problem.NO_MODEL, "the vocabulary records no model")
    if not state.exists:
        return Pairing(Problem.MISSING, f"endpoint {name} does not exist")
    if state.status in TRANSITIONAL:
        return Pairing(Problem.NOT_READY, f"endpoint {name} is {state.status}")
    if state.status != "InService":
        return Pairing(Problem.NOT_IN_SERVICE, f"endpoint {name} is {state.status}")
    if not state.models:
        return Pairing(Problem.NO_VARIANT, f"endpoint {name} has no variant {state.variant}")
    for served in state.models:
        if not served.found:
            return Pairing(
                Problem.MISSING_MODEL, f"endpoint {name} names a missing model {served.name}"
            )
        if served.fingerprint != model.fingerprint:
            return Pairing(
                Problem.OTHER_MODEL,
                f"endpoint {name} serves model {served.name} with fingerprint "
                f"{(served.fingerprint or 'none')[:12]}, not {model.fingerprint[:12]}",
            )
        if served.feature_count is not None and served.feature_count != model.feature_count:
            return Pairing(
                Problem.FEATURE_COUNT,
                f"endpoint {name} expects {served.feature_count} features, "
                f"the vocabulary has {model.feature_count}",
            )
        if served.vocabulary_fingerprint is None:
            return Pairing(
                Problem.UNTAGGED,
                f"endpoint {name} was deployed without the vocabulary's fingerprint tag; "
                f"add it with `sentiment tag-endpoint RUN --endpoint {name}` "
                "(RUN: the run it was deployed from)",
            )
        if served.vocabulary_fingerprint != vocabulary.fingerprint:
            return Pairing(
                Problem.OTHER_VOCABULARY,
                f"the vocabulary's content (fingerprint {vocabulary.fingerprint[:12]}) is not "
                f"the one endpoint {name}'s model was trained with "
                f"({served.vocabulary_fingerprint[:12]})",
            )
    return Pairing(None, f"endpoint {name} serves model {model.fingerprint[:12]}")


def describe_endpoint(sagemaker: Any, endpoint: str, variant: str | None = None) -> EndpointState:
    """The state of ``endpoint`` and the tags of the models behind it (only ``variant``'s,
    if given). Raises :class:`ControlPlaneUnavailable` when SageMaker cannot be asked."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        try:
            desc = sagemaker.describe_endpoint(EndpointName=endpoint)
        except ClientError as exc:
            if _missing(exc):
                return EndpointState(endpoint, exists=False, variant=variant)
            raise
        config = sagemaker.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
        models = tuple(
            _served(sagemaker, str(pv["ModelName"]))
            for pv in config.get("ProductionVariants", [])
            if variant is None or pv.get("VariantName") == variant
        )
    except (ClientError, BotoCoreError) as exc:
        raise ControlPlaneUnavailable(f"describing endpoint {endpoint} failed: {exc}") from exc
    return EndpointState(endpoint, True, str(desc.get("EndpointStatus", "")), variant, models)


def _served(sagemaker: Any, name: str) -> ServedModel:
    from botocore.exceptions import ClientError

    try:
        arn = sagemaker.describe_model(ModelName=name)["ModelArn"]
    except ClientError as exc:
        if _missing(exc):
            return ServedModel(name, found=False)
        raise
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = sagemaker.list_tags(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        if not page.get("NextToken"):
            return ServedModel(name, tags)
        kwargs["NextToken"] = page["NextToken"]


def _missing(exc: Any) -> bool:
    """SageMaker answers a missing resource with ``ValidationException: Could not find``."""
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return error.get("Code") in ("ValidationException", "ResourceNotFound") and (
        "not find" in message or "not found" in message
    )

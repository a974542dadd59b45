"""The project's names, tags and S3 keys for SageMaker resources, in one place.

Model, endpoint config and endpoint of a run are all ``sentiment-<run_id>`` and carry the
project's tags, so listing and teardown can find exactly what the project created and
nothing else.
"""

from __future__ import annotations

import re

from vocab_store.pairing import (
    FEATURE_COUNT_TAG,
    MODEL_FINGERPRINT_TAG,
    VOCABULARY_FINGERPRINT_TAG,
)

PROJECT_TAG = "sentiment-api:project"
PROJECT = "sentiment-api"
RUN_TAG = "sentiment-api:run"
VARIANT = "AllTraffic"

# The local stack has no IAM: moto accepts any well-formed role ARN.
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/sentiment-local"

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_RESOURCE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def resource_name(run_id: str) -> str:
    """The name of a run's SageMaker model, endpoint config and endpoint."""
    return f"sentiment-{run_id}"


def is_resource_name(name: str) -> bool:
    """Whether ``name`` is a valid SageMaker model/config/endpoint name."""
    return bool(_RESOURCE.match(name))


def is_role_arn(value: str) -> bool:
    return bool(_ROLE_ARN.match(value))


def model_key(run_id: str) -> str:
    """Where a run's ``model.tar.gz`` goes in the bucket."""
    return f"models/{run_id}/model.tar.gz"


def project_tags(
    run_id: str,
    fingerprint: str,
    feature_count: int | None = None,
    vocabulary_fingerprint: str | None = None,
) -> list[dict[str, str]]:
    """The tags every SageMaker resource of a run carries (boto3's shape): the pairing
    tags (:mod:`vocab_store.pairing`) bind the model to the vocabulary trained with it."""
    tags = [
        {"Key": PROJECT_TAG, "Value": PROJECT},
        {"Key": RUN_TAG, "Value": run_id},
        {"Key": MODEL_FINGERPRINT_TAG, "Value": fingerprint},
    ]
    if feature_count is not None:
        tags.append({"Key": FEATURE_COUNT_TAG, "Value": str(feature_count)})
    if vocabulary_fingerprint is not None:
        tags.append({"Key": VOCABULARY_FINGERPRINT_TAG, "Value": vocabulary_fingerprint})
    return tags


def is_project(tags: dict[str, str]) -> bool:
    return tags.get(PROJECT_TAG) == PROJECT

"""The low-level path's image table agrees with the SDK; the SDK is optional."""

from __future__ import annotations

import pytest

from training.aws.images import XGBOOST_ACCOUNTS, xgboost_image_uri
from training.aws.sdk import import_sdk
from training.errors import UsageError

# With the other tests that import the SageMaker SDK (about 2 s) on one xdist worker.
pytestmark = pytest.mark.xdist_group("sagemaker-sdk")


def test_table_matches_the_sdks_image_uris() -> None:
    image_uris = pytest.importorskip("sagemaker.core.image_uris")
    for region in XGBOOST_ACCOUNTS:
        assert xgboost_image_uri(region) == image_uris.retrieve("xgboost", region, "3.2-0")


def test_a_missing_sdk_says_to_install_the_aws_extra() -> None:
    with pytest.raises(UsageError, match=r"aws extra.*\.\[aws\]"):
        import_sdk("sagemaker.no_such_module_here")

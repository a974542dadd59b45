"""The ECR image of SageMaker's built-in XGBoost container, without the SageMaker SDK.

The low-level deploy (and ``sentiment up``) must not need the SDK, so the registry account
of each region is kept here. Copied from the SDK's own table,
``sagemaker/core/image_uri_config/xgboost.json`` (sagemaker-core 2.27.0, version ``3.2-0``,
identical for training and inference); the SDK's ``image_uris.retrieve("xgboost", region,
"3.2-0")`` gives the same URI. A test compares the two when the SDK is installed.
"""

from __future__ import annotations

from training.errors import UsageError

XGBOOST_VERSION = "3.2-0"
REPOSITORY = "sagemaker-xgboost"

XGBOOST_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def xgboost_image_uri(region: str, version: str = XGBOOST_VERSION) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:3.2-0`` for ``region``."""
    if version != XGBOOST_VERSION:
        raise UsageError(
            f"only XGBoost container {XGBOOST_VERSION} is known here (the model format is "
            f"pinned to it), not {version}"
        )
    account = XGBOOST_ACCOUNTS.get(region)
    if account is None:
        raise UsageError(
            f"no SageMaker XGBoost image is known for region {region!r}; use one of "
            f"{', '.join(sorted(XGBOOST_ACCOUNTS))}, or pass --image with the image URI"
        )
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{REPOSITORY}:{version}"

"""Which model an endpoint serves: endpoint -> endpoint config -> model -> ModelDataUrl.

The control plane (moto's SageMaker) is asked through boto3, the model archive is read from
the local S3, and ``xgboost-model`` is loaded as a Booster. Two caches, both explicit:

- the endpoint's resolution (its config name and variants) for ``ttl`` seconds; after that
  one ``DescribeEndpoint`` tells whether the endpoint now points at another config, and
  only then are the config and models described again;
- Boosters per (endpoint, ModelDataUrl), dropped when the endpoint stops using them. A new
  object written over the same S3 key is not noticed: deploys use new keys.

When the control plane fails and a resolution is cached, the cached one keeps serving
(the real runtime does not depend on the control plane per request).
"""

from __future__ import annotations

import io
import logging
import random
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    import xgboost
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

log = logging.getLogger(__name__)

MODEL_MEMBER = "xgboost-model"
_SERVING_STATUSES = {"InService", "Updating", "SystemUpdating", "UpdateRollbackFailed"}


class EndpointNotFound(Exception):
    """No such endpoint (or not in service): the runtime answers ValidationError."""


class VariantNotFound(Exception):
    """TargetVariant names no variant of the endpoint: ValidationError."""


class ModelLoadError(Exception):
    """The variant's model could not be read or loaded: the container's 500."""


@dataclass(frozen=True)
class VariantSpec:
    name: str
    model_name: str
    weight: float
    model_data_url: str


@dataclass(frozen=True)
class Resolution:
    endpoint_name: str
    endpoint_arn: str
    config_name: str
    variants: tuple[VariantSpec, ...]
    expires_at: float


@dataclass(frozen=True)
class ServingVariant:
    """What one invocation is served by."""

    endpoint_arn: str
    variant: VariantSpec
    booster: xgboost.Booster
    lock: threading.Lock


def _split_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise ModelLoadError(f"ModelDataUrl {url!r} is not an s3://bucket/key URL")
    bucket, key = url[5:].split("/", 1)
    return bucket, key


def load_booster(s3: S3Client, model_data_url: str) -> xgboost.Booster:
    """Read ``model.tar.gz`` from S3 and load its ``xgboost-model`` (single-threaded,
    like the container's workers)."""
    import xgboost as xgb

    bucket, key = _split_s3_url(model_data_url)
    try:
        archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise ModelLoadError(f"cannot read {model_data_url}: {exc}") from exc
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            member = next(
                (m for m in tar.getmembers() if m.isfile() and m.name.lstrip("./") == MODEL_MEMBER),
                None,
            )
            if member is None:
                raise ModelLoadError(f"{model_data_url} holds no {MODEL_MEMBER}")
            extracted = tar.extractfile(member)
            if extracted is None:
                raise ModelLoadError(f"{model_data_url}: {MODEL_MEMBER} is not a file")
            raw = extracted.read()
    except tarfile.TarError as exc:
        raise ModelLoadError(f"{model_data_url} is not a tar archive: {exc}") from exc
    try:
        booster = xgb.Booster(model_file=bytearray(raw))
    except xgb.core.XGBoostError as exc:
        reason = str(exc).split("\n", 1)[0]
        raise ModelLoadError(f"{model_data_url}: XGBoost cannot load it: {reason}") from exc
    booster.set_param("nthread", "1")
    return booster


class EndpointModels:
    """Resolve an endpoint name to a loaded Booster, reloading when the endpoint changes."""

    def __init__(
        self,
        sagemaker: SageMakerClient,
        s3: S3Client,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._sagemaker = sagemaker
        self._s3 = s3
        self._ttl = ttl
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._resolutions: dict[str, Resolution] = {}
        self._boosters: dict[tuple[str, str], tuple[xgboost.Booster, threading.Lock]] = {}
        self._load_locks: dict[tuple[str, str], threading.Lock] = {}

    def clear(self) -> None:
        """Forget every resolution and Booster (the next call describes and loads again)."""
        with self._lock:
            self._resolutions.clear()
            self._boosters.clear()

    def serving_variant(self, endpoint_name: str, target_variant: str | None) -> ServingVariant:
        resolution = self._resolve(endpoint_name)
        if target_variant:
            chosen = next((v for v in resolution.variants if v.name == target_variant), None)
            if chosen is None:
                raise VariantNotFound(target_variant)
        else:
            weights = [max(v.weight, 0.0) for v in resolution.variants]
            if sum(weights) > 0:
                chosen = self._rng.choices(resolution.variants, weights=weights)[0]
            else:
                chosen = resolution.variants[0]
        booster, lock = self._booster(endpoint_name, chosen.model_data_url)
        return ServingVariant(resolution.endpoint_arn, chosen, booster, lock)

    def _resolve(self, endpoint_name: str) -> Resolution:
        now = self._clock()
        with self._lock:
            cached = self._resolutions.get(endpoint_name)
        if cached is not None and now < cached.expires_at:
            return cached
        try:
            endpoint = self._sagemaker.describe_endpoint(EndpointName=endpoint_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "ValidationException",
                "ValidationError",
            ):
                self._forget(endpoint_name)
                raise EndpointNotFound(endpoint_name) from exc
            return self._stale_or_raise(cached, exc)
        except BotoCoreError as exc:
            return self._stale_or_raise(cached, exc)
        if endpoint.get("EndpointStatus", "InService") not in _SERVING_STATUSES:
            self._forget(endpoint_name)
            raise EndpointNotFound(endpoint_name)
        config_name = endpoint["EndpointConfigName"]
        if cached is not None and cached.config_name == config_name:
            resolution = Resolution(
                cached.endpoint_name,
                cached.endpoint_arn,
                cached.config_name,
                cached.variants,
                now + self._ttl,
            )
        else:
            resolution = Resolution(
                endpoint_name,
                endpoint["EndpointArn"],
                config_name,
                self._variants(config_name),
                now + self._ttl,
            )
            log.info(
                "endpoint %s now uses config %s: %s",
                endpoint_name,
                config_name,
                ", ".join(f"{v.name}={v.model_data_url}" for v in resolution.variants),
            )
        with self._lock:
            self._resolutions[endpoint_name] = resolution
            in_use = {v.model_data_url for v in resolution.variants}
            for key in [k for k in self._boosters if k[0] == endpoint_name and k[1] not in in_use]:
                del self._boosters[key]
        return resolution

    def _stale_or_raise(self, cached: Resolution | None, exc: Exception) -> Resolution:
        if cached is None:
            raise ModelLoadError(f"the SageMaker control plane failed: {exc}") from exc
        log.warning("control plane failed (%s); serving the cached resolution", exc)
        return cached

    def _forget(self, endpoint_name: str) -> None:
        with self._lock:
            self._resolutions.pop(endpoint_name, None)
            for key in [k for k in self._boosters if k[0] == endpoint_name]:
                del self._boosters[key]

    def _variants(self, config_name: str) -> tuple[VariantSpec, ...]:
        try:
            config = self._sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            variants = []
            for variant in config["ProductionVariants"]:
                model = self._sagemaker.describe_model(ModelName=variant["ModelName"])
                container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
                url = container.get("ModelDataUrl")
                if not url:
                    raise ModelLoadError(f"model {variant['ModelName']} has no ModelDataUrl")
                variants.append(
                    VariantSpec(
                        variant["VariantName"],
                        variant["ModelName"],
                        float(variant.get("InitialVariantWeight", 1.0)),
                        url,
                    )
                )
        except (ClientError, BotoCoreError) as exc:
            raise ModelLoadError(f"cannot describe endpoint config {config_name}: {exc}") from exc
        if not variants:
            raise ModelLoadError(f"endpoint config {config_name} has no production variant")
        return tuple(variants)

    def _booster(self, endpoint_name: str, url: str) -> tuple[xgboost.Booster, threading.Lock]:
        key = (endpoint_name, url)
        with self._lock:
            loaded = self._boosters.get(key)
            if loaded is not None:
                return loaded
            load_lock = self._load_locks.setdefault(key, threading.Lock())
        with load_lock:  # one download per model, however many requests wait for it
            with self._lock:
                loaded = self._boosters.get(key)
            if loaded is None:
                started = time.perf_counter()
                loaded = (load_booster(self._s3, url), threading.Lock())
                log.info("loaded %s in %.2f s", url, time.perf_counter() - started)
                with self._lock:
                    self._boosters[key] = loaded
            return loaded

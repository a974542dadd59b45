"""``sentiment deploy --high-level``: the deploy backend of the SageMaker SDK v3.

``sagemaker.core.resources`` ``Model``, ``EndpointConfig`` and ``Endpoint`` create the same
resources, names and tags as :class:`training.aws.deploy.Boto3Backend`; everything around
the creation (checks, upload, reuse, waiting) is :func:`training.aws.deploy.deploy_run`'s.
The serverless endpoint config stays on boto3: the SDK serialises ``MemorySizeInMB`` as
``MemorySizeInMb``, which SageMaker rejects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from training.aws.clients import AWS_ERRORS, translate
from training.aws.deploy import Boto3Backend, DeployPlan
from training.aws.naming import VARIANT
from training.aws.sdk import import_sdk
from training.errors import AwsError

if TYPE_CHECKING:
    from boto3.session import Session


class SdkBackend:
    """Creates through the SDK's resource classes, with clients built from ``session``;
    ``boto`` makes the serverless endpoint config."""

    label = "the SageMaker SDK"

    def __init__(self, session: Session, boto: Boto3Backend) -> None:
        self.resources = import_sdk("sagemaker.core.resources")
        self.shapes = import_sdk("sagemaker.core.shapes")
        self._sdk_errors = import_sdk("sagemaker.core.utils.exceptions")
        self.session = session
        self.boto = boto

    @property
    def _where(self) -> dict[str, Any]:
        return {"session": self.session, "region": self.session.region_name}

    def _tags(self, plan: DeployPlan) -> list[Any]:
        return [self.shapes.Tag(key=t["Key"], value=t["Value"]) for t in plan.tags]

    @contextlib.contextmanager
    def _translated(self, what: str, plan: DeployPlan) -> Iterator[None]:
        try:
            yield
        except AWS_ERRORS as exc:
            raise translate(exc, f"{what} with the SageMaker SDK") from exc
        except self._sdk_errors.SageMakerCoreError as exc:
            raise AwsError(
                f"{what} with the SageMaker SDK failed: {exc}; see `sentiment endpoints`, "
                f"and `sentiment teardown {plan.name}` to clean up"
            ) from exc

    def create_model(self, plan: DeployPlan) -> None:
        with self._translated(f"creating model {plan.name}", plan):
            self.resources.Model.create(
                model_name=plan.name,
                primary_container=self.shapes.ContainerDefinition(
                    image=plan.image_uri, model_data_url=plan.model_data_url
                ),
                execution_role_arn=plan.role_arn,
                tags=self._tags(plan),
                **self._where,
            )

    def create_endpoint_config(self, plan: DeployPlan) -> None:
        if plan.serverless is not None:
            self.boto.create_endpoint_config(plan)
            return
        with self._translated(f"creating endpoint config {plan.name}", plan):
            self.resources.EndpointConfig.create(
                endpoint_config_name=plan.name,
                production_variants=[
                    self.shapes.ProductionVariant(
                        variant_name=VARIANT,
                        model_name=plan.name,
                        instance_type=plan.instance_type,
                        initial_instance_count=plan.instance_count,
                        initial_variant_weight=1.0,
                    )
                ],
                tags=self._tags(plan),
                **self._where,
            )

    def create_endpoint(self, plan: DeployPlan) -> None:
        with self._translated(f"creating endpoint {plan.name}", plan):
            self.resources.Endpoint.create(
                endpoint_name=plan.name,
                endpoint_config_name=plan.name,
                tags=self._tags(plan),
                **self._where,
            )

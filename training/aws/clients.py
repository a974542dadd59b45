"""boto3 clients for the AWS path, built lazily, once, at the edge.

Library functions take clients as arguments; commands build an :class:`AwsClients` and pass
its attributes down. boto3 honours ``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL_SAGEMAKER``,
so the very same code reaches moto's server locally: there is no local branch here.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from training.errors import AwsError

if TYPE_CHECKING:
    from boto3.session import Session
    from botocore.loaders import Loader
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

# Everything botocore raises: service errors and connection/credential failures.
AWS_ERRORS = (ClientError, BotoCoreError)


def error_code(exc: BaseException) -> str:
    """The service's error code of a ``ClientError`` (empty for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def is_not_found(exc: BaseException) -> bool:
    """SageMaker answers a missing resource with ``ValidationException: Could not find ...``
    (S3 with ``NoSuchKey``/``404``)."""
    code = error_code(exc)
    if code in ("NoSuchKey", "404", "NotFound", "ResourceNotFound", "NotFoundException"):
        return True
    return code == "ValidationException" and "could not find" in error_message(exc).lower()


def connection_hint(exc: BaseException) -> str:
    """What to do after a call that got no answer: start the local stand-ins when ``exc``
    (or its cause) is a refused connection to a loopback address, else check the way to
    AWS."""
    cause = exc if isinstance(exc, EndpointConnectionError) else exc.__cause__
    if isinstance(cause, EndpointConnectionError):
        host = urlsplit(str(cause.kwargs.get("endpoint_url", ""))).hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return (
                "the local stand-ins are not running: start them with `sentiment up` "
                "(or `sentiment up --services-only`)"
            )
    return "check your network, credentials and region"


def translate(exc: BaseException, what: str) -> AwsError:
    """One sentence for a person: what failed and AWS's reason."""
    if isinstance(exc, ClientError):
        return AwsError(f"{what} failed: {error_code(exc)}: {error_message(exc)}")
    return AwsError(f"{what} failed: {exc}; {connection_hint(exc)}")


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a block of AWS calls; any botocore error leaves it as :func:`translate`'s."""
    try:
        yield
    except AWS_ERRORS as exc:
        raise translate(exc, what) from exc


NO_CREDENTIALS = (
    "no AWS credentials found: run `aws configure` (or `aws sso login`), or set AWS_PROFILE, "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def new_session(region: str | None = None) -> Session:
    """A boto3 session of its own (credentials and region read now), reading botocore's
    service models through the process's one loader: a model is a JSON file of up to
    megabytes, parsed on first use and kept, and a new session otherwise parses it again
    (about 0.1 s for SageMaker's; the tests run hundreds of commands in one process)."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    loader = _loader(core.get_config_variable("data_path"))
    core.register_component("data_loader", loader)
    session = boto3.session.Session(botocore_session=core, region_name=region)
    # boto3 adds its own models' folder to the loader's paths for each session: once is enough.
    loader.search_paths[:] = dict.fromkeys(loader.search_paths)
    return session


@functools.cache
def _loader(data_path: str | None) -> Loader:
    from botocore.loaders import create_loader

    return create_loader(data_path)


class AwsClients:
    """The boto3 clients a command needs, each built on first use.

    Pass clients in to override them (tests pass Stubber-wrapped ones); the others are
    built from one boto3 session with explicit retries and timeouts.
    """

    def __init__(
        self,
        region: str | None = None,
        *,
        s3: S3Client | None = None,
        sagemaker: SageMakerClient | None = None,
        apigateway: APIGatewayClient | None = None,
        session: Session | None = None,
    ) -> None:
        self._region = region
        self._session = session
        self._clients: dict[str, Any] = {
            k: v for k, v in (("s3", s3), ("sagemaker", sagemaker), ("apigateway", apigateway)) if v
        }

    def _session_(self) -> Session:
        if self._session is None:
            self._session = new_session(self._region)
        return self._session

    @property
    def session(self) -> Session:
        """The boto3 session the clients come from (the SageMaker SDK builds its own)."""
        return self._session_()

    @property
    def region(self) -> str:
        """The region the clients talk to; a clear error when none is configured."""
        region = self._region or self._session_().region_name
        if not region:
            raise AwsError(
                "no AWS region configured; pass --region or set AWS_DEFAULT_REGION (e.g. us-east-1)"
            )
        return str(region)

    def require_credentials(self) -> None:
        """A clear error, before any call, when boto3 finds no AWS credentials at all (it
        would otherwise fail later with ``NoCredentialsError`` deep inside a call)."""
        if self._clients:
            return  # clients were given (tests): their credentials are theirs
        try:
            credentials = self._session_().get_credentials()
        except AWS_ERRORS as exc:
            raise translate(exc, "reading your AWS credentials") from exc
        if credentials is None:
            raise AwsError(NO_CREDENTIALS)

    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            from botocore.config import Config

            session: Any = self._session_()  # the stubs type client() by literal names only
            try:
                client = session.client(
                    service,
                    region_name=self.region,
                    config=Config(
                        connect_timeout=5,
                        read_timeout=60,
                        retries={"mode": "standard", "max_attempts": 5},
                    ),
                )
            except AWS_ERRORS as exc:
                raise translate(exc, f"creating the {service} client") from exc
            self._clients[service] = client
        return client

    # The stubs type a client by its literal service name; _client builds any of them.
    @property
    def s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    @property
    def sagemaker(self) -> SageMakerClient:
        return cast("SageMakerClient", self._client("sagemaker"))

    @property
    def apigateway(self) -> APIGatewayClient:
        return cast("APIGatewayClient", self._client("apigateway"))

    @property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

"""S3 event delivery: new objects under a prefix reach the app's S3 handler, like Lambda.

Run: ``python -m devstack.relay --s3-url URL --sqs-url URL --bucket B --prefix P
--handler /path/to/app.py:function [--suffix .json]``.

On start it creates the bucket if missing, creates an SQS queue in moto, and sets the
bucket's notification configuration (``QueueConfigurations``: ``s3:ObjectCreated:*``,
prefix and optional suffix filter) so that moto's S3 sends each event to the queue, as S3
does. It imports the handler's file by path (its directory first on ``sys.path``, as
Lambda's task root) in this process, with this process's environment, then long-polls the
queue and calls ``handler(event, context)`` with each S3 event, completed to the shape S3
sends (``sequencer``, ``userIdentity``, ``requestParameters``, ``responseElements``,
``ownerIdentity``). The key is URL-encoded as S3 sends it (space as ``+``, ``/`` kept).

Like Lambda's asynchronous invocation: a message is deleted once the handler returns; when
the handler raises, the traceback is logged and the message becomes visible again after
``--retry-delay`` seconds; after ``--max-attempts`` attempts it is dropped with a log line.
``s3:TestEvent`` messages (sent when the configuration is set) are dropped: S3 never
invokes a Lambda function with them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote_plus

from botocore.exceptions import BotoCoreError, ClientError

from devstack import child

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import FilterRuleTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

log = logging.getLogger("devstack.relay")

Handler = Callable[[dict[str, Any], Any], Any]
NOTIFICATION_ID = "devstack-relay"
ACCOUNT = "123456789012"


class HandlerSpecError(ValueError):
    """The ``--handler`` spec does not name a callable."""


def load_handler(spec: str) -> Handler:
    """``/path/to/file.py:name`` or ``package.module:name`` -> the callable.

    A file is imported by path, as module ``name-of-file``, with its directory first on
    ``sys.path`` (so ``chalicelib`` next to ``app.py`` imports, as in Lambda)."""
    target, sep, attribute = spec.rpartition(":")
    if not sep or not target or not attribute:
        raise HandlerSpecError(f"handler {spec!r} is not FILE.py:NAME or MODULE:NAME")
    if target.endswith(".py"):
        path = Path(target).resolve()
        if not path.is_file():
            raise HandlerSpecError(f"handler file {path} does not exist")
        sys.path.insert(0, str(path.parent))
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise HandlerSpecError(f"cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerSpecError(f"{spec!r}: {attribute} is not a callable in {target}")
    return handler


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers commonly use."""

    function_name: str
    timeout_s: float
    region: str
    aws_request_id: str = ""
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    _deadline: float = 0.0

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"devstack/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def for_invocation(self) -> LambdaContext:
        return LambdaContext(
            self.function_name,
            self.timeout_s,
            self.region,
            aws_request_id=str(uuid.uuid4()),
            function_version=self.function_version,
            memory_limit_in_mb=self.memory_limit_in_mb,
            _deadline=time.monotonic() + self.timeout_s,
        )


class Sequencer:
    """S3's ``sequencer``: hex that grows with the event time for a key (moto sends none).
    Derived from moto's event time plus a counter, so order survives SQS reordering."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, event_time: str) -> str:
        try:
            moment = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
            value = int(moment.timestamp() * 1000) * 1000
        except ValueError:
            value = time.time_ns() // 1000
        self._last = max(value, self._last + 1)
        return f"{self._last:018X}"


def complete_record(record: dict[str, Any], sequencer: Sequencer) -> dict[str, Any]:
    """Fill in the fields S3 sends that moto leaves out; keep everything else moto sent.

    moto encodes the key with ``quote_plus`` (``/`` becomes ``%2F``); S3 keeps ``/`` and
    writes a space as ``+``, so the key is re-encoded that way."""
    s3 = record.setdefault("s3", {})
    obj = s3.setdefault("object", {})
    if "key" in obj:
        obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
    obj.setdefault("sequencer", sequencer.next(record.get("eventTime", "")))
    s3.setdefault("bucket", {}).setdefault("ownerIdentity", {"principalId": "DEVSTACK"})
    record.setdefault("userIdentity", {"principalId": "AWS:DEVSTACK"})
    record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
    record.setdefault(
        "responseElements",
        {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
    )
    return record


@dataclass(frozen=True)
class RelaySettings:
    bucket: str
    prefix: str
    suffix: str = ""
    queue_name: str = "devstack-s3-events"
    max_attempts: int = 3
    retry_delay: int = 1
    wait_seconds: int = 10
    function_name: str = "s3-handler"
    function_timeout: float = 60.0
    region: str = "us-east-1"


class Relay:
    """Moves S3 events from the queue into the handler. Takes its clients as arguments."""

    def __init__(
        self, settings: RelaySettings, s3: S3Client, sqs: SQSClient, handler: Handler
    ) -> None:
        self.settings = settings
        self._s3 = s3
        self._sqs = sqs
        self._handler = handler
        self._sequencer = Sequencer()
        self._context = LambdaContext(
            settings.function_name, settings.function_timeout, settings.region
        )
        self.queue_url = ""

    def configure(self) -> None:
        """Queue, bucket and the bucket's notification configuration (idempotent)."""
        s = self.settings
        self.queue_url = self._sqs.create_queue(QueueName=s.queue_name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        try:
            self._s3.head_bucket(Bucket=s.bucket)
        except ClientError:
            self._s3.create_bucket(Bucket=s.bucket)
        rules: list[FilterRuleTypeDef] = [{"Name": "prefix", "Value": s.prefix}]
        if s.suffix:
            rules.append({"Name": "suffix", "Value": s.suffix})
        self._s3.put_bucket_notification_configuration(
            Bucket=s.bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "Id": NOTIFICATION_ID,
                        "QueueArn": arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": rules}},
                    }
                ]
            },
        )
        log.info(
            "s3://%s/%s*%s -> %s -> %s",
            s.bucket,
            s.prefix,
            s.suffix,
            s.queue_name,
            s.function_name,
        )

    def poll_once(self) -> int:
        """One long poll; returns how many messages were handled (delivered or dropped)."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.settings.wait_seconds,
            VisibilityTimeout=max(int(self.settings.function_timeout), 1) + 5,
            AttributeNames=["ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        for message in messages:
            self._deliver(message)
        return len(messages)

    def _deliver(self, message: MessageTypeDef) -> None:
        receipt = message["ReceiptHandle"]
        try:
            event = json.loads(message["Body"])
        except ValueError:
            log.error("dropping a message that is not JSON: %.200s", message["Body"])
            self._delete(receipt)
            return
        if event.get("Event") == "s3:TestEvent":
            log.info("dropping s3:TestEvent for bucket %s", event.get("Bucket"))
            self._delete(receipt)
            return
        records = [complete_record(r, self._sequencer) for r in event.get("Records", [])]
        event["Records"] = records
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        keys = ", ".join(r["s3"]["object"].get("key", "?") for r in records)
        context = self._context.for_invocation()
        started = time.perf_counter()
        try:
            self._handler(event, context)
        except Exception:  # noqa: BLE001 - a failing handler is retried, like Lambda
            log.exception(
                "%s failed on %s (attempt %d of %d)",
                self.settings.function_name,
                keys,
                attempt,
                self.settings.max_attempts,
            )
            if attempt >= self.settings.max_attempts:
                log.error("dropping the event for %s after %d attempts", keys, attempt)
                self._delete(receipt)
            else:
                self._sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=receipt,
                    VisibilityTimeout=self.settings.retry_delay,
                )
            return
        log.info(
            "delivered %s to %s in %.0f ms (request %s)",
            keys,
            self.settings.function_name,
            (time.perf_counter() - started) * 1000,
            context.aws_request_id,
        )
        self._delete(receipt)

    def _delete(self, receipt: str) -> None:
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)

    def step(self) -> None:
        """One poll; when the queue is gone (moto restarted empty), configure again: the
        queue, the bucket and its notification, as on start."""
        try:
            self.poll_once()
        except ClientError as exc:
            if not _queue_gone(exc):
                raise
            log.warning(
                "the queue %s is gone (did moto restart empty?); creating the queue, the "
                "bucket and its notification again",
                self.settings.queue_name,
            )
            self.configure()

    def run_forever(self) -> None:
        while True:
            try:
                self.step()
            except (ClientError, BotoCoreError) as exc:
                log.warning("polling the queue failed (%s); retrying in 1 s", exc)
                time.sleep(1)


def _queue_gone(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist") or (
        "NonExistentQueue" in code
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack.relay", description=__doc__)
    parser.add_argument("--s3-url", required=True)
    parser.add_argument("--sqs-url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--suffix", default="")
    parser.add_argument("--handler", required=True, help="FILE.py:NAME or MODULE:NAME")
    parser.add_argument("--function-name", default="s3-handler")
    parser.add_argument("--function-timeout", type=float, default=60.0)
    parser.add_argument("--queue-name", default="devstack-s3-events")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--retry-delay", type=int, default=1, help="seconds before a retry")
    parser.add_argument("--wait-seconds", type=int, default=10, help="SQS long-poll time")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--ready-file", type=Path, help="created once events are delivered")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    child.setup(args.log_level)
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=args.region
    )
    settings = RelaySettings(
        bucket=args.bucket,
        prefix=args.prefix,
        suffix=args.suffix,
        queue_name=args.queue_name,
        max_attempts=args.max_attempts,
        retry_delay=args.retry_delay,
        wait_seconds=args.wait_seconds,
        function_name=args.function_name,
        function_timeout=args.function_timeout,
        region=args.region,
    )
    try:
        handler = load_handler(args.handler)
    except HandlerSpecError as exc:
        log.error("%s", exc)
        return 2
    relay = Relay(
        settings,
        session.client("s3", endpoint_url=args.s3_url),
        session.client("sqs", endpoint_url=args.sqs_url),
        handler,
    )
    relay.configure()
    if args.ready_file is not None:
        args.ready_file.touch()
    relay.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

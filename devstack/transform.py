"""SageMaker Batch Transform, run for real by the local runtime on the jobs moto holds.

:class:`TransformRunner` polls the control plane for ``InProgress`` (and ``Stopping``) jobs
and runs each one in a thread, as Batch Transform does with the XGBoost container:

- the model is the ``ModelDataUrl`` of the job's SageMaker model, read from the local S3;
- the input is every object under ``S3Uri`` (``S3Prefix``; ``ManifestFile`` is refused), in
  key order, decompressed when ``CompressionType`` is ``Gzip``;
- ``SplitType`` ``Line`` splits an object into records on ``\\n`` (``None``: the object is
  one record); ``BatchStrategy`` ``MultiRecord`` packs consecutive records into mini-batches
  of at most ``MaxPayloadInMB`` (``SingleRecord``: one each); a record over
  ``MaxPayloadInMB`` fails the job;
- each mini-batch is one invocation of the container emulation (``devstack.xgb_container``)
  with the job's ``ContentType``; the container refuses a body over its 6 MB request limit
  (413), however large ``MaxPayloadInMB`` is, and answers in batch mode (one prediction a
  line, ending in a newline);
- an object's answers, assembled (``AssembleWith`` ``Line``: newline-separated), go to
  ``S3OutputPath/<key relative to the input prefix>.out``, only once the whole object
  succeeded; any failure fails the job with a ``FailureReason`` and writes nothing more;
- ``StopTransformJob`` is seen between mini-batches: the job ends ``Stopped``.

``DataProcessing`` (``JoinSource``, filters) is not emulated: a job asking for it fails,
saying so. The status is reported through the control plane's devstack route
(``devstack.control_plane``).
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack import xgb_container
from devstack.control_plane import STATUS_PATH
from devstack.endpoints import ModelLoadError, load_booster

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

log = logging.getLogger(__name__)

CONTAINER_LIMIT = 6 * 1024 * 1024  # the XGBoost container's MAX_CONTENT_LENGTH default
MB = 1024 * 1024


class JobFailed(Exception):
    """The job cannot go on; the message is its ``FailureReason``."""


class JobStopped(Exception):
    """``StopTransformJob`` was called while the job ran."""


@dataclass(frozen=True)
class TransformSpec:
    """What a job asks for, checked against what this stand-in runs."""

    name: str
    arn: str
    model_name: str
    input_uri: str
    content_type: str | None
    split_type: str
    compression: str
    batch_strategy: str
    max_payload_bytes: int
    output_uri: str
    assemble_with: str

    @classmethod
    def from_description(cls, job: Mapping[str, Any]) -> TransformSpec:
        data_input = job.get("TransformInput") or {}
        source = (data_input.get("DataSource") or {}).get("S3DataSource") or {}
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise JobFailed("ClientError: only S3DataType S3Prefix is run by the local stand-in")
        if data_input.get("SplitType", "None") not in ("Line", "None"):
            raise JobFailed(
                f"ClientError: SplitType {data_input['SplitType']} is not run by the local stand-in"
            )
        processing = job.get("DataProcessing") or {}
        if processing.get("JoinSource", "None") != "None" or any(
            processing.get(f, "$") != "$" for f in ("InputFilter", "OutputFilter")
        ):
            raise JobFailed("ClientError: DataProcessing is not run by the local stand-in")
        output = job.get("TransformOutput") or {}
        return cls(
            name=job["TransformJobName"],
            arn=job["TransformJobArn"],
            model_name=job["ModelName"],
            input_uri=source.get("S3Uri", ""),
            content_type=data_input.get("ContentType"),
            split_type=data_input.get("SplitType", "None"),
            compression=data_input.get("CompressionType", "None"),
            batch_strategy=job.get("BatchStrategy") or "MultiRecord",
            max_payload_bytes=int(job.get("MaxPayloadInMB") or 6) * MB,
            output_uri=output.get("S3OutputPath", ""),
            assemble_with=output.get("AssembleWith", "None"),
        )


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` to ``(bucket, prefix)``."""
    if not uri.startswith("s3://"):
        raise JobFailed(f"ClientError: {uri!r} is not an s3:// URI")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix


def output_key(input_prefix: str, key: str, output_prefix: str) -> str:
    """Where Batch Transform writes the answers for input object ``key``."""
    folder = input_prefix if input_prefix.endswith("/") else input_prefix.rpartition("/")[0]
    relative = key[len(folder) :].lstrip("/") if folder else key
    base = output_prefix.rstrip("/")
    return f"{base}/{relative}.out" if base else f"{relative}.out"


def mini_batches(records: list[bytes], spec: TransformSpec) -> Iterator[bytes]:
    """Records packed as Batch Transform packs them, or :class:`JobFailed`."""
    batch: list[bytes] = []
    size = 0
    for record in records:
        if len(record) > spec.max_payload_bytes:
            raise JobFailed(
                f"ClientError: a record of {len(record)} bytes is larger than MaxPayloadInMB "
                f"({spec.max_payload_bytes // MB})"
            )
        if batch and (
            spec.batch_strategy == "SingleRecord" or size + len(record) + 1 > spec.max_payload_bytes
        ):
            yield b"\n".join(batch)
            batch, size = [], 0
        batch.append(record)
        size += len(record) + 1
    if batch:
        yield b"\n".join(batch)


class TransformRunner:
    """Runs the control plane's in-progress transform jobs, each in its own thread."""

    def __init__(
        self, sagemaker: SageMakerClient, s3: S3Client, control_url: str, poll_seconds: float = 1.0
    ) -> None:
        self._sagemaker = sagemaker
        self._s3 = s3
        self._status_url = control_url.rstrip("/") + STATUS_PATH
        self._poll = poll_seconds
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def start(self) -> TransformRunner:
        threading.Thread(target=self._loop, name="transform-jobs", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _loop(self) -> None:
        while not self._stopped.wait(self._poll):
            try:
                self.poll_once()
            except (ClientError, BotoCoreError, OSError) as exc:
                log.debug("cannot list transform jobs: %s", exc)

    def poll_once(self) -> None:
        """Start every in-progress job not yet running; end stopping ones nobody runs."""
        for status in ("InProgress", "Stopping"):
            listed = self._sagemaker.list_transform_jobs(StatusEquals=status, MaxResults=100)
            for summary in listed.get("TransformJobSummaries", []):
                name = summary["TransformJobName"]
                with self._lock:
                    if name in self._running:
                        continue
                    if status == "Stopping":
                        self._report(summary["TransformJobArn"], "Stopped")
                        continue
                    self._running.add(name)
                threading.Thread(target=self._run, args=(name,), daemon=True).start()

    def _run(self, name: str) -> None:
        arn = ""
        try:
            job = self._sagemaker.describe_transform_job(TransformJobName=name)
            arn = job["TransformJobArn"]
            spec = TransformSpec.from_description(job)
            started = time.perf_counter()
            count = self.run_job(spec)
            log.info(
                "transform job %s: %d objects in %.2f s", name, count, time.perf_counter() - started
            )
            self._report(arn, "Completed")
        except JobStopped:
            log.info("transform job %s stopped", name)
            self._report(arn, "Stopped")
        except JobFailed as exc:
            log.warning("transform job %s failed: %s", name, exc)
            self._report(arn, "Failed", str(exc))
        except (ClientError, BotoCoreError) as exc:
            log.warning("transform job %s failed: %s", name, exc)
            if arn:
                self._report(arn, "Failed", f"InternalServerError: {exc}")
        finally:
            with self._lock:
                self._running.discard(name)

    def run_job(self, spec: TransformSpec) -> int:
        """Transform every input object; the number of objects."""
        try:
            model = self._sagemaker.describe_model(ModelName=spec.model_name)
        except ClientError as exc:
            raise JobFailed(f"ValidationException: Could not find model {spec.model_name}") from exc
        url = (model.get("PrimaryContainer") or {}).get("ModelDataUrl", "")
        try:
            booster = load_booster(self._s3, url)
        except ModelLoadError as exc:
            raise JobFailed(f"ClientError: unable to load the model: {exc}") from exc
        bucket, prefix = split_uri(spec.input_uri)
        out_bucket, out_prefix = split_uri(spec.output_uri)
        keys = self._keys(bucket, prefix)
        if not keys:
            raise JobFailed(f"ClientError: no input objects under {spec.input_uri}")
        for key in keys:
            body = self._transform_object(spec, booster, self._read(bucket, key, spec), key)
            self._s3.put_object(
                Bucket=out_bucket, Key=output_key(prefix, key, out_prefix), Body=body
            )
        return len(keys)

    def _keys(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            keys.extend(o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/"))
        return sorted(keys)

    def _read(self, bucket: str, key: str, spec: TransformSpec) -> bytes:
        data = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if spec.compression == "Gzip":
            try:
                return gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise JobFailed(f"ClientError: s3://{bucket}/{key} is not gzip: {exc}") from exc
        return bytes(data)

    def _transform_object(self, spec: TransformSpec, booster: Any, data: bytes, key: str) -> bytes:
        if spec.split_type == "Line":
            records = [r for r in data.split(b"\n") if r.strip()]
        else:
            records = [data]
        answers: list[bytes] = []
        for payload in mini_batches(records, spec):
            self._check_not_stopping(spec.name)
            if len(payload) > CONTAINER_LIMIT:
                raise JobFailed(
                    f"ClientError: the container refused a request of {len(payload)} bytes for "
                    f"{key} (413: over its {CONTAINER_LIMIT}-byte limit); lower MaxPayloadInMB"
                )
            try:
                answer = xgb_container.invoke(booster, payload, spec.content_type)
            except xgb_container.ContainerError as exc:
                raise JobFailed(
                    f"ClientError: the container answered {exc.status} for {key}: {exc.message}"
                ) from exc
            # The container in batch mode ends every answer with a newline.
            answers.append(answer.body + b"\n")
        # Each answer ends in a newline, so Line and None assemble alike.
        return b"".join(answers)

    def _check_not_stopping(self, name: str) -> None:
        job = self._sagemaker.describe_transform_job(TransformJobName=name)
        if job.get("TransformJobStatus") == "Stopping":
            raise JobStopped(name)

    def _report(self, arn: str, status: str, reason: str = "") -> None:
        body = json.dumps({"arn": arn, "status": status, "reason": reason[:1024]}).encode()
        request = urllib.request.Request(
            self._status_url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError as exc:
            log.error("cannot report transform job %s as %s: %s", arn, status, exc)

"""moto's server (S3, SQS, the SageMaker control plane), with transform jobs that really run.

Run: ``python -m devstack.control_plane -H HOST -p PORT`` (the flags of
``python -m moto.server``).

moto records ``CreateTransformJob`` faithfully but marks the job ``Completed`` the moment it
is created, has no ``StopTransformJob``, and offers no way to change a job's status (its
state manager does not cover SageMaker). So a client polling the job would download outputs
that do not exist yet. Before starting moto's own server this module adds three things, and
nothing else:

1. a new transform job is ``InProgress``, with no end time, until it is reported done;
2. ``StopTransformJob`` as AWS has it: an ``InProgress`` job becomes ``Stopping``; whoever
   runs it stops and reports ``Stopped`` (an unknown job is a ``ValidationException``);
3. one route that is not AWS's, beside moto's own test hooks under ``/moto-api/``:
   ``POST /moto-api/devstack/transform-job-status`` with ``{"arn", "status", "reason"}``.
   The local SageMaker runtime, which runs the job (``devstack.transform``), reports there
   ``Completed``, ``Failed`` (with its ``FailureReason``) or ``Stopped``.

moto still keeps every field of the job; only its status, failure reason and end time are
written through the route. :func:`install` fails loudly if moto's internals have moved.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

STATUS_PATH = "/moto-api/devstack/transform-job-status"
FINAL = ("Completed", "Failed", "Stopped")
_installed = False


def _job(arn: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends

    # arn:aws:sagemaker:REGION:ACCOUNT:transform-job/NAME
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("transform-job/"):
        raise KeyError(arn)
    region, account, name = parts[3], parts[4], parts[5].split("/", 1)[1]
    return sagemaker_backends[account][region].transform_jobs[name]


def _set_status(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    try:
        report = json.loads(request.get_data() or b"{}")
        job = _job(str(report["arn"]))
        status = str(report["status"])
    except (KeyError, ValueError, TypeError):
        return 400, {}, json.dumps({"message": "expected {arn, status, reason} of a known job"})
    if status not in FINAL:
        return 400, {}, json.dumps({"message": f"status must be one of {FINAL}"})
    job.transform_job_status = status
    job.failure_reason = str(report.get("reason") or "") if status == "Failed" else ""
    job.transform_end_time = job.last_modified_time = datetime.now(UTC)
    return 200, {}, json.dumps({"status": status})


def install() -> None:
    """Add in-progress transform jobs, StopTransformJob and the status route to moto."""
    global _installed
    if _installed:
        return
    from moto.moto_api._internal import urls
    from moto.sagemaker import models, responses
    from moto.sagemaker.exceptions import ValidationError

    job_class = models.FakeTransformJob
    created = job_class.__init__

    def in_progress(self: Any, *args: Any, **kwargs: Any) -> None:
        created(self, *args, **kwargs)
        self.transform_job_status = "InProgress"
        self.transform_end_time = None

    def stop_job(backend: Any, name: str) -> None:
        job = backend.transform_jobs.get(name)
        if job is None:
            arn = job_class.arn_formatter(name, backend.account_id, backend.region_name)
            raise ValidationError(message=f"Could not find transform job '{arn}'.")
        if job.transform_job_status == "InProgress":
            job.transform_job_status = "Stopping"
            job.last_modified_time = datetime.now(UTC)

    def stop_transform_job(self: Any) -> Any:
        stop_job(self.sagemaker_backend, self._get_param("TransformJobName"))
        return responses.EmptyResult()

    for owner, name in ((job_class, "__init__"), (responses.SageMakerResponse, "dispatch")):
        if not hasattr(owner, name):
            raise RuntimeError(f"moto has changed: {owner.__name__}.{name} is gone")
    job_class.__init__ = in_progress  # type: ignore[method-assign]
    responses.SageMakerResponse.stop_transform_job = stop_transform_job  # type: ignore[attr-defined]
    urls.url_paths["{0}" + STATUS_PATH] = _set_status
    _installed = True


def main(argv: list[str] | None = None) -> None:
    install()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Each command's boto3 session is its own (credentials and region read when it is made),
and every session of the process reads botocore's service models through one loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.aws.clients import AwsClients, new_session


def test_sessions_are_separate_and_share_the_parsed_service_models(
    moto_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = new_session("us-east-1")
    assert first.get_credentials().access_key == "testing"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")
    second = AwsClients("eu-west-1").session
    assert (first.region_name, second.region_name) == ("us-east-1", "eu-west-1")
    assert second.get_credentials().access_key == "someone-else"
    assert first.get_credentials().access_key == "testing"  # read once, its own

    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    assert len(loader.search_paths) == len(set(loader.search_paths))
    data = first._session.get_service_data("sagemaker")
    assert second._session.get_service_data("sagemaker") is data  # parsed once
    # Both sessions' clients work.
    first.client("sagemaker", endpoint_url=moto_env).list_endpoints()
    second.client("s3", endpoint_url=moto_env, region_name="us-east-1").list_buckets()


def test_a_data_path_of_its_own_gets_a_loader_of_its_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = new_session()._session.get_component("data_loader")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    own = new_session()._session.get_component("data_loader")
    assert own is not shared
    assert str(tmp_path) in own.search_paths

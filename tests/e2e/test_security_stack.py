"""Security checks of issue 8 that need the running local stack (the rest are in
``tests/test_security.py``): CORS without credentials over real HTTP, preflight included,
and every socket the stack's processes listen on bound to 127.0.0.1 only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import call
from training.local_stack import LocalStack

pytestmark = pytest.mark.stack

ORIGIN = "http://attacker.example"
LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian hex)
LOOPBACK_V6 = {"00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
LISTEN = "0A"  # TCP_LISTEN
UNCONNECTED = "07"  # a bound UDP socket


@pytest.mark.parametrize(
    ("path", "method"),
    [("", "POST"), ("predict", "POST"), ("batch", "POST"), ("feedback", "POST"), ("health", "GET")],
)
def test_preflight_allows_any_origin_without_credentials(
    local_stack: LocalStack, path: str, method: str
) -> None:
    answer = call(
        local_stack.api_url + path,
        method="OPTIONS",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert method in answer.headers["access-control-allow-methods"]
    assert "content-type" in answer.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize(
    ("path", "method", "body", "content_type"),
    [
        ("", "POST", b"A wonderful film.", "text/plain"),
        ("predict", "POST", b'{"review": "A wonderful film."}', "application/json"),
        ("predict", "POST", b"", "text/plain"),
        ("predict", "GET", None, None),
        ("health", "GET", None, None),
    ],
)
def test_answers_with_cookies_never_allow_credentials(
    local_stack: LocalStack, path: str, method: str, body: bytes | None, content_type: str | None
) -> None:
    headers = {"Origin": ORIGIN, "Cookie": "session=secret"}
    if content_type:
        headers["Content-Type"] = content_type
    answer = call(local_stack.api_url + path, body, method=method, headers=headers)
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    assert "set-cookie" not in answer.headers


def _group(leader: int) -> set[int]:
    """The leader and every process in its process group (each stand-in leads its own)."""
    members = {leader}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == leader:  # pgrp
                members.add(int(entry.name))
    return members


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _bound(pid: int) -> dict[str, tuple[str, str, int]]:
    """Inode -> (protocol, local address, port) of every listening TCP and bound UDP socket
    in ``pid``'s network namespace."""
    found = {}
    for protocol, state in (
        ("tcp", LISTEN),
        ("tcp6", LISTEN),
        ("udp", UNCONNECTED),
        ("udp6", UNCONNECTED),
    ):
        table = Path(f"/proc/{pid}/net/{protocol}")
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state:
                address, port = fields[1].split(":")
                found[fields[9]] = (protocol, address, int(port, 16))
    return found


def test_the_stack_listens_on_127_0_0_1_only(local_stack: LocalStack) -> None:
    assert local_stack.stack is not None
    processes = local_stack.stack.processes
    assert {"moto", "runtime", "relay", "api", "web"} <= set(processes)
    listening: dict[str, set[int]] = {}
    for name, process in processes.items():
        assert process.pid is not None and process.running, name
        for pid in _group(process.pid):
            try:
                inodes = _socket_inodes(pid)
                bound = _bound(pid)
            except (FileNotFoundError, ProcessLookupError):
                continue  # a short-lived child that has exited meanwhile
            for inode in inodes & set(bound):
                protocol, address, port = bound[inode]
                loopback = address == LOOPBACK_V4 or address in LOOPBACK_V6
                assert loopback, f"{name} (pid {pid}) listens on {protocol} {address}:{port}"
                listening.setdefault(name, set()).add(port)
    ports = local_stack.stack.ports
    for name in ("moto", "runtime", "api", "web"):
        assert ports[name] in listening.get(name, set()), (name, listening)

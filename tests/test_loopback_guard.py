"""The suite's guard sees a socket bound or sent to off loopback (tests/conftest.py)."""

from __future__ import annotations

import socket

from tests import conftest


def test_a_wildcard_bind_is_caught() -> None:
    violations = conftest._watching[-1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))  # the point of the test; nothing is sent
    caught = list(violations)
    violations.clear()  # this test's own bind is the one allowed
    assert caught == ["socket.bind ('0.0.0.0', 0)"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
    assert not violations

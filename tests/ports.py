"""Free loopback ports for tests that must name theirs (discovery, fixed-port fleets)."""

from __future__ import annotations

import socket


def free_udp_ports(count: int) -> list[int]:
    """Distinct UDP ports free on loopback right now (the test binds them at once after)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def free_tcp_port(host: str) -> int:
    """A TCP port free on ``host`` (a loopback address) right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])

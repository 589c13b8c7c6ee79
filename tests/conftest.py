"""Fixtures shared by the test files."""
import socket

import pytest


@pytest.fixture
def no_network(monkeypatch):
    """Sockets may connect to this machine only: a test that reaches the internet fails."""
    real_connect = socket.socket.connect

    def local_only(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)

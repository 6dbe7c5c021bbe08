"""Helpers the benchmarks share; bench/ stays independent of tests/ so either can change alone."""

import socket


def free_port() -> int:
    # aiosmtpd's Controller(port=0) can't confirm its own start-up: pick the port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

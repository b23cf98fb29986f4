"""Network helpers shared by the tests and the benchmarks (``bench/`` imports them too).

Kept apart from ``smtpfake`` so that a benchmark can pick a port without
importing the test SMTP server's dependencies.
"""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""bench: the benchmark that needs no outside tool still runs (so it cannot rot unseen)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_build_bench_runs() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "build.py"), "--runs", "1"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "premailer share of the build" in result.stdout
    assert "load+check" in result.stdout


def _sink() -> tuple[subprocess.Popen, int]:
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "sink.py"), "--delay", "0.05"],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    return sink, int(sink.stdout.readline())


def test_scale_sink_counts_each_recipient_and_waits_before_each_final_dot() -> None:
    """bench/sink.py: the delay before the final dot's reply (the distant MTA the
    scale benchmark imitates), and a count per recipient that shows a duplicate,
    with pipelined commands and data whose end straddles two writes."""
    import json
    import signal
    import smtplib
    import socket
    import time

    sink, port = _sink()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            assert "pipelining" in client.esmtp_features
            started = time.perf_counter()
            client.sendmail("a@example.org", ["one@example.org"], b".a dot\r\n" + b"x" * 300_000)
            assert time.perf_counter() - started >= 0.05
            client.sendmail("a@example.org", ["One@example.org", "two@example.org"], b"hi")
            assert client.noop()[0] == client.rset()[0] == 250
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            replies = raw.makefile("rb")
            replies.readline()
            raw.sendall(b"EHLO me\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<three@example.org>"
                        b"\r\nDATA\r\nbody\r\n.\r")
            time.sleep(0.1)
            raw.sendall(b"\nQUIT\r\n")
            lines = [replies.readline() for _ in range(10)]
        assert lines[-2:] == [b"250 2.0.0 Ok: queued as 3\r\n", b"221 2.0.0 Bye\r\n"]
    finally:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=10)
    report = json.loads(out.splitlines()[-1])
    assert (report["messages"], report["recipients"], report["duplicated"]) == (3, 3, 1)
    assert report["duplicates"] == {"one@example.org": 2}
    assert report["connections"] == 2


def test_scale_bench_runs(postgres_server: object) -> None:
    """bench/scale.py at a tiny size, on both engines (the PostgreSQL server it needs
    is the one the postgres_server fixture checks for, or skips without)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"),
                             "--subscribers", "30", "--connections", "2", "--senders", "1"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "postgresql, 1 sender: 30 messages" in result.stdout
    assert "sqlite, 1 sender: 30 messages" in result.stdout
    assert "every subscriber exactly once in every run: yes" in result.stdout

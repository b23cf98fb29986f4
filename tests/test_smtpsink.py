"""tests/smtpsink.py: the loopback SMTP sink of the scale benchmark and of the tests of
many messages."""

from __future__ import annotations

import smtplib
import socket
import time

from .smtpsink import SmtpSink


def test_the_sink_counts_each_recipient_and_waits_before_each_final_dot() -> None:
    """The delay before the final dot's reply (the distant MTA the scale benchmark
    imitates), and a count per recipient that shows a duplicate, with pipelined
    commands and data whose end straddles two writes."""
    with SmtpSink(0.05) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
            client.ehlo()
            assert "pipelining" in client.esmtp_features
            started = time.perf_counter()
            client.sendmail("a@example.org", ["one@example.org"], b".a dot\r\n" + b"x" * 300_000)
            assert time.perf_counter() - started >= 0.05
            client.sendmail("a@example.org", ["One@example.org", "two@example.org"], b"hi")
            assert client.noop()[0] == client.rset()[0] == 250
        with socket.create_connection(("127.0.0.1", sink.port), timeout=10) as raw:
            replies = raw.makefile("rb")
            replies.readline()
            raw.sendall(b"EHLO me\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<three@example.org>"
                        b"\r\nDATA\r\nbody\r\n.\r")
            time.sleep(0.1)
            raw.sendall(b"\nQUIT\r\n")
            lines = [replies.readline() for _ in range(10)]
        assert lines[-2:] == [b"250 2.0.0 Ok: queued as 3\r\n", b"221 2.0.0 Bye\r\n"]
        report = sink.stop()
    assert (report["messages"], report["recipients"], report["duplicated"]) == (3, 3, 1)
    assert report["duplicates"] == {"one@example.org": 2}
    assert report["received"] == {"one@example.org": 2, "two@example.org": 1,
                                  "three@example.org": 1}
    assert report["connections"] == 2

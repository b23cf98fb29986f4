"""loop, the event-loop driver: one thread drives every SMTP connection, against awkward servers.

Besides the faults of ``test_send`` (which run through this engine too): a
server that answers nothing, replies that arrive a byte at a time and span
several lines, a server that reads slowly (writes taken in parts), a server
that hangs up on an idle connection, and the journal's rule of at most one
row in flight per connection at every commit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import infolettre.delivery.journal
from infolettre.delivery.send import send_campaign
from infolettre.delivery.transports import from_dsn
from infolettre.store import Store

from ..sending import edition, populate, sending_config
from ..smtpfake import FakeSmtp, Script, free_port


class RawSmtp:
    """A hand-written SMTP server: replies dribbled a byte at a time, multi-line.

    ``hang_up_after``: after that many messages on a connection, say 421 out of
    turn and close it (as a server does when a connection idles too long).
    ``slow``: read the data in small sips through a small window.
    """

    def __init__(self, hang_up_after: int | None = None, *, slow: bool = False) -> None:
        self.hang_up_after, self.slow = hang_up_after, slow
        self.port = free_port()
        self.listener = socket.socket()
        if slow:  # a small window, read a little at a time: the client's writes stall
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen()
        self.delivered: Counter[str] = Counter()
        self.connections = 0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def __enter__(self) -> RawSmtp:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.listener.close()

    def dsn(self, **options: object) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"security": "none", **options}.items())
        return f"smtp://127.0.0.1:{self.port}?{query}"

    def _accept(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _say(conn: socket.socket, text: str) -> None:
        for byte in text.encode():  # one byte per segment: the client must reassemble
            conn.sendall(bytes([byte]))

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._say(conn, "220-raw.example ESMTP\r\n220 ready\r\n")
            buffer, rcpt, carried = b"", "", 0
            while True:
                while b"\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                line, _, buffer = buffer.partition(b"\r\n")
                verb = line[:4].upper()
                if verb == b"EHLO":
                    self._say(conn, "250-raw.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    self._say(conn, "250 2.1.0 sender ok\r\n")
                elif verb == b"RCPT":
                    rcpt = line.decode().partition("<")[2].rstrip(">")
                    self._say(conn, "250 2.1.5 recipient ok\r\n")
                elif verb == b"DATA":
                    self._say(conn, "354 go ahead\r\n")
                    while b"\r\n.\r\n" not in buffer:
                        if self.slow:
                            time.sleep(0.0005)
                        chunk = conn.recv(2048 if self.slow else 65536)
                        if not chunk:
                            return
                        buffer += chunk
                    _, _, buffer = buffer.partition(b"\r\n.\r\n")
                    with self.lock:
                        self.delivered[rcpt] += 1
                    carried += 1
                    self._say(conn, "250-2.0.0 accepted\r\n250 2.0.0 Ok: queued as Q"
                              f"{carried}\r\n")
                    if self.hang_up_after and carried >= self.hang_up_after:
                        time.sleep(0.05)
                        self._say(conn, "421 4.4.2 raw.example idle timeout\r\n")
                        return
                elif verb == b"RSET":
                    self._say(conn, "250 ok\r\n")
                elif verb == b"QUIT":
                    self._say(conn, "221 bye\r\n")
                    return
                else:
                    self._say(conn, "502 5.5.2 what?\r\n")


def test_replies_a_byte_at_a_time_and_on_several_lines(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 12)
    with RawSmtp() as server:
        summary = send_campaign(edition(config), config, from_dsn(server.dsn(connections=3)))
    assert summary.counts["sent"] == 12
    assert server.delivered == dict.fromkeys(addresses, 1)
    with Store(config.db) as store:
        ids = [r[0] for r in store.conn.execute("SELECT provider_id FROM deliveries")]
    assert all(i.startswith("Q") for i in ids)  # "queued as" read from the last line


def test_a_slow_reader_gets_every_message_whole(tmp_path: Path, monkeypatch) -> None:
    """Writes that the socket takes in parts, waiting for it to be writable again."""
    import infolettre.delivery.transports.smtp as smtp_module

    real = smtp_module._connect

    def small_buffers(transport):
        smtp = real(transport)
        smtp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        return smtp

    monkeypatch.setattr(smtp_module, "_connect", small_buffers)
    config = sending_config(tmp_path)
    addresses = populate(config, 6)
    with RawSmtp(slow=True) as server:
        summary = send_campaign(edition(config), config, from_dsn(server.dsn(connections=2)))
    assert summary.counts["sent"] == 6
    assert server.delivered == dict.fromkeys(addresses, 1)


def test_a_server_hanging_up_on_idle_connections_loses_nothing(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 20)
    with RawSmtp(hang_up_after=3) as server:
        summary = send_campaign(edition(config), config,
                                from_dsn(server.dsn(connections=2)), retry_base=0.01)
    assert summary.counts["sent"] == 20
    assert server.delivered == dict.fromkeys(addresses, 1)
    assert server.connections >= 7


def test_no_answer_after_the_data_is_in_doubt_at_the_deadline(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 3)
    built = edition(config)
    with FakeSmtp(Script(data_delay=3.0)) as smtp:
        started = time.monotonic()
        summary = send_campaign(built, config,
                                from_dsn(smtp.dsn(connections=3, timeout=0.5)))
        elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert summary.counts["in_doubt"] == 3 and summary.counts["sent"] == 0
    assert {t[0] for t in summary.troubles} == set(addresses)
    assert all("no answer in 0.5 s" in t[3] for t in summary.troubles)


@pytest.mark.parametrize("connections", [1, 8])
def test_never_more_rows_in_flight_than_connections(tmp_path: Path, monkeypatch,
                                                    connections: int) -> None:
    config = sending_config(tmp_path)
    populate(config, 60)
    seen: list[int] = []
    real = infolettre.delivery.journal.Journal.finish_and_claim

    def spy(self, campaign_id, done, *args, **kwargs):
        claimed = real(self, campaign_id, done, *args, **kwargs)
        seen.append(self.counts(campaign_id)["in_flight"])
        return claimed

    monkeypatch.setattr(infolettre.delivery.journal.Journal, "finish_and_claim", spy)
    with FakeSmtp(Script(data_delay=0.002)) as smtp:
        summary = send_campaign(edition(config), config,
                                from_dsn(smtp.dsn(connections=connections)))
    assert summary.counts["sent"] == 60
    assert seen and max(seen) <= connections
    if connections > 1:  # outcomes of several connections shared commits (about 28)
        assert len(seen) < 45

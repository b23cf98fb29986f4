"""smtp: one client for campaigns and notices, its handshake, its framing.

The campaign's channels and the blocking session of proofs and notices run
the same ``SmtpClient``: against the same misbehaving server they reach the
same outcome in the same words. The handshake (STARTTLS, AUTH) is played
against a small scripted server that records what it heard.
"""

from __future__ import annotations

import base64
import selectors
import socket
import threading
import time
from collections.abc import Callable

import pytest

from infolettre.delivery.transports import Envelope, TransportError, from_dsn
from infolettre.delivery.transports.base import Channel, Outcome, Result
from infolettre.delivery.transports.smtpwire import ProtocolError, Replies

from ...smtpfake import FakeSmtp, Script

DATA = b"Subject: x\r\nTo: r@example.org\r\n\r\nhello\r\n"


def _envelope(recipient: str = "r@example.org") -> Envelope:
    return Envelope("bounces@example.org", recipient, DATA, dot_safe=True)


def _through_channel(channel: Channel, envelope: Envelope) -> Result:
    """What the event loop does with one channel: wait, advance, expire at the deadline."""
    channel.start(envelope)
    with selectors.DefaultSelector() as selector:
        selector.register(channel.fileno(), selectors.EVENT_READ)
        while True:
            result = channel.advance()
            if result is not None:
                channel.quit()
                return result
            if time.monotonic() >= channel.deadline:
                result = channel.expire()
                assert result is not None
                return result
            selector.modify(channel.fileno(), selectors.EVENT_READ
                            | (selectors.EVENT_WRITE if channel.wants_write else 0))
            selector.select(max(0.0, channel.deadline - time.monotonic()))


#: A fault of the server, and how every path must judge the message it hits.
FAULTS: dict[str, tuple[Callable[[], Script], dict[str, object], Outcome, str]] = {
    "dropped after the final dot": (
        lambda: Script(drop_after_data={"r@example.org"}), {}, Outcome.IN_DOUBT,
        "connection lost after the data: the server closed the connection"),
    "no answer to the final dot": (
        lambda: Script(data_delay=2.0), {"timeout": 0.4}, Outcome.IN_DOUBT,
        "connection lost after the data: no answer in 0.4 s"),
    "421 to MAIL": (lambda: Script(close_after=0), {}, Outcome.RETRY, "MAIL: 421"),
    "mailbox unknown": (lambda: Script(rcpt={"r@example.org": ["550 5.1.1 No such user"]}),
                        {}, Outcome.FAILED, "RCPT: 550 5.1.1 No such user"),
    "mailbox full": (lambda: Script(rcpt={"r@example.org": ["452 4.2.2 Full"]}), {},
                     Outcome.RETRY, "RCPT: 452 4.2.2 Full"),
}


@pytest.mark.parametrize("pipelining", [True, False])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_session_and_the_channel_judge_alike(fault: str, pipelining: bool) -> None:
    """Notices (the session) and campaigns (the channel): one client, one verdict, one text."""
    script, options, outcome, detail = FAULTS[fault]
    results = {}
    for path in ("session", "channel"):
        with FakeSmtp(script()) as smtp:
            smtp.handler.script.pipelining = pipelining
            transport = from_dsn(smtp.dsn(**options))
            if path == "session":
                session = transport.open()
                results[path] = session.send(_envelope())
                session.close()
            else:
                results[path] = _through_channel(transport.open_channel(), _envelope())
    assert results["session"] == results["channel"]
    assert results["session"].outcome is outcome
    assert results["session"].detail.startswith(detail)
    assert results["session"].bounce is (fault == "mailbox unknown")


class Scripted:
    """A hand-written SMTP server: the EHLO keywords and some replies given by the test.

    ``answers`` maps the start of a line (``STARTTLS``, ``AUTH LOGIN``) to the
    replies it gets, in turn; ``hang_up_after`` says 421 out of turn after
    that many messages on a connection, then closes it. ``heard`` keeps
    every line received, on every connection.
    """

    def __init__(self, keywords: tuple[str, ...] = ("PIPELINING",), *,
                 answers: dict[str, list[str]] | None = None,
                 hang_up_after: int | None = None) -> None:
        self.keywords, self.answers = keywords, answers or {}
        self.hang_up_after = hang_up_after
        self.heard: list[str] = []
        self.delivered = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def __enter__(self) -> Scripted:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()

    def dsn(self, user: str = "") -> str:
        return f"smtp://{user}127.0.0.1:{self.port}?security=none&timeout=5"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 scripted.example ESMTP\r\n")
            carried = 0
            for raw in lines:
                line = raw.decode().rstrip("\r\n")
                self.heard.append(line)
                verb = line.split(" ")[0].upper()
                scripted = [r for start, r in self.answers.items() if line.startswith(start) and r]
                if scripted:
                    conn.sendall(scripted[0].pop(0).encode() + b"\r\n")
                elif verb == "EHLO":
                    conn.sendall("".join(f"250-{k}\r\n" for k in ("scripted.example",
                                                                  *self.keywords[:-1]))
                                 .encode() + f"250 {self.keywords[-1]}\r\n".encode())
                elif verb == "DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    for body in lines:
                        if body == b".\r\n":
                            break
                    carried += 1
                    self.delivered += 1
                    conn.sendall(f"250 2.0.0 queued as S{self.delivered}\r\n".encode())
                    if self.hang_up_after and carried >= self.hang_up_after:
                        time.sleep(0.05)
                        conn.sendall(b"421 4.4.2 idle timeout\r\n")
                        return
                elif verb == "QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # MAIL, RCPT, RSET, and what the script leaves out
                    conn.sendall(b"250 ok\r\n")


def test_a_session_outlives_a_server_that_hangs_up_between_two_messages() -> None:
    """The session notices the 421 said out of turn, as the channel does, and reconnects."""
    with Scripted(hang_up_after=1) as server:
        session = from_dsn(server.dsn()).open()
        first = session.send(_envelope())
        time.sleep(0.3)  # the server says 421 and closes meanwhile
        second = session.send(_envelope())
        session.close()
    assert (first.outcome, second.outcome) == (Outcome.SENT, Outcome.SENT)
    assert (first.provider_id, second.provider_id) == ("S1", "S2")


def test_a_refused_starttls_stops_before_any_envelope() -> None:
    with Scripted(("PIPELINING", "STARTTLS"), answers={"STARTTLS": ["454 4.7.0 TLS not "
                                                                    "available"]}) as server:
        transport = from_dsn(f"smtp://127.0.0.1:{server.port}?security=starttls")
        with pytest.raises(TransportError, match="STARTTLS: 454"):
            transport.open()
    assert not any(line.startswith("MAIL") for line in server.heard)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@pytest.mark.parametrize(("offered", "said"), [
    ("AUTH PLAIN LOGIN", ["AUTH PLAIN " + _b64(b"\0u@x\0p:ss")]),
    ("AUTH LOGIN", ["AUTH LOGIN " + _b64(b"u@x"), _b64(b"p:ss")]),  # password on challenge
])
def test_login_with_the_mechanism_the_server_offers(offered: str, said: list[str]) -> None:
    answers = {"AUTH PLAIN": ["235 2.7.0 welcome"], "AUTH LOGIN": ["334 UGFzc3dvcmQ6"],
               _b64(b"p:ss"): ["235 2.7.0 welcome"]}
    with Scripted(("PIPELINING", offered), answers=answers) as server:
        session = from_dsn(server.dsn("u%40x:p%3Ass@")).open()
        assert session.send(_envelope()).outcome is Outcome.SENT
        session.close()
    assert server.heard[1:1 + len(said)] == said


def test_a_refused_login_names_the_user_and_the_reply() -> None:
    answers = {"AUTH": ["535 5.7.8 bad credentials"]}
    with Scripted(("AUTH PLAIN",), answers=answers) as server, \
            pytest.raises(TransportError, match=r"refused the login of u: 535 5\.7\.8"):
        from_dsn(server.dsn("u:p@")).open()


def test_replies_are_framed_whole_and_anything_else_is_refused() -> None:
    replies = Replies(b"250-first\r\n250-sec")
    assert replies.next() is None  # a reply is only whole with its last line
    replies.feed(b"ond\r\n250 third\r\n354 go")
    assert replies.next() == (250, ["first", "second", "third"])
    assert replies.next() is None
    replies.feed(b"\r\nhello\r\n")
    assert replies.next() == (354, ["go"])
    with pytest.raises(ProtocolError, match="not an SMTP reply"):
        replies.next()

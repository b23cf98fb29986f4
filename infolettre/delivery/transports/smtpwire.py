"""SMTP on the wire: reply framing, the opening handshake, commands, data, verdicts.

The one place where InfoLettre speaks SMTP (RFC 5321), shared by the
campaign's channels and the blocking session of proofs and notices (both
drive ``smtp_client.SmtpClient``, which holds the transaction's states):

- framing: ``Replies`` cuts a byte stream into replies (``250-…`` lines
  joined), refusing what is no SMTP reply;
- the handshake: ``handshake`` reads the greeting, says EHLO (HELO if
  refused), secures the connection (implicit TLS or STARTTLS, always
  verified) and logs in (CRAM-MD5, PLAIN or LOGIN, as offered);
- commands and data: MAIL, RCPT and DATA for an envelope whose addresses
  were checked (``check_paths``), the data CRLF-ended and dot-stuffed unless
  proven safe (``wire``);
- verdicts: ``judge_envelope`` and ``judge_end`` turn replies into outcomes.
"""

from __future__ import annotations

import base64
import hmac
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from ...errors import InfoLettreError
from .base import Envelope, Outcome, Result, TransportError

__all__ = ["Link", "ProtocolError", "Replies", "check_paths", "commands", "handshake",
           "judge_end", "judge_envelope", "wire"]

_QUEUED_RE = re.compile(r"queued as ([^\s]+)", re.IGNORECASE)
_ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
_LINE_END_RE = re.compile(rb"\r\n|\r|\n")
#: What no address in an SMTP command may hold: controls, blanks, and its own brackets.
_BAD_PATH_RE = re.compile("[\x00-\x20\x7f-\x9f\u2028\u2029<>]")


# -- framing ---------------------------------------------------------------------------

class ProtocolError(InfoLettreError):
    """The server wrote something that is no SMTP reply.

    Never reaches a user: the SMTP client records it as a lost connection.
    """


class Replies:
    """The replies in the bytes received so far, one at a time, each whole."""

    def __init__(self, data: bytes = b"") -> None:
        self.inbox = data  # received, not yet cut into replies
        self.lines: list[str] = []  # the lines of the reply being read

    def feed(self, chunk: bytes) -> None:
        self.inbox += chunk

    def next(self) -> tuple[int, list[str]] | None:
        """The next whole reply (its code, the text of each line), None until one is in."""
        while b"\n" in self.inbox:
            raw, _, self.inbox = self.inbox.partition(b"\n")
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if len(line) < 3 or not line[:3].isdigit():
                raise ProtocolError(f"not an SMTP reply: {line[:80]!r}")
            self.lines.append(line[4:].strip())
            if line[3:4] == "-":
                continue
            lines, self.lines = self.lines, []
            return int(line[:3]), lines
        return None


def text(lines: list[str]) -> str:
    """A reply's lines as one line of text, for people and the journal."""
    return " ".join(lines).strip()


# -- the handshake ---------------------------------------------------------------------

@dataclass
class Link:
    """A connection ready for transactions: its socket, what the server offers."""

    sock: socket.socket
    #: The EHLO keywords, upper case, with their parameters ("AUTH": ["PLAIN", "LOGIN"]).
    extensions: dict[str, list[str]] = field(default_factory=dict)
    #: Bytes the server sent after its EHLO reply (the client reads them first).
    pending: bytes = b""


class _Blocking:
    """Commands and replies on a blocking socket, for the handshake."""

    def __init__(self, sock: socket.socket, where: str) -> None:
        self.sock, self.where, self.replies = sock, where, Replies()

    def reply(self) -> tuple[int, list[str]]:
        while (reply := self.replies.next()) is None:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise TransportError(f"{self.where} failed to connect: the server closed "
                                     "the connection")
            self.replies.feed(chunk)
        return reply

    def command(self, line: str) -> tuple[int, list[str]]:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()


def _hello(talk: _Blocking, helo: str) -> dict[str, list[str]]:
    """EHLO (HELO when refused): the extensions the server offers."""
    code, lines = talk.command(f"EHLO {helo}")
    if code != 250:
        code, lines = talk.command(f"HELO {helo}")
        if code != 250:
            raise TransportError(f"{talk.where} refused HELO {helo}: {code} {text(lines)}")
        return {}
    extensions = {}
    for line in lines[1:]:
        words = line.split()
        if words:
            extensions[words[0].upper()] = words[1:]
    return extensions


def _cram_md5(user: str, password: str, challenge: str) -> str:
    digest = hmac.new(password.encode(), base64.b64decode(challenge), "md5").hexdigest()
    return base64.b64encode(f"{user} {digest}".encode()).decode()


def _login(talk: _Blocking, offered: list[str], user: str, password: str) -> None:
    """AUTH with the first offered mechanism that works: CRAM-MD5, PLAIN, then LOGIN."""
    def b64(value: str) -> str:
        return base64.b64encode(value.encode()).decode()

    steps: dict[str, Callable[[], tuple[int, list[str]]]] = {
        "CRAM-MD5": lambda: _answer(talk, "AUTH CRAM-MD5",
                                    lambda c: _cram_md5(user, password, c)),
        "PLAIN": lambda: talk.command("AUTH PLAIN " + b64(f"\0{user}\0{password}")),
        "LOGIN": lambda: _answer(talk, f"AUTH LOGIN {b64(user)}", lambda c: b64(password)),
    }
    mechanisms = [m for m in steps if m in {o.upper() for o in offered}]
    if not mechanisms:
        raise TransportError(f"{talk.where} failed to connect: no authentication method "
                             f"both sides know (the server offers {' '.join(offered) or 'none'})")
    for mechanism in mechanisms:
        code, lines = steps[mechanism]()
        if code in (235, 503):  # logged in (503: already)
            return
    raise TransportError(f"{talk.where} refused the login of {user}: {code} {text(lines)}")


def _answer(talk: _Blocking, command: str, respond: Callable[[str], str]
            ) -> tuple[int, list[str]]:
    """A command that the server may answer with a challenge (334), then the response."""
    code, lines = talk.command(command)
    if code == 334:
        return talk.command(respond(text(lines)))
    return code, lines


def handshake(host: str, port: int, *, security: str, helo: str, timeout: float,
              context: Callable[[], ssl.SSLContext], username: str = "",
              password: str = "") -> Link:
    """A connection that has said EHLO, secured and logged in as configured.

    ``security`` is "tls" (TLS from the first byte, port 465), "starttls"
    (refused when the server does not offer it) or "none". Every failure is a
    TransportError that says what to change.
    """
    where = f"{host}:{port}"
    sock: socket.socket | None = None
    try:
        sock = socket.create_connection((host, port), timeout)
        if security == "tls":
            sock = context().wrap_socket(sock, server_hostname=host)
        talk = _Blocking(sock, where)
        code, lines = talk.reply()
        if code != 220:
            raise TransportError(f"{where} failed to connect: {code} {text(lines)}")
        extensions = _hello(talk, helo)
        if security == "starttls":
            if "STARTTLS" not in extensions:
                raise TransportError(f"{where} does not offer STARTTLS; use "
                                     "?security=tls for port 465, or ?security=none "
                                     "for a trusted local relay")
            code, lines = talk.command("STARTTLS")
            if code != 220:
                raise TransportError(f"{where} refused STARTTLS: {code} {text(lines)}")
            # Whatever came before the handshake was not protected: it is dropped.
            sock = context().wrap_socket(sock, server_hostname=host)
            talk = _Blocking(sock, where)
            extensions = _hello(talk, helo)
        if username:
            _login(talk, extensions.get("AUTH", []), username, password)
    except TransportError:
        if sock is not None:
            sock.close()
        raise
    except ssl.SSLCertVerificationError as exc:
        if sock is not None:
            sock.close()
        raise TransportError(f"{where} failed TLS verification: {exc.verify_message}; "
                             "give its CA with ?cafile=PATH") from None
    except (OSError, ProtocolError, ValueError) as exc:  # ValueError: a challenge not base64
        if sock is not None:
            sock.close()
        raise TransportError(f"{where} failed to connect: {exc}") from None
    return Link(sock, extensions, talk.replies.inbox)


# -- commands and data -----------------------------------------------------------------

def check_paths(envelope: Envelope, smtputf8: bool) -> tuple[Result | None, str]:
    """Whether the envelope's addresses can be written in commands, and MAIL's option.

    (a FAILED result when they cannot; "" or " SMTPUTF8" otherwise). The sender
    is the configured bounce address: a bad one stops the campaign.
    """
    if _BAD_PATH_RE.search(envelope.sender) or not envelope.sender:
        raise TransportError(f"the envelope sender {envelope.sender!r} cannot be written in "
                             "an SMTP command; check bounce_address")
    if _BAD_PATH_RE.search(envelope.recipient) or "@" not in envelope.recipient:
        return Result(Outcome.FAILED, f"{envelope.recipient!r} cannot be written in an SMTP "
                      "command"), ""
    if envelope.smtputf8 or not (envelope.sender + envelope.recipient).isascii():
        if not smtputf8:
            return Result(Outcome.FAILED, f"{envelope.recipient}: an address outside ASCII "
                          "needs SMTPUTF8, which the server does not offer"), ""
        return None, " SMTPUTF8"
    return None, ""


def commands(envelope: Envelope, option: str) -> list[bytes]:
    """MAIL, RCPT and DATA for ``envelope`` (UTF-8 only with SMTPUTF8)."""
    return [f"MAIL FROM:<{envelope.sender}>{option}\r\n".encode(),
            f"RCPT TO:<{envelope.recipient}>\r\n".encode(), b"DATA\r\n"]


def wire(envelope: Envelope) -> bytes:
    """The message as it goes after DATA: CRLF-ended, and dot-stuffed unless proven safe.

    Data not proven safe has every line end made CRLF first: a lone LF or CR
    could otherwise end the data for a lenient server ("SMTP smuggling").
    """
    data = envelope.data
    if not envelope.dot_safe:
        data = _LINE_END_RE.sub(b"\r\n", data)
        if data.startswith(b"."):
            data = b"." + data
        data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


# -- verdicts --------------------------------------------------------------------------

def _address_problem(code: int, message: str) -> bool:
    """True when a 5xx after the data says the mailbox itself is bad (5.1.x, 5.2.1)."""
    m = _ENHANCED_RE.match(message)
    if m:
        return m.group(2) == "1" or (m.group(2), m.group(3)) == ("2", "1")
    return code in (550, 551, 553)


def _refusal(step: str, code: int, reply: str, *, bounce: bool) -> tuple[Result, str]:
    """A refused step's outcome, and what the connection needs next: "drop" or "rset"."""
    detail = f"{step}: {code} {reply}"
    if code == 421 or code < 0:
        return Result(Outcome.RETRY, detail), "drop"
    if 400 <= code < 500:
        return Result(Outcome.RETRY, detail), "rset"
    return Result(Outcome.FAILED, detail, bounce=bounce), "rset"


def judge_envelope(where: str, sender: str, mail: tuple[int, str], rcpt: tuple[int, str],
                   data: tuple[int, str]) -> tuple[Result, str] | None:
    """None when the server waits for the data (354); else the refusal and its action.

    Raises TransportError when the server at ``where`` refuses the sender
    itself: no message of the campaign can go.
    """
    code, reply = mail
    if code >= 500 and code != 503:
        raise TransportError(f"{where} refused the sender {sender}: {code} {reply}")
    if code != 250:
        return _refusal("MAIL", code, reply, bounce=False)
    if rcpt[0] not in (250, 251):
        return _refusal("RCPT", *rcpt, bounce=True)
    if data[0] != 354:
        return _refusal("DATA", *data, bounce=False)
    return None


def judge_end(code: int, reply: str) -> tuple[Result, str]:
    """The outcome of the reply to the final dot, and the connection's next action."""
    if code == 250:
        queued = _QUEUED_RE.search(reply)
        return Result(Outcome.SENT, f"250 {reply}",
                      provider_id=queued.group(1) if queued else ""), "ok"
    return _refusal("end of data", code, reply,
                    bounce=code >= 500 and _address_problem(code, reply))

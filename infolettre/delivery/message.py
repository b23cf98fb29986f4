"""MIME messages, assembled per recipient from parts prepared once per edition.

The edition's HTML and text are cut at their placeholders and each piece is
encoded (quoted-printable, CRLF) once. For a recipient, the only work left is
to encode the few personal values, join the pieces and write the headers:
string work, no rendering, no CSS inlining, no MIME library. Each value starts
and ends with a soft line break, so every line stays within RFC 2045's 76
characters whatever its length.

Every value is hostile until written: a header value loses its control
characters (:func:`header_text`), an address must be one (:func:`encode_address`,
IDNA for its domain), and the factory proves that its messages can follow an SMTP
DATA as they are (no line starting with '.', no CR or LF outside a CRLF pair):
the static pieces once per campaign, the few personal lines of each message.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import re
import time
from dataclasses import dataclass
from email import quoprimime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from ..audience import tokens
from ..config import Config
from ..edition import placeholders
from ..edition.ready import ReadyEdition
from ..errors import InfoLettreError
from ..words import CONTROL_CLASS

__all__ = ["UNSUBSCRIBE_PURPOSE", "AddressError", "DkimSigner", "MessageFactory", "Recipient",
           "dkim_signer", "encode_address", "header_text", "wire_safe"]

CRLF = b"\r\n"
UNSUBSCRIBE_PURPOSE = "unsubscribe"  # the purposes of subscription.UNSUBSCRIBE and
PREFERENCES_PURPOSE = "preferences"  # .PREFERENCES, repeated to keep this module light


class AddressError(InfoLettreError):
    """An address that cannot be written in a message or an SMTP command."""


#: Runs of control characters (``words.CONTROL_CLASS``: the ones check refuses).
_CONTROL_RE = re.compile(CONTROL_CLASS + "+")


def header_text(value: str) -> str:
    """``value`` fit for one header line: each run of control characters (CR, LF, NUL…)
    becomes one space, so that no value can end its header or start another."""
    return _CONTROL_RE.sub(" ", value).strip() if _CONTROL_RE.search(value) else value


#: What an address may not hold outside quotes: controls, blanks, and the characters
#: that delimit addresses in headers and commands.
_BAD_ADDRESS_RE = re.compile("[\x00-\x20\x7f-\x9f\u2028\u2029<>()\\[\\],;:\"\\\\]")


@functools.lru_cache(maxsize=4096)
def _idna_domain(domain: str) -> str:
    import idna  # IDNA 2008 with UTS #46 mapping (Python's own codec is IDNA 2003)

    return idna.encode(domain, uts46=True).decode("ascii")


def encode_address(address: str) -> tuple[str, bool]:
    """``address`` as it is written in headers and SMTP commands, and whether it needs
    SMTPUTF8 (RFC 6531) because its local part is not ASCII.

    The domain is written in IDNA A-labels (``exämple.com`` as
    ``xn--exmple-cua.com``), which every server and API takes. Raises
    AddressError, with the reason, for what cannot be an address.
    """
    local, _, domain = address.rpartition("@")
    if not local or not domain or "@" in local or _BAD_ADDRESS_RE.search(address):
        raise AddressError(f"{header_text(address)!r} is not an address that can be written "
                           "in a message")
    if address.isascii():
        return address, False
    if not domain.isascii():
        try:
            domain = _idna_domain(domain)
        except (UnicodeError, ValueError) as exc:  # idna.IDNAError is a UnicodeError
            raise AddressError(f"the domain of {address} is not a valid international "
                               f"domain name (IDNA): {exc}") from None
    return f"{local}@{domain}", not local.isascii()


def wire_safe(chunk: bytes) -> bool:
    """True when ``chunk``, placed at the start of a line, may follow an SMTP DATA as it is:
    no line of it starts with '.', and CR and LF only come as CRLF pairs.

    What :class:`MessageFactory` proves of its messages, so that SMTP sends them
    without dot-stuffing and nothing in them can end the data early.
    """
    pairs = chunk.count(b"\r\n")
    return (not chunk.startswith(b".") and b"\r\n." not in chunk
            and chunk.count(b"\r") == pairs and chunk.count(b"\n") == pairs)


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to."""

    id: int
    email: str
    name: str = ""


@dataclass(frozen=True)
class Content:
    """What every message of a campaign shares, for transports that are not SMTP.

    ``html`` and ``text`` still hold the ``%%placeholders%%`` of the personal values;
    an HTTP API either substitutes them itself (templating) or gets each message's
    filled copy.
    """

    campaign: str
    sender_name: str
    sender_email: str
    envelope_from: str
    reply_to: str
    subject: str
    html: str
    text: str
    lang: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Outgoing:
    """One recipient's message: personal values, and the whole MIME message on demand."""

    recipient: Recipient
    values: dict[str, str]
    message_id: str
    list_unsubscribe: str
    correlation: str
    factory: MessageFactory | None  # None for a service notice, sent through an API only
    #: The address as written on the wire (domain in IDNA), and whether it needs SMTPUTF8.
    address: str = ""
    smtputf8: bool = False

    def mime(self) -> bytes:
        """The complete message, as SMTP and the outbox send it."""
        if self.factory is None:
            raise ValueError("this message has no MIME form")
        return self.factory.build(self.recipient, outgoing=self)


def _no_leading_dots(encoded: bytes) -> bytes:
    """Write a '.' that starts a line as '=2E', so the message never needs dot-stuffing.

    SMTP doubles a line's leading dot on the wire; encoding it instead lets the
    transport send the prepared bytes as they are (and QP decodes it back).
    """
    encoded = encoded.replace(b"\r\n.", b"\r\n=2E")
    return b"=2E" + encoded[1:] if encoded.startswith(b".") else encoded


def _qp_piece(text: str) -> bytes:
    """Quoted-printable for a static piece; lines <= 73, so a soft break and a '=2E' fit."""
    latin = text.encode("utf-8").decode("latin-1")  # quoprimime works on byte values
    return _no_leading_dots(quoprimime.body_encode(latin, maxlinelen=73, eol="\r\n")
                            .encode("ascii"))


_PLAIN_URL_RE = re.compile(r"^[!-<>-~]+$")  # printable ASCII but '=': nothing to escape


def _qp_value(value: str) -> bytes:
    """Quoted-printable for a personal value, in lines of at most 76 characters."""
    if _PLAIN_URL_RE.match(value):  # the usual case: a URL, cut in lines of 73
        lines = [value[i:i + 73] for i in range(0, len(value), 73)]
        return _no_leading_dots("=\r\n".join(lines).encode("ascii"))
    out, line = [], ""
    for byte in value.encode("utf-8"):
        char = chr(byte)
        piece = char if 33 <= byte <= 126 and char != "=" else f"={byte:02X}"
        if len(line) + len(piece) > 72:
            out.append(line + "=")
            line = ""
        line += piece
    out.append(line)
    return _no_leading_dots("\r\n".join(out).encode("ascii"))


def _encoded_pieces(content: str) -> tuple[list[bytes], list[str]]:
    """A body part cut at its placeholders: its quoted-printable pieces, the names between."""
    pieces, names = placeholders.split(content.replace("\r\n", "\n").replace("\n", "\r\n"))
    return [_qp_piece(piece) for piece in pieces], names


def _header(name: str, value: str) -> bytes:
    """A header line, folded at spaces; non-ASCII text as RFC 2047 encoded words.

    Any value, however long and whatever it holds: control characters are
    blanked first (:func:`header_text`), so the line cannot be ended or split
    by its value.
    """
    value = header_text(value)
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}".encode("ascii")
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(maxlinelen=76)
    return f"{name}: {encoded}".replace("\n", "\r\n").encode("ascii")


_PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9 .'-]*$")


def _to_header(name: str, address: str) -> bytes:
    """``To: Name <address>``; names outside plain ASCII as one RFC 2047 base64 word.

    ``address`` is already encoded (:func:`encode_address`): ASCII, or UTF-8
    for an SMTPUTF8 local part (RFC 6532). Per recipient, so it avoids
    email.header's general (and slower) machinery for the usual short name; a
    long one still goes through it.
    """
    if not name:
        return f"To: {address}".encode()
    if _PLAIN_NAME_RE.match(name):
        quoted = f'"{name}"' if "." in name or "'" in name else name
        return f"To: {quoted} <{address}>".encode()
    name = header_text(name)
    encoded = base64.b64encode(name.encode("utf-8")).decode("ascii")
    if len(encoded) <= 60 or not address.isascii():
        return f"To: =?utf-8?b?{encoded}?= <{address}>".encode()
    return _header("To", formataddr((name, address), charset="utf-8"))


def _address(value: str) -> str:
    """A configured address (``Name <addr>``) for a header: name encoded, domain in IDNA."""
    name, address = parseaddr(header_text(value))
    with contextlib.suppress(AddressError):  # else as it is, blanked: `config check` says
        address = encode_address(address)[0]
    try:
        return formataddr((name, address), charset="utf-8")
    except UnicodeError:  # an address outside ASCII: the header encodes the whole text
        return header_text(value)


_ID_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]")


_WSP_RE = re.compile(rb"[ \t]+")
_WSP_EOL_RE = re.compile(rb"[ \t]+\r\n")
_FOLD_RE = re.compile(rb"\r\n(?=[ \t])")


def relaxed_body(chunk: bytes) -> bytes:
    """RFC 6376 "relaxed" body canonicalization of a chunk that starts and ends a line
    or sits between two non-blank bytes: no blank before a line end, runs of blanks as
    one space."""
    return _WSP_RE.sub(b" ", _WSP_EOL_RE.sub(b"\r\n", chunk))


def relaxed_header(line: bytes) -> tuple[bytes, bytes]:
    """A header line's lower-case name, and its RFC 6376 "relaxed" form (CRLF-ended)."""
    name, _, value = line.partition(b":")
    value = _WSP_RE.sub(b" ", _FOLD_RE.sub(b"", value)).strip(b" ")
    name = name.strip().lower()
    return name, name + b":" + value + CRLF


class DkimSigner:
    """DKIM signatures (RFC 6376: rsa-sha256, relaxed/relaxed) made for this factory's messages.

    Every message of a campaign is the same static pieces around a few personal
    values, so the pieces are canonicalized once and each message's body hash
    is one SHA-256 pass; RSA is OpenSSL's (``cryptography``). That is 0.3 ms a
    message, where signing the whole message with dkimpy took 9 ms (a pure
    Python RSA and a regular expression over 85 KB each time); dkimpy stays in
    the tests, to verify these signatures independently.

    The headers that matter to receivers are signed, the unsubscribe ones
    included; a name listed in ``h=`` without such a header in the message
    (Reply-To) stops anyone adding one.
    """

    HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to",
               b"mime-version", b"content-type", b"list-id", b"list-unsubscribe",
               b"list-unsubscribe-post")

    def __init__(self, domain: str, selector: str, key: bytes) -> None:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        try:
            private = serialization.load_pem_private_key(key, password=None)
        except (ValueError, TypeError) as exc:
            raise InfoLettreError(f"the DKIM key is not a PEM private key without a "
                                  f"password: {exc}") from None
        if not isinstance(private, rsa.RSAPrivateKey):
            raise InfoLettreError("the DKIM key must be an RSA key (rsa-sha256), not "
                                  f"{type(private).__name__}")
        if private.key_size < 1024:
            raise InfoLettreError(f"the DKIM key has {private.key_size} bits: receivers "
                                  "ignore keys under 1024 bits; use 2048")
        self._sign = lambda data: private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        self.domain, self.selector = domain, selector
        lines = [b""]
        for name in self.HEADERS:  # h= folded between names, never inside one
            if len(lines[-1]) + len(name) > 60:
                lines.append(b"")
            lines[-1] += (b":" if lines[-1] else b"") + name
        self.h = b":\r\n ".join(lines).decode()

    def header(self, headers: list[bytes], body_hash: bytes, when: int) -> bytes:
        """The DKIM-Signature header line (CRLF-ended) of a message.

        ``headers`` are the message's header lines (folded or not, no final
        CRLF); ``body_hash`` the SHA-256 of its relaxed body.
        """
        found: dict[bytes, list[bytes]] = {}
        for line in headers:
            name, canonical = relaxed_header(line)
            found.setdefault(name, []).append(canonical)
        signed = [found[name].pop() for name in self.HEADERS if found.get(name)]
        tags = (f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={self.domain};\r\n"
                f" s={self.selector}; t={when};\r\n"
                f" h={self.h};\r\n"
                f" bh={base64.b64encode(body_hash).decode()};\r\n b=").encode()
        signed.append(relaxed_header(tags)[1][:-2])  # the signature's own header, b= empty
        value = base64.b64encode(self._sign(b"".join(signed)))
        return tags + b"\r\n ".join(value[i:i + 72] for i in range(0, len(value), 72)) + CRLF

    def sign(self, message: bytes) -> bytes:
        """Any ``message`` (CRLF line ends) with its DKIM-Signature header first.

        For one-off messages (a subscription's confirmation): the whole body is
        canonicalized here, which a campaign's factory avoids.
        """
        head, _, body = message.partition(b"\r\n\r\n")
        if body and not body.endswith(CRLF):
            body += CRLF
        body = relaxed_body(body)
        while body.endswith(b"\r\n\r\n") or body == CRLF:  # no empty line at the end
            body = body[:-2]
        lines = re.split(rb"\r\n(?![ \t])", head)
        return self.header(lines, hashlib.sha256(body).digest(), int(time.time())) + message


def dkim_signer(config: Config) -> DkimSigner | None:
    """The DKIM signer of the configuration, or None when no key is configured."""
    key = config.secrets.get("INFOLETTRE_DKIM_KEY", "").encode()
    path = config.secrets.get("INFOLETTRE_DKIM_KEY_FILE")
    if path and not key:
        try:
            key = Path(path).read_bytes()
        except OSError as exc:
            raise InfoLettreError(f"INFOLETTRE_DKIM_KEY_FILE={path}: {exc.strerror}") from None
    if not key:
        return None
    if not (config.dkim_domain and config.dkim_selector):
        raise InfoLettreError("a DKIM key is set: give dkim_domain and dkim_selector in the "
                              "configuration")
    return DkimSigner(config.dkim_domain, config.dkim_selector, key)


class MessageFactory:
    """Builds the message of each recipient of one campaign (or of a proof)."""

    def __init__(self, edition: ReadyEdition, config: Config, campaign: str, secret: bytes,
                 *, dkim: DkimSigner | None = None, subject_prefix: str = "",
                 web_url: str | None = None) -> None:
        self.config, self.campaign, self.secret, self.dkim = config, campaign, secret, dkim
        self.edition = edition
        self.subject = header_text(subject_prefix + edition.subject)
        self.base = header_text(config.base_url).rstrip("/")
        domain = _address(config.sender_address).rpartition("@")[2].rstrip(">")
        self.domain = _ID_UNSAFE_RE.sub("-", domain) or "localhost"
        self.id_campaign = _ID_UNSAFE_RE.sub("-", campaign)  # the Message-ID's left part
        self.mailto = _address(config.unsubscribe_address)
        self.web_url_text = web_url or config.issue_url(edition.slug)
        self.web_url = _qp_value(self.web_url_text)
        digest = hashlib.sha256(f"{campaign}|{edition.html}".encode()).hexdigest()[:24]
        boundary = f"=_infolettre_{digest}"
        headers = [
            _header("From", _address(config.sender)),
            *([_header("Reply-To", _address(config.reply_to))] if config.reply_to else []),
            _header("Subject", self.subject),
            b"MIME-Version: 1.0",
            _header("List-Id", f"InfoLettre <{config.list_id}>"),
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            f"Content-Language: {edition.lang}".encode(),
            f'Content-Type: multipart/alternative; boundary="{boundary}"'.encode(),
        ]
        self.static_header_lines = headers
        self.static_headers = CRLF.join(headers) + CRLF
        self.statics, self.names = self._layout(edition, boundary)
        if not all(map(wire_safe, [self.static_headers, *self.statics])):
            raise InfoLettreError("internal error: the static parts of the message are not "
                                  "safe to send after an SMTP DATA; please report it")
        if dkim:  # canonical once: sound, as no personal value holds a blank
            self.canonical = [relaxed_body(static) for static in self.statics]
        self._date: tuple[dt.datetime | None, bytes] = (None, b"")

    @staticmethod
    def _layout(edition: ReadyEdition, boundary: str) -> tuple[list[bytes], list[str]]:
        """The body as static bytes around personal values: statics[0], names[0], …

        Each value stands on lines of its own (soft line breaks around it), so
        the statics are quoted-printable encoded once per campaign.
        """
        statics = [b"This is a multipart message in MIME format."]
        names: list[str] = []
        for kind, content in (("plain", edition.text), ("html", edition.html)):
            statics[-1] += (f"\r\n--{boundary}\r\nContent-Type: text/{kind}; charset=utf-8"
                            "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
            pieces, part_names = _encoded_pieces(content)
            statics[-1] += pieces[0]
            for name, piece in zip(part_names, pieces[1:], strict=True):
                statics[-1] += b"=\r\n"
                names.append(name)
                statics.append(b"=\r\n" + piece)
        statics[-1] += f"\r\n--{boundary}--\r\n".encode()
        return statics, names

    def content(self) -> Content:
        """The shared part of the campaign's messages (for API transports)."""
        name, address = parseaddr(_address(self.config.sender))
        return Content(
            campaign=self.campaign, sender_name=name, sender_email=address,
            envelope_from=self.config.envelope_from,
            reply_to=parseaddr(_address(self.config.reply_to))[1] if self.config.reply_to
            else "",
            subject=self.subject, html=self.edition.html, text=self.edition.text,
            lang=self.edition.lang,
            headers={"List-Id": header_text(f"InfoLettre <{self.config.list_id}>"),
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})

    def outgoing(self, recipient: Recipient) -> Outgoing:
        """A recipient's personal values, with the MIME message available on demand.

        Raises AddressError when the recipient's address cannot be written (the
        sender then marks that one row failed, and goes on).
        """
        address, smtputf8 = encode_address(recipient.email)
        urls = self.personal_urls(recipient)
        return Outgoing(recipient, {**urls, "web_url": self.web_url_text},
                        self.message_id(recipient), self.list_unsubscribe(urls["unsubscribe_url"]),
                        f"{self.campaign}:{recipient.id}", self, address, smtputf8)

    def list_unsubscribe(self, url: str) -> str:
        """The List-Unsubscribe value: the one-click URL, then a mailto: fallback."""
        token = url.rpartition("/")[2]  # base64url and digits: nothing to escape
        mailto = f"mailto:{self.mailto}?subject=unsubscribe%20{token}"
        return f"<{url}>, <{mailto}>"

    def message_id(self, recipient: Recipient) -> str:
        """Deterministic per campaign and subscriber: a re-send carries the same id."""
        digest = hashlib.sha256(f"{self.campaign}|{recipient.id}".encode()).hexdigest()[:16]
        return f"<{self.id_campaign}.{recipient.id}.{digest}@{self.domain}>"

    def unsubscribe_url(self, recipient: Recipient) -> str:
        """The one-click unsubscribe link of a subscriber."""
        token = tokens.sign(self.secret, UNSUBSCRIBE_PURPOSE, recipient.id, recipient.email)
        return f"{self.base}/unsubscribe/{token}"

    def personal_urls(self, recipient: Recipient) -> dict[str, str]:
        """The subscriber's own links: one-click unsubscribe and preferences."""
        token = tokens.sign(self.secret, PREFERENCES_PURPOSE, recipient.id, recipient.email)
        return {"unsubscribe_url": self.unsubscribe_url(recipient),
                "preferences_url": f"{self.base}/preferences/{token}"}

    def _date_header(self, when: dt.datetime | None) -> tuple[int, bytes]:
        """The Date header (formatted once per second, not once per message), and its time."""
        moment = when or dt.datetime.fromtimestamp(int(time.time()), dt.UTC)
        if self._date[0] != moment:
            self._date = (moment, f"Date: {format_datetime(moment)}".encode())
        return int(moment.timestamp()), self._date[1]

    def build(self, recipient: Recipient, when: dt.datetime | None = None, *,
              outgoing: Outgoing | None = None) -> bytes:
        """The complete message for ``recipient``, CRLF line ends, no line starting with '.'.

        ``outgoing`` brings the personal values already computed for this recipient.
        """
        o = outgoing or self.outgoing(recipient)
        values = {k: _qp_value(v) for k, v in o.values.items() if k != "web_url"}
        values["web_url"] = self.web_url
        personal = [values[name] for name in self.names]
        stamp, date = self._date_header(when)
        head = [_to_header(recipient.name, o.address or encode_address(recipient.email)[0]),
                date, f"Message-ID: {o.message_id}".encode(),
                f"List-Unsubscribe: {header_text(o.list_unsubscribe)}"
                .replace(", ", ",\r\n ").encode()]
        if not all(map(wire_safe, [*head, *personal])):  # the static parts: proved once
            raise InfoLettreError(f"the message to {header_text(recipient.email)!r} has a "
                                  "line that is not safe after an SMTP DATA")
        chunks = [CRLF.join(head), CRLF, self.static_headers, CRLF, self.statics[0]]
        for value, static in zip(personal, self.statics[1:], strict=True):
            chunks += (value, static)
        if self.dkim:
            body = hashlib.sha256(self.canonical[0])
            for value, static in zip(personal, self.canonical[1:], strict=True):
                body.update(value)
                body.update(static)
            signature = self.dkim.header(head + self.static_header_lines, body.digest(), stamp)
            if not wire_safe(signature):  # its domain and selector come from the settings
                raise InfoLettreError("the DKIM signature has a line that is not safe after "
                                      "an SMTP DATA: check dkim_domain and dkim_selector")
            chunks.insert(0, signature)
        return b"".join(chunks)

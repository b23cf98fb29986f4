"""A campaign's messages: personal values and headers around parts prepared once.

The edition's HTML and text are cut at their placeholders and assembled once
(:mod:`.mime`: quoted-printable pieces, CRLF, proven safe after an SMTP DATA);
for a recipient, the factory works out the personal values (links signed with
the subscriber's tokens, Message-ID, List-Unsubscribe), writes the few
personal header lines (:mod:`.headers`), joins the pieces and, with a key,
signs the message (:mod:`.dkim`). No rendering, no CSS inlining, no MIME
library per message.

The address, header and DKIM names that other modules import from here are
re-exported from the modules that define them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Protocol

from ..audience import links
from ..config import Config
from ..edition.ready import ReadyEdition
from ..errors import InfoLettreError
from .dkim import DkimSigner, relaxed_body
from .headers import (
    configured_address,
    configured_parts,
    encode_address,
    header,
    header_text,
    to_header,
)
from .mime import CRLF, alternative, join, qp_value, wire_safe

__all__ = ["Content", "MessageFactory", "MimeSource", "Outgoing", "Recipient"]



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
    #: What builds the whole message (a campaign's factory, a notice); None: no MIME form.
    factory: MimeSource | None
    #: The address as written on the wire (domain in IDNA), and whether it needs SMTPUTF8.
    address: str = ""
    smtputf8: bool = False

    def mime(self) -> bytes:
        """The complete message, as SMTP and the outbox send it."""
        if self.factory is None:
            raise ValueError("this message has no MIME form")
        return self.factory.build(self.recipient, outgoing=self)


class MimeSource(Protocol):
    """What makes the whole MIME message of an :class:`Outgoing` (SMTP and the outbox
    ask for it; API transports never do)."""

    def build(self, recipient: Recipient, when: dt.datetime | None = None, *,
              outgoing: Outgoing | None = None) -> bytes:
        """The complete message, CRLF line ends, proven :func:`~.mime.wire_safe`."""
        ...


_ID_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]")


class MessageFactory:
    """Builds the message of each recipient of one campaign (or of a proof)."""

    def __init__(self, edition: ReadyEdition, config: Config, campaign: str, secret: bytes,
                 *, dkim: DkimSigner | None = None, subject_prefix: str = "",
                 web_url: str | None = None) -> None:
        self.config, self.campaign, self.secret, self.dkim = config, campaign, secret, dkim
        self.edition = edition
        self.subject = header_text(subject_prefix + edition.subject)
        self.base = header_text(config.base_url).rstrip("/")
        domain = configured_address(config.sender_address).rpartition("@")[2].rstrip(">")
        self.domain = _ID_UNSAFE_RE.sub("-", domain) or "localhost"
        self.id_campaign = _ID_UNSAFE_RE.sub("-", campaign)  # the Message-ID's left part
        self.mailto = configured_address(config.unsubscribe_address)
        self.web_url_text = web_url or edition.url or config.issue_url(edition.slug)
        self.web_url = qp_value(self.web_url_text)
        digest = hashlib.sha256(f"{campaign}|{edition.html}".encode()).hexdigest()[:24]
        self.body = alternative((("plain", edition.text), ("html", edition.html)),
                                f"=_infolettre_{digest}")
        headers = [
            header("From", configured_address(config.sender)),
            *([header("Reply-To", configured_address(config.reply_to))]
              if config.reply_to else []),
            header("Subject", self.subject),
            b"MIME-Version: 1.0",
            header("List-Id", f"InfoLettre <{config.list_id}>"),
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            f"Content-Language: {edition.lang}".encode(),
            *self.body.headers,
        ]
        self.static_header_lines = headers
        self.static_headers = CRLF.join(headers) + CRLF
        self.statics, self.names = list(self.body.statics), list(self.body.names)
        if not all(map(wire_safe, [self.static_headers, *self.statics])):
            raise InfoLettreError("internal error: the static parts of the message are not "
                                  "safe to send after an SMTP DATA; please report it")
        if dkim:  # canonical once: sound, as no personal value holds a blank
            self.canonical = [relaxed_body(static) for static in self.statics]
        self._date: tuple[dt.datetime | None, bytes] = (None, b"")
        self._content: Content | None = None

    def content(self) -> Content:
        """The shared part of the edition's messages (for API transports).

        The same object at every call, so that a transport preparing it once
        (Postmark escapes the bodies once) sees that it has not changed.
        """
        if self._content is None:
            self._content = self._make_content()
        return self._content

    def _make_content(self) -> Content:
        name, address = configured_parts(self.config.sender)
        return Content(
            campaign=self.campaign, sender_name=name, sender_email=address,
            envelope_from=self.config.envelope_from,
            reply_to=configured_parts(self.config.reply_to)[1] if self.config.reply_to else "",
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
        mailto = links.unsubscribe_mailto(self.mailto, token)
        return f"<{url}>, <{mailto}>"

    def message_id(self, recipient: Recipient) -> str:
        """Deterministic per campaign and subscriber: a re-send carries the same id."""
        digest = hashlib.sha256(f"{self.campaign}|{recipient.id}".encode()).hexdigest()[:16]
        return f"<{self.id_campaign}.{recipient.id}.{digest}@{self.domain}>"

    def unsubscribe_url(self, recipient: Recipient) -> str:
        """The one-click unsubscribe link of a subscriber."""
        return links.signed_url(self.secret, self.base, links.UNSUBSCRIBE, recipient.id,
                                recipient.email)

    def personal_urls(self, recipient: Recipient) -> dict[str, str]:
        """The subscriber's own links: one-click unsubscribe and preferences."""
        return {"unsubscribe_url": self.unsubscribe_url(recipient),
                "preferences_url": links.signed_url(self.secret, self.base, links.PREFERENCES,
                                                    recipient.id, recipient.email)}

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
        values = {k: qp_value(v) for k, v in o.values.items() if k != "web_url"}
        values["web_url"] = self.web_url
        personal = [values[name] for name in self.names]
        stamp, date = self._date_header(when)
        head = [to_header(recipient.name, o.address or encode_address(recipient.email)[0]),
                date, f"Message-ID: {o.message_id}".encode(),
                f"List-Unsubscribe: {header_text(o.list_unsubscribe)}"
                .replace(", ", ",\r\n ").encode()]
        if not all(map(wire_safe, [*head, *personal])):  # the static parts: proved once
            raise InfoLettreError(f"the message to {header_text(recipient.email)!r} has a "
                                  "line that is not safe after an SMTP DATA")
        blocks = [CRLF.join(head) + CRLF, self.static_headers]
        if self.dkim:
            body = hashlib.sha256(self.canonical[0])
            for value, static in zip(personal, self.canonical[1:], strict=True):
                body.update(value)
                body.update(static)
            signature = self.dkim.header(head + self.static_header_lines, body.digest(), stamp)
            if not wire_safe(signature):  # its domain and selector come from the settings
                raise InfoLettreError("the DKIM signature has a line that is not safe after "
                                      "an SMTP DATA: check dkim_domain and dkim_selector")
            blocks.insert(0, signature)
        return join(blocks, self.body, personal)

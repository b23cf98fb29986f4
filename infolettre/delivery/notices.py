"""One-off service messages (the subscription confirmation), through any transport.

A notice is assembled like a campaign's messages (``headers`` and ``mime``:
the same header writer, quoted-printable encoder and SMTP-safety proof) and
handed to the transport the same way, as a batch of one: a MIME transport
builds it whole (``Outgoing.mime``), an HTTP API gets its content. Which one
a transport is, it says itself (``takes_mime``), whatever its batch size.

Signed with DKIM like the campaigns when a key is configured: a confirmation
goes to an address that has never heard from the list, where a signature
counts most.
"""

from __future__ import annotations

import datetime as dt
import html
from email.utils import formatdate, make_msgid

from ..config import Config
from ..errors import InfoLettreError
from .dkim import DkimSigner, dkim_signer
from .headers import (
    AddressError,
    configured_address,
    configured_parts,
    encode_address,
    header,
    header_text,
    to_header,
)
from .message import Content, Outgoing, Recipient
from .mime import CRLF, join, plain, wire_safe
from .transports.base import Outcome, Result, Transport

__all__ = ["Notice", "send_notice"]


class Notice:
    """A short plain-text message from the list to one address (no personal values)."""

    def __init__(self, config: Config, subject: str, text: str, lang: str, *,
                 dkim: DkimSigner | None = None, reply_to: str = "") -> None:
        self.config, self.dkim, self.reply_to = config, dkim, reply_to
        self.subject, self.text, self.lang = header_text(subject), text, header_text(lang)
        domain = config.sender_address.rpartition("@")[2] or "localhost"
        self.message_id = make_msgid("notice", domain)
        #: Its own "campaign": an idempotent API (Brevo) keys a request by campaign and
        #: recipients, and must not take the next notice for a repeat of this one.
        self.campaign = f"notice:{self.message_id.strip('<>')}"
        self.body = plain(text)

    def content(self) -> Content:
        """The notice as an HTTP API takes it: the text, and the same text as HTML."""
        name, address = configured_parts(self.config.sender)
        reply = configured_parts(self.reply_to)[1] if self.reply_to else ""
        return Content(self.campaign, name, address, self.config.envelope_from, reply, self.subject,
                       f"<pre>{html.escape(self.text)}</pre>", self.text, self.lang, {})

    def build(self, recipient: Recipient, when: dt.datetime | None = None, *,
              outgoing: Outgoing | None = None) -> bytes:
        """The whole message to ``recipient``, CRLF line ends, safe after an SMTP DATA."""
        address = outgoing.address if outgoing else encode_address(recipient.email)[0]
        moment = (when or dt.datetime.now(dt.UTC)).timestamp()
        head = [
            header("From", configured_address(self.config.sender)),
            *([header("Reply-To", configured_address(self.reply_to))] if self.reply_to else []),
            to_header(recipient.name, address),
            header("Subject", self.subject),
            f"Date: {formatdate(moment, localtime=False)}".encode(),
            f"Message-ID: {self.message_id}".encode(),
            b"Auto-Submitted: auto-generated",
            header("Content-Language", self.lang),
            b"MIME-Version: 1.0",
            *self.body.headers,
        ]
        message = join([CRLF.join(head) + CRLF], self.body, [])
        if self.dkim:
            message = self.dkim.sign(message)
        if not wire_safe(message):
            raise InfoLettreError(f"the notice to {header_text(recipient.email)!r} has a line "
                                  "that is not safe after an SMTP DATA")
        return message


def send_notice(config: Config, transport: Transport, to: str, subject: str,
                text: str, lang: str, *, reply_to: str = "") -> Result:
    """Send a short plain-text message to ``to`` (HTML too, for API transports), with
    replies going to ``reply_to`` when given (a configured address, as ``reply_to``).

    ``to`` comes from a public form: an address that cannot be written fails
    here (FAILED, with the reason), before anything is sent.
    """
    try:
        wire_to, smtputf8 = encode_address(to)
    except AddressError as exc:
        return Result(Outcome.FAILED, str(exc))
    notice = Notice(config, subject, text, lang,  # an API signs with its own keys
                    dkim=dkim_signer(config) if transport.takes_mime else None,
                    reply_to=reply_to)
    outgoing = Outgoing(Recipient(0, to), {}, notice.message_id, "", "notice", notice,
                        wire_to, smtputf8)
    session = transport.open()
    try:
        return session.send_batch(notice.content(), [outgoing])[0]
    finally:
        session.close()
        transport.close()

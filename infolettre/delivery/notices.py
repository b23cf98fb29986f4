"""One-off service messages (the subscription confirmation), through any transport.

Signed with DKIM like the campaigns when a key is configured: a confirmation
goes to an address that has never heard from the list, where a signature
counts most.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formatdate, make_msgid

from ..config import Config
from .message import AddressError, Content, Outgoing, Recipient, dkim_signer, encode_address
from .message import header_text as _one_line
from .transports.base import Envelope, Outcome, Result, Transport

__all__ = ["send_notice"]


def send_notice(config: Config, transport: Transport, to: str, subject: str,
                text: str, lang: str) -> Result:
    """Send a short plain-text message to ``to`` (HTML too, for API transports).

    ``to`` comes from a public form: an address that cannot be written fails
    here (FAILED, with the reason), before anything is sent.
    """
    try:
        wire_to, smtputf8 = encode_address(to)
    except AddressError as exc:
        return Result(Outcome.FAILED, str(exc))
    subject = _one_line(subject)
    domain = config.sender_address.rpartition("@")[2] or "localhost"
    signer = dkim_signer(config) if transport.batch_size == 1 else None
    session = transport.open()
    try:
        if transport.batch_size == 1:
            message = EmailMessage(policy=SMTPUTF8 if smtputf8 else SMTP)
            message["From"] = _one_line(config.sender)
            message["To"] = wire_to
            message["Subject"] = subject
            message["Date"] = formatdate(localtime=False)
            message["Message-ID"] = make_msgid("notice", domain)
            message["Auto-Submitted"] = "auto-generated"
            message["Content-Language"] = lang
            message.set_content(text)
            data = message.as_bytes()
            return session.send(Envelope(config.envelope_from, wire_to,
                                         signer.sign(data) if signer else data,
                                         smtputf8=smtputf8))
        name, address = config.sender.rpartition("<")[0].strip(), config.sender_address
        content = Content("notice", name, address, config.envelope_from, "", subject,
                          f"<pre>{html.escape(text)}</pre>", text, lang, {})
        outgoing = Outgoing(Recipient(0, to), {}, make_msgid("notice", domain), "",
                            "notice", None, wire_to, smtputf8)
        return session.send_batch(content, [outgoing])[0]
    finally:
        session.close()
        transport.close()

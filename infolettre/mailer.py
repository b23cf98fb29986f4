"""One-off service messages (the subscription confirmation), through any transport.

Signed with DKIM like the campaigns when a key is configured: a confirmation
goes to an address that has never heard from the list, where a signature
counts most.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from .config import Config
from .message import Content, Outgoing, Recipient, dkim_signer
from .transports.base import Envelope, Result, Transport

__all__ = ["send_notice"]


def send_notice(config: Config, transport: Transport, to: str, subject: str,
                text: str, lang: str) -> Result:
    """Send a short plain-text message to ``to`` (HTML too, for API transports)."""
    domain = config.sender_address.rpartition("@")[2] or "localhost"
    signer = dkim_signer(config) if transport.batch_size == 1 else None
    session = transport.open()
    try:
        if transport.batch_size == 1:
            message = EmailMessage(policy=SMTP)
            message["From"] = config.sender
            message["To"] = to
            message["Subject"] = subject
            message["Date"] = formatdate(localtime=False)
            message["Message-ID"] = make_msgid("notice", domain)
            message["Auto-Submitted"] = "auto-generated"
            message["Content-Language"] = lang
            message.set_content(text)
            data = message.as_bytes()
            return session.send(Envelope(config.envelope_from, to,
                                         signer.sign(data) if signer else data))
        name, address = config.sender.rpartition("<")[0].strip(), config.sender_address
        content = Content("notice", name, address, config.envelope_from, "", subject,
                          f"<pre>{html.escape(text)}</pre>", text, lang, {})
        outgoing = Outgoing(Recipient(0, to), {}, make_msgid("notice", domain), "",
                            "notice", None)
        return session.send_batch(content, [outgoing])[0]
    finally:
        session.close()
        transport.close()

"""Bounces and unsubscribe mails from an IMAP mailbox, for SMTP senders.

The envelope sender of every message is the bounce address; its mailbox
receives delivery status notifications (RFC 3464, and the odd formats of older
servers) and the mails of the List-Unsubscribe ``mailto:``. GNU Mailman's bounce
detectors (flufl.bounce) read the reports: a permanent failure marks the address
bounced, temporary ones do after three in a row. A mail whose subject is
``unsubscribe TOKEN`` with a valid token unsubscribes. Processed mails move to
another folder; the others stay for a person to read. Each report is applied
once, even if a crash left it in the inbox (its Message-ID is remembered).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from flufl.bounce import all_failures

from ..errors import InfoLettreError
from ..store import Store
from . import consent as sub
from .links import UNSUBSCRIBE, unsubscribe_mail_token

__all__ = ["BounceReport", "Mailbox", "classify", "process_mailbox", "process_messages"]


@dataclass(frozen=True)
class Mailbox:
    """Where the bounce mails are: an IMAP server over TLS."""

    host: str
    port: int
    user: str
    password: str
    cafile: Path | None = None


@dataclass
class BounceReport:
    """What a run did."""

    messages: int = 0
    hard: int = 0
    soft: int = 0
    unsubscribes: int = 0
    ignored: int = 0
    changes: list[str] = field(default_factory=list)


def classify(store: Store, message: Message) -> list[tuple[str, str]]:
    """(address, kind) pairs a mail reports: kind is hard, soft or unsubscribe."""
    token = unsubscribe_mail_token(str(message.get("Subject", "")))
    if token is not None:
        subscriber = sub.by_token(store, UNSUBSCRIBE, token)
        return [(subscriber.email, "unsubscribe")] if subscriber else []
    temporary, permanent = all_failures(message)
    found = [(a.decode("utf-8", "replace"), "hard") for a in sorted(permanent)]
    found += [(a.decode("utf-8", "replace"), "soft") for a in sorted(temporary - permanent)]
    return found


def process_messages(store: Store, messages: Iterable[tuple[str, bytes]]
                     ) -> tuple[BounceReport, list[str]]:
    """Apply every mail; the report, and the ids of the mails that were understood."""
    report, understood = BounceReport(), []
    for uid, raw in messages:
        report.messages += 1
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        found = classify(store, message)
        if not found:
            report.ignored += 1
            continue
        understood.append(uid)
        key = str(message.get("Message-ID", "")).strip() or f"uid:{uid}"
        with store.transaction():
            new = store.remember_bounce_mail(key)
        if not new:
            continue  # applied on an earlier run that could not move it
        subject = str(message.get("Subject", ""))[:80]
        for address, kind in found:
            if kind == "unsubscribe":
                report.unsubscribes += 1
                detail = "unsubscribe mail"
            else:
                report.hard += kind == "hard"
                report.soft += kind == "soft"
                detail = f"{kind} bounce mail: {subject}"
            status = sub.apply_report(store, address, kind, detail)
            if status:
                report.changes.append(f"{address}: {status}")
    return report, understood


def _check(result: tuple[str, list], what: str) -> list:
    if result[0] != "OK":
        raise InfoLettreError(f"IMAP {what} failed: {result[1]}")
    return result[1]


def process_mailbox(store: Store, mailbox: Mailbox, folder: str = "INBOX",
                    done_folder: str = "Processed") -> BounceReport:
    """Read ``folder`` over IMAPS, apply what the mails say, move them to ``done_folder``."""
    context = ssl.create_default_context(cafile=str(mailbox.cafile) if mailbox.cafile else None)
    where = f"{mailbox.host}:{mailbox.port}"
    try:
        imap = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=60)
    except ssl.SSLCertVerificationError as exc:
        raise InfoLettreError(f"{where} failed TLS verification: {exc.verify_message}") from None
    except OSError as exc:
        raise InfoLettreError(f"{where} failed to connect: {exc}") from None
    try:
        try:
            imap.login(mailbox.user, mailbox.password)
        except imaplib.IMAP4.error as exc:
            raise InfoLettreError(f"{where} refused the login of {mailbox.user}: {exc}") from None
        _check(imap.select(f'"{folder}"'), f"select {folder}")
        uids = _check(imap.uid("SEARCH", "ALL"), "search")[0].split()

        def fetch() -> Iterable[tuple[str, bytes]]:
            for uid in uids:
                data = _check(imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetch {uid!r}")
                raw = next((part[1] for part in data if isinstance(part, tuple)), b"")
                yield uid.decode(), raw

        report, understood = process_messages(store, fetch())
        if understood:
            imap.create(f'"{done_folder}"')  # fails harmlessly when it exists
            ids = ",".join(understood)
            _check(imap.uid("COPY", ids, f'"{done_folder}"'), f"copy to {done_folder}")
            _check(imap.uid("STORE", ids, "+FLAGS.SILENT", r"(\Deleted)"), "flag")
            _check(imap.expunge(), "expunge")
        return report
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()

"""Bounces and unsubscribe mails from an IMAP mailbox, for SMTP senders.

The envelope sender of every message is the bounce address; its mailbox
receives delivery status notifications (RFC 3464, and the odd formats of older
servers) and the mails of the List-Unsubscribe ``mailto:``. GNU Mailman's bounce
detectors (flufl.bounce) read the reports: a permanent failure marks the address
bounced, temporary ones do after three in a row. A mail whose subject is
``unsubscribe TOKEN`` with a valid token unsubscribes. Processed mails move to
another folder; the others stay for a person to read. Each report is applied
once, even if a crash left it in the inbox (its Message-ID is remembered). The
conversation with the server is ``mailbox``'s, shared with ``replies fetch``.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message

from flufl.bounce import all_failures

from ..store import Store
from . import consent as sub
from .links import UNSUBSCRIBE, unsubscribe_mail_token
from .mailbox import Mailbox, open_folder

__all__ = ["BounceReport", "Mailbox", "classify", "process_mailbox", "process_messages"]


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


def process_mailbox(store: Store, mailbox: Mailbox, folder: str = "INBOX",
                    done_folder: str = "Processed") -> BounceReport:
    """Read ``folder`` over IMAPS, apply what the mails say, move them to ``done_folder``."""
    with open_folder(mailbox, folder) as mails:
        report, understood = process_messages(store, mails.messages())
        mails.move([(understood, done_folder)])
        return report

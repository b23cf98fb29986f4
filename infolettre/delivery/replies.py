"""Replies to the call for contributions, read from an IMAP mailbox: each becomes an item.

The call's Reply-To is ``contribute_reply_to`` with the contact's link token in it
(:func:`.calls.reply_to_for`), so that a contact may simply answer the call with
their news. ``replies fetch`` reads that mailbox over IMAPS, as ``bounces fetch``
reads its own, through the same conversation with the server
(``audience.mailbox``). For each mail:

- the token is read from the address it was sent to (``Delivered-To``,
  ``X-Original-To``, ``To``, ``Cc``) and opened as the page opens a link
  (``open_link``): a mail without one, with a forged or expired one, is refused;
- its sender (``From``) must be the invited contact, whatever the case of the
  address; an automatic reply (an out-of-office notice) is refused too, as it is
  not news;
- its text (the plain part, else the HTML one converted to Markdown) loses the
  quoted history (``Le … a écrit :``, ``On … wrote:`` and the lines after, ``>``
  lines) and the signature (after ``-- ``); its subject without ``Re:``, ``TR:``…
  is the title; its first image attachment that decodes is re-encoded as the
  page's uploads are;
- the item is checked as the page's are (``check_submission``) and written by the
  page's writer (``write_item``) as ``status: submitted``; the contact is sent the
  page's confirmation, with their link to correct it.

A mail refused, or whose item fails the checks, is moved aside (``refused_folder``)
with the reason in the report, and nothing is written; an applied one is moved to
``done_folder``. A mail is applied once even if a crash left it in the inbox: its
Message-ID is remembered (in the store's table of mails already read, prefixed
``reply:``). Nothing is ever sent to the sender of a refused mail, who may be anyone;
the invited contact whose reply fails the checks is told what to change, with their page.

The image re-encoder is given by the caller: it is the submission page's
(``web.uploads.reencode``), a stage above this one.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path

from ..audience.invitations import contribute_url, open_link
from ..audience.mailbox import Mailbox, open_folder
from ..config import TOKEN_FIELD, Config
from ..content import i18n
from ..content.layout import NEWS_DIR, find_centres_file
from ..content.load import load_centres
from ..content.model import Centre
from ..content.submission import (
    Encoded,
    Submission,
    check_submission,
    news_dir,
    scratch_image,
    write_item,
)
from ..errors import InfoLettreError
from ..store import Invitation, Store
from .calls import issue_info
from .notices import send_notice
from .reply_text import attachments, body_text, title_of
from .transports.base import Outcome, Transport

__all__ = ["Encoded", "Refusal", "RepliesReport", "fetch_replies", "process_replies",
           "token_of"]


#: The re-encoder of untrusted images: raises ``ValueError`` for one it does not keep.
Reencode = Callable[[bytes], Encoded]


@dataclass(frozen=True)
class Refusal:
    """A mail not applied, and why (for the command's report)."""

    uid: str
    sender: str
    subject: str
    reason: str


@dataclass
class RepliesReport:
    """What a run did: the items written, the mails refused, and what else to know."""

    messages: int = 0
    applied: list[str] = field(default_factory=list)  # "issue/news/NAME.md (centre, email)"
    refused: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- the token, the sender, the subject -------------------------------------------

#: The headers that may name the address a mail was sent to, most trusted first.
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")
#: What a link token may be made of (``tokens``: digits, dots and base64url).
_TOKEN_CHARS = r"[0-9A-Za-z._-]{1,100}"


def token_of(message: EmailMessage, pattern: str) -> str | None:
    """The token in the address the mail was sent to, by ``contribute_reply_to``'s
    pattern (``infolettre+{token}@example.org``); the domain and the part before the
    token in any case, the token as it is."""
    address = parseaddr(pattern)[1] or pattern
    before, _, after = address.partition(TOKEN_FIELD)
    wanted = re.compile(re.escape(before) + f"({_TOKEN_CHARS})" + re.escape(after),
                        re.IGNORECASE | re.ASCII)
    for name in _RECIPIENT_HEADERS:
        values = [str(v) for v in message.get_all(name, [])]
        for _, candidate in getaddresses(values):
            found = wanted.fullmatch(candidate.strip())
            if found:
                return found.group(1)
    return None


def _automatic(message: EmailMessage) -> bool:
    """An out-of-office notice or another message no person wrote (RFC 3834)."""
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (submitted not in ("", "no") or precedence in ("auto_reply", "bulk", "junk")
            or message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None)


# --- the item ---------------------------------------------------------------------


def _centres(issue_dir: Path) -> dict[str, Centre] | None:
    """The directory of centres above the issue, as the checks read it."""
    found = find_centres_file(issue_dir)
    return load_centres(found, []) if found is not None else None




# --- the mails --------------------------------------------------------------------

def _said(problems: Mapping[str, Sequence[tuple[str, object]]]) -> str:
    """The checks' problems in one line, each with its field."""
    return "; ".join(f"{field or 'item'}: {message or 'missing'}"
                     for field, said in problems.items() for message, _ in said)


class _Refused(Exception):
    """The mail is not applied, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _invitation(store: Store, config: Config, message: EmailMessage, sender: str) -> Invitation:
    """The invitation the mail answers, from a sender allowed to answer it; or _Refused."""
    token = token_of(message, config.contribute_reply_to)
    if token is None:
        raise _Refused("no contribution token in the address it was sent to")
    opened = open_link(store, token)
    if opened.invitation is None:
        raise _Refused("the token's link has expired" if opened.expired
                       else "a forged or unknown token")
    inv = opened.invitation
    if sender.lower() != inv.email.lower():
        raise _Refused(f"sent by {sender or 'no address'}, not by the invited contact "
                       f"{inv.email} of {inv.centre}")
    if _automatic(message):
        raise _Refused("an automatic reply (Auto-Submitted, Precedence or X-Autoreply)")
    return inv


def _apply(store: Store, config: Config, transport: Transport, reencode: Reencode,
           uid: str, message: EmailMessage, raw_key: str, report: RepliesReport) -> None:
    """Make the mail an item, or raise _Refused; the confirmation follows."""
    sender = parseaddr(str(message.get("From", "")))[1]
    inv = _invitation(store, config, message, sender)
    news = news_dir(config, inv.issue)
    if news is None:
        raise _Refused(f"the issue {inv.issue} is no longer in {config.issues_dir}")
    info = issue_info(news.parent)
    title, body = title_of(str(message.get("Subject", ""))), body_text(message)
    image: Encoded | None = None
    for name, data in attachments(message):
        try:
            encoded = reencode(data)
        except ValueError as exc:
            report.notes.append(f"{uid}: attachment {name!r} not kept ({exc})")
            continue
        if image is None:
            image = encoded
        else:
            report.notes.append(f"{uid}: attachment {name!r} not kept (one image an item)")
    lang = inv.lang if inv.lang in i18n.languages() else info.lang
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    # A mail cannot say what its picture shows: the title stands for it until the
    # contact describes it on the page, where the confirmation leads.
    sub = Submission(centre=inv.centre, section="cdm", title=title, body=body,
                     contact_name=inv.name, contact_email=inv.email, lang=lang,
                     submitted_by=inv.email, submitted_at=now,
                     image=f"image.{image.suffix}" if image else "",
                     image_alt=title if image else "")
    with scratch_image(image) as path:
        problems = check_submission(sub, _centres(news.parent), info.lang, config, path)
    if problems:
        # The sender is the invited contact (token and address checked): they are told
        # what to change, and given their page, rather than left to wonder.
        t = i18n.catalogue(lang)
        send_notice(config, transport, inv.email, t("reply_failed_subject", issue=inv.issue),
                    t("reply_failed_text", problems="\n".join(
                        f"- {message}" for said in problems.values() for message, _ in said),
                      url=contribute_url(store, config.base_url, inv)), t.lang)
        raise _Refused(f"the item fails the checks: {_said(problems)}")
    with store.transaction():  # remembered only if the item is written
        if not store.remember_bounce_mail(raw_key):
            report.notes.append(f"{uid}: applied on an earlier run, moved to the done folder")
            return
        name = write_item(news, sub, image)
    report.applied.append(f"{inv.issue}/{NEWS_DIR}/{name} ({inv.centre}, {inv.email})")
    t = i18n.catalogue(inv.lang if inv.lang in i18n.languages() else "fr")
    result = send_notice(config, transport, inv.email,
                         t("contribute_mail_subject", issue=inv.issue),
                         t("contribute_mail_text", url=contribute_url(store, config.base_url, inv),
                           text=f"{title}\n\n{body}"), t.lang)
    if result.outcome not in (Outcome.SENT, Outcome.IN_DOUBT):
        report.notes.append(f"{uid}: the confirmation to {inv.email} was not sent: "
                            f"{result.outcome.value} {result.detail}".rstrip())


def process_replies(store: Store, config: Config, transport: Transport, reencode: Reencode,
                    messages: Iterable[tuple[str, bytes]]
                    ) -> tuple[RepliesReport, list[str], list[str]]:
    """Apply every mail; the report, and the ids of the mails applied and refused."""
    if not config.contribute_reply_to:
        raise InfoLettreError("set contribute_reply_to (such as "
                              '"infolettre+{token}@example.org"): without it the call\'s '
                              "replies carry no token to read")
    report, applied, refused = RepliesReport(), [], []
    for uid, raw in messages:
        report.messages += 1
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        key = str(message.get("Message-ID", "")).strip()
        key = "reply:" + (key or hashlib.sha256(raw).hexdigest())
        try:
            _apply(store, config, transport, reencode, uid, message, key, report)
        except _Refused as why:
            report.refused.append(Refusal(uid, parseaddr(str(message.get("From", "")))[1],
                                          " ".join(str(message.get("Subject", "")).split())[:80],
                                          why.reason))
            refused.append(uid)
            continue
        applied.append(uid)
    return report, applied, refused


def fetch_replies(store: Store, config: Config, transport: Transport, reencode: Reencode,
                  mailbox: Mailbox, folder: str = "INBOX", done_folder: str = "INBOX.done",
                  refused_folder: str = "INBOX.refused") -> RepliesReport:
    """Read ``folder`` over IMAPS (TLS verified, as ``bounces fetch``), apply its mails,
    move the applied ones to ``done_folder`` and the refused ones to ``refused_folder``
    (each created when missing)."""
    with open_folder(mailbox, folder) as mails:
        report, applied, refused = process_replies(store, config, transport, reencode,
                                                   mails.messages())
        mails.move([(applied, done_folder), (refused, refused_folder)])
        return report

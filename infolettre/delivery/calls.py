"""The call for contributions and its reminders: a mail to each contact of the centres.

``call`` invites every contact of every (or each named) centre of the directory
(``store.invite``: one row per issue, centre and address, the subject of the
contact's personal link) and mails them, in their language, that link, the deadline
and what a good item looks like. An invitation is marked sent once the transport
accepted its message, so that calling again reaches only the contacts added since,
and a message that failed is tried again. ``remind`` mails again the contacts of the
centres that have sent nothing yet, at most once a calendar day (UTC) each.

The messages are notices (:mod:`.notices`): built and sent as the subscription
confirmation is, through the configured transport. Their text is the theme's
``contribute-mail.txt.j2`` over the contact's catalogue; their Reply-To is
:func:`reply_to_for`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from .. import theme
from ..audience.invitations import GRACE_DAYS, contribute_token, contribute_url
from ..audience.links import CONTRIBUTE, token_url
from ..config import TOKEN_FIELD, Config
from ..content import i18n
from ..content.directory import read_centres
from ..content.layout import ISSUE_FILE, NEWS_DIR, find_centres_file, issue_slug, news_files
from ..content.load import centre_hint
from ..content.model import STATUSES, Centre
from ..content.source import read_front_matter
from ..errors import InfoLettreError, ProblemsFound
from ..store import Invitation, Store, normalise_email
from .notices import send_notice
from .transports.base import Outcome, Result, Transport

__all__ = ["TEMPLATE", "Call", "IssueInfo", "Mail", "Sent", "compose", "issue_info",
           "mail_lang", "plan_call", "plan_reminders", "reply_to_for", "send_call",
           "send_reminders", "submitted_centres"]

#: The theme's template of both messages (a ``templates_dir`` may override it).
TEMPLATE = "contribute-mail.txt.j2"
RETURNED_TEMPLATE = "returned-mail.txt.j2"

#: The language of a contact whose own and whose issue's have no catalogue.
LAST_RESORT = "fr"


@dataclass(frozen=True)
class IssueInfo:
    """What the messages say of the issue: its slug, language and date."""

    slug: str
    lang: str
    date: dt.date | None
    title: str


def issue_info(issue_dir: Path) -> IssueInfo:
    """The issue's slug, and the language and date its ``issue.md`` header gives."""
    path = issue_dir / ISSUE_FILE
    if not path.is_file():
        raise InfoLettreError(f"{path}: no {ISSUE_FILE} here: is {issue_dir} an issue folder?")
    data = read_front_matter(path).data
    lang = data.get("lang")
    day = data.get("date")
    title = data.get("title")
    return IssueInfo(issue_slug(issue_dir),
                     lang if isinstance(lang, str) and lang in i18n.languages() else LAST_RESORT,
                     day if isinstance(day, dt.date) else None,
                     title if isinstance(title, str) else "")


def mail_lang(contact_lang: str, issue_lang: str) -> str:
    """The contact's language if it has a catalogue, else the issue's, else French."""
    for lang in (contact_lang, issue_lang):
        if lang in i18n.languages():
            return lang
    return LAST_RESORT


def reply_to_for(config: Config, invitation: Invitation, store: Store) -> str:
    """Where a contact's reply to the call goes: ``contribute_reply_to`` with the
    token of the contact's link in it (the same token as the page's, so that
    ``replies fetch`` opens the invitation as the page does and the reply becomes the
    contact's submission); without that setting, the configured ``reply_to`` (empty:
    the sender)."""
    if not config.contribute_reply_to:
        return config.reply_to
    return config.contribute_reply_to.replace(TOKEN_FIELD, contribute_token(store, invitation))


@dataclass(frozen=True)
class Mail:
    """One message to one contact: the invitation it is for (None in a dry run, for a
    contact not invited yet)."""

    centre: Centre
    name: str
    email: str
    lang: str
    invitation: Invitation | None = None


@dataclass
class Call:
    """What a call or a reminder round is about to do."""

    issue: IssueInfo
    deadline: dt.date | None
    mails: list[Mail] = field(default_factory=list)
    #: Contacts already called (for ``call``) or reminded today (for ``remind``).
    already: list[Invitation] = field(default_factory=list)
    #: For ``remind``: the centres that have submitted, and contacts never called.
    submitted: set[str] = field(default_factory=set)
    not_called: int = 0


@dataclass
class Sent:
    """What a round of messages did: the mails accepted, and those that were not."""

    sent: list[Mail] = field(default_factory=list)
    failed: list[tuple[Mail, Result]] = field(default_factory=list)


def _centres(issue_dir: Path) -> dict[str, Centre]:
    """The directory of centres above the issue; its problems stop the call."""
    found = find_centres_file(issue_dir)
    if found is None:
        raise InfoLettreError(f"no cdms.yaml in {issue_dir} or above it: no centre to call")
    return read_centres(found)


def _chosen(centres: dict[str, Centre], slugs: Iterable[str]) -> list[Centre]:
    """The centres named (each once, in the directory's order), or all of them."""
    wanted = set(slugs)
    unknown = sorted(wanted - set(centres))
    if unknown:
        raise InfoLettreError(f"--centre {unknown[0]}: no such centre in cdms.yaml"
                              f"{centre_hint(unknown[0], centres)}")
    return [c for slug, c in centres.items() if not wanted or slug in wanted]


def plan_call(store: Store, issue_dir: Path, deadline: dt.date,
              slugs: Iterable[str] = ()) -> Call:
    """Who the call goes to: every contact of the chosen centres not called yet (a
    contact whose message failed is in again). Reads only; :func:`send_call` invites."""
    info = issue_info(issue_dir)
    known = {(i.centre, i.email): i for i in store.invitations(info.slug)}
    call = Call(info, deadline)
    for centre in _chosen(_centres(issue_dir), slugs):
        seen: set[str] = set()
        for contact in centre.contacts:
            email = normalise_email(contact.email)
            if email in seen:
                continue
            seen.add(email)
            invitation = known.get((centre.slug, email))
            if invitation is not None and invitation.sent_at:
                call.already.append(invitation)
            else:
                call.mails.append(Mail(centre, contact.name, contact.email,
                                       mail_lang(contact.lang, info.lang), invitation))
    return call


def compose(config: Config, info: IssueInfo, mail: Mail, deadline: dt.date, url: str, *,
            reminder: bool = False) -> tuple[str, str]:
    """The subject and text of the call (or reminder) to ``mail``'s contact, in their
    language: the link, the deadline and when the link stops working, what makes a
    good item. When replies become items (``contribute_reply_to``), the text says so,
    and that questions go to the editorial team's own address, not to the reply."""
    t = i18n.catalogue(mail.lang)
    editorial = (parseaddr(config.reply_to or config.sender)[1]
                 if config.contribute_reply_to else "")
    issue = t.issue_title(info.date) if info.date else info.title or info.slug
    values = {"issue": issue, "centre": mail.centre.name, "deadline": t.day(deadline)}
    subject = t("remind_mail_subject" if reminder else "call_mail_subject", **values)
    text = theme.environment(config.templates_dir).get_template(TEMPLATE).render(
        t=t, reminder=reminder, name=mail.name, url=url, editorial=editorial,
        expires=t.day(deadline + dt.timedelta(days=GRACE_DAYS)), **values)
    return subject, text


def link_of(store: Store, config: Config, mail: Mail) -> str:
    """The contact's personal link, or what it will look like before they are invited."""
    if mail.invitation is None:
        return token_url(config.base_url, CONTRIBUTE, "TOKEN")
    return contribute_url(store, config.base_url, mail.invitation)


def _deliver(store: Store, config: Config, transport: Transport, info: IssueInfo,
             mail: Mail, *, reminder: bool) -> Result:
    assert mail.invitation is not None
    deadline = dt.date.fromisoformat(mail.invitation.deadline)
    subject, text = compose(config, info, mail, deadline, link_of(store, config, mail),
                            reminder=reminder)
    return send_notice(config, transport, mail.email, subject, text, mail.lang,
                       reply_to=reply_to_for(config, mail.invitation, store))


def send_call(store: Store, config: Config, transport: Transport, call: Call) -> Sent:
    """Invite and mail each contact of ``call``; an invitation is marked sent as soon as
    the transport accepted its message, so that an interrupted call resumes."""
    if call.deadline is None:
        raise ValueError("a call needs its deadline")
    done = Sent()
    for mail in call.mails:
        with store.transaction():
            invitation = store.invite(call.issue.slug, mail.centre.slug, mail.email, mail.name,
                                      mail.lang, call.deadline.isoformat())
        invited = Mail(mail.centre, mail.name, mail.email, mail.lang, invitation)
        result = _deliver(store, config, transport, call.issue, invited, reminder=False)
        if result.outcome is Outcome.SENT:
            with store.transaction():
                store.mark_invited(invitation.id)
            done.sent.append(invited)
        else:
            done.failed.append((invited, result))
    return done


def submitted_centres(issue_dir: Path) -> set[str]:
    """The centres that have sent something for the issue: the ``cdm`` of each item of
    its ``news/`` whose header has a ``status`` (submitted, returned or approved; an
    item without one is the editorial team's own). A file that cannot be read is
    left to ``check``."""
    centres = set()
    for path in news_files(issue_dir / NEWS_DIR)[0]:
        try:
            data = read_front_matter(path).data
        except ProblemsFound:
            continue
        if data.get("status") in STATUSES and isinstance(data.get("cdm"), str):
            centres.add(data["cdm"])
    return centres


def plan_reminders(store: Store, issue_dir: Path, today: dt.date | None = None) -> Call:
    """Who gets a reminder: the contacts called for the issue, still in the directory,
    of centres that have submitted nothing, whose link still opens and who were not
    reminded on ``today`` (UTC) already."""
    today = today or dt.datetime.now(dt.UTC).date()
    info = issue_info(issue_dir)
    centres = _centres(issue_dir)
    call = Call(info, None, submitted=submitted_centres(issue_dir))
    invitations = {(i.centre, i.email): i for i in store.invitations(info.slug)}
    for slug, centre in centres.items():
        if slug in call.submitted:
            continue
        for contact in centre.contacts:
            invitation = invitations.get((slug, normalise_email(contact.email)))
            if invitation is None or not invitation.sent_at:
                call.not_called += 1
            elif (today > dt.date.fromisoformat(invitation.deadline)
                  + dt.timedelta(days=GRACE_DAYS)):
                continue  # the link no longer opens: nothing to remind of
            elif invitation.reminded_at and invitation.reminded_at[:10] == today.isoformat():
                call.already.append(invitation)
            else:
                call.mails.append(Mail(centre, invitation.name or contact.name, contact.email,
                                       mail_lang(invitation.lang, info.lang), invitation))
    return call


def send_reminders(store: Store, config: Config, transport: Transport, call: Call) -> Sent:
    """Mail each reminder of ``call``, marking each contact reminded once it is accepted."""
    done = Sent()
    for mail in call.mails:
        assert mail.invitation is not None
        result = _deliver(store, config, transport, call.issue, mail, reminder=True)
        if result.outcome is Outcome.SENT:
            with store.transaction():
                store.mark_reminded(mail.invitation.id)
            done.sent.append(mail)
        else:
            done.failed.append((mail, result))
    return done


def send_returned(store: Store, config: Config, transport: Transport, path: Path,
                  comment: str) -> Result | None:
    """Mail the editorial team's ``comment`` on the item at ``path`` to the contact who
    submitted it, with their link to correct it; None when no contributor is known
    (an item of the team's own, or one whose sender was never invited)."""
    header = read_front_matter(path).data
    who, centre = str(header.get("submitted_by") or ""), str(header.get("cdm") or "")
    invitation = next((i for i in store.invitations(issue_slug(path.parent.parent))
                       if i.centre == centre and i.email == normalise_email(who)), None)
    if invitation is None:
        return None
    info = issue_info(path.parent.parent)
    lang = mail_lang(invitation.lang, info.lang)
    t = i18n.catalogue(lang)
    title = str(header.get("title") or path.stem)
    subject = t("returned_mail_subject", title=title)
    text = theme.environment(config.templates_dir).get_template(RETURNED_TEMPLATE).render(
        t=t, name=invitation.name, title=title, comment=comment,
        url=contribute_url(store, config.base_url, invitation))
    return send_notice(config, transport, invitation.email, subject, text, lang,
                       reply_to=reply_to_for(config, invitation, store))

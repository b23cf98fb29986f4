"""What ``send`` and ``status`` tell people: audience, progress summary, troubles.

An issue of several editions is told edition by edition: who gets which (by
their language and the fallback chains), how many went in each language.
"""

from __future__ import annotations

from collections import Counter

from ..config import Config
from ..edition.ready import ReadyEdition
from ..store import Store
from ..words import counted
from .journal import Journal
from .message import MessageFactory, Recipient
from .send import Audience, Editions, SendSummary, as_editions, route
from .transports.base import Transport

__all__ = ["audience_size", "describe_dry_run", "describe_status", "describe_summary",
           "newcomers_line"]


def newcomers_line(count: int) -> str:
    """What ``send`` says of the subscribers a resumed campaign leaves out."""
    return (f"{counted(count, 'subscriber')} joined since this campaign started: "
            "send --include-new adds them")


def _campaign_newcomers(store: Store, issue: str) -> int | None:
    """How many subscribers joined since the campaign of ``issue`` started (None: no campaign)."""
    journal = Journal(store)
    campaign = journal.find(issue)
    return None if campaign is None else journal.newcomers(campaign)


def audience_size(config: Config, issue: str, audience: Audience,
                  include_new: bool = False) -> int:
    """How many messages a send would deliver now (the campaign's rows still to send,
    and with ``include_new`` the subscribers who joined since it started)."""
    with Store(config.db, config.secrets.get("INFOLETTRE_SECRET")) as store:
        campaign = Journal(store).find(issue)
        if campaign is None:
            return store.count("active", audience.lang, audience.centre)
        counts = Journal(store).counts(campaign.id)
        extra = Journal(store).newcomers(campaign) if include_new else 0
        return counts["pending"] + counts["retry"] + extra


def _langs(counts: Counter) -> str:
    """``2 en, 8 fr``: a count per language, in the order of the languages."""
    return ", ".join(f"{n} {lang}" for lang, n in sorted(counts.items()))


def describe_dry_run(editions: ReadyEdition | Editions, config: Config, audience: Audience,
                     transport: Transport) -> str:
    """The audience, by language and by edition, and the first message of each edition
    (headers + text)."""
    eds = as_editions(editions)
    source = next(iter(eds.values()))
    edition_of = route(eds, config)
    by_lang: Counter[str] = Counter()
    by_edition: dict[str, Counter[str]] = {lang: Counter() for lang in eds}
    first: dict[str, Recipient] = {}
    with Store(config.db, config.secrets.get("INFOLETTRE_SECRET")) as store:
        for s in store.select("active", audience.lang, audience.centre):
            by_lang[s.lang] += 1
            chosen = edition_of(s.lang)
            by_edition[chosen][s.lang] += 1
            first.setdefault(chosen, Recipient(s.id, s.email, s.name))
        secret = store.secret
        newcomers = _campaign_newcomers(store, source.slug)
    total = sum(by_lang.values())
    lines = [f"would send “{source.subject}” through {transport.describe()}",
             f"audience: {counted(total, 'active subscriber')}"
             + (f" ({_langs(by_lang)})" if by_lang else "")]
    if len(eds) > 1:
        for lang, edition in eds.items():
            n = sum(by_edition[lang].values())
            lines.append(f"edition {lang}: {counted(n, 'subscriber')}"
                         + (f" ({_langs(by_edition[lang])})" if n else "")
                         + f", “{edition.subject}”")
    if newcomers:
        lines.append(newcomers_line(newcomers))
    if not first:
        return "\n".join([*lines, "nobody to send to: import subscribers first"])
    import email  # parsing the message back is for --dry-run only
    import email.policy

    for lang, edition in eds.items():
        if lang not in first:
            continue
        recipient = first[lang]
        raw = MessageFactory(edition, config, source.slug, secret).build(recipient)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        what = f"first message of the edition {lang}" if len(eds) > 1 else "first message"
        lines += ["", f"{what} ({len(raw) / 1024:.1f} KB), to {recipient.email}:", ""]
        lines += [f"{k}: {v}" for k, v in message.items()]
        text = message.get_body(("plain",))
        lines += ["", text.get_content() if text else ""]
    return "\n".join(lines)


def _table(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in counts.items() if n)


def _editions(by_edition: dict[str, dict[str, int]]) -> list[str]:
    """A line per edition: its rows per state."""
    return [f"  edition {lang or '(not yet given)'}: {_table(counts)}"
            for lang, counts in by_edition.items()]


def _senders(journal: Journal, campaign_id: int) -> list[str]:
    """A line per sender that ran the campaign (several at once on PostgreSQL, or one
    run after another): its state and the rows it claimed, per state; a dead one's
    rows in flight are said to become in doubt at the next start."""
    by_worker = journal.worker_counts(campaign_id)
    lines = []
    for row, state in journal.senders(campaign_id):
        counts = by_worker.pop(row.id, {})
        lines.append(f"  sender {row.id} ({state}, started {row.started_at}): "
                     f"{_table(counts) or 'no rows'}")
        if state == "dead" and counts.get("in_flight"):
            lines.append(f"    it stopped with {counts['in_flight']} in flight: in doubt at "
                         "the next `infolettre send`")
    for worker, counts in by_worker.items():
        if worker:  # rows of a sender whose row is gone: say them, all the same
            lines.append(f"  sender {worker} (not recorded): {_table(counts)}")
    return lines


def _troubles(troubles: list[tuple[str, str, int, str]]) -> list[str]:
    return [f"  {state.replace('_', ' ')}: {email_} ({counted(attempts, 'attempt')}): {detail}"
            for email_, state, attempts, detail in troubles]


def describe_summary(summary: SendSummary, transport: Transport) -> str:
    """The end-of-run report."""
    done = sum(summary.this_run.values())
    rate = done / summary.seconds if summary.seconds else 0
    lines = []
    if summary.added:
        lines.append(f"{counted(summary.added, 'subscriber')} who joined "
                     "since this campaign started added to it")
    if summary.newcomers:
        lines.append(newcomers_line(summary.newcomers))
    if summary.recovered_in_doubt:
        n = summary.recovered_in_doubt
        lines.append(f"{counted(n, 'message')} {'was' if n == 1 else 'were'} in flight when "
                     "a sender stopped: now in doubt (--resend-in-doubt sends "
                     f"{'it' if n == 1 else 'them'} again)")
    calls = getattr(transport, "calls", None)
    requests = f", {calls} HTTP requests" if calls is not None else ""
    lines.append(f"campaign {summary.campaign}: this run {done} attempts in "
                 f"{summary.seconds:.1f} s ({rate:.0f}/s{requests}) through "
                 f"{transport.describe()}")
    if summary.sent_by_edition:
        lines.append(f"sent in this run, by language: {_langs(summary.sent_by_edition)}")
    lines.append(f"in all: {_table(summary.counts) or 'nobody to send to'}")
    if len(summary.by_edition) > 1:
        lines += _editions(summary.by_edition)
    if summary.counts.get("retry"):
        lines.append("some messages are waiting to be retried: run the same command again")
    lines += _troubles(summary.troubles)
    if summary.stopped:
        lines.append(f"stopped: {summary.stopped}")
    return "\n".join(lines)


def describe_status(store: Store, issue: str, config: Config) -> str:
    """A campaign's counts and every failed or in-doubt recipient with its reason."""
    journal = Journal(store)
    campaign = journal.find(issue)
    if campaign is None:
        return f"{issue}: not sent yet"
    counts = journal.counts(campaign.id)
    lines = [f"campaign {issue}: “{campaign.subject}”, audience "
             f"{campaign.audience or 'all active subscribers'}",
             f"{sum(counts.values())} recipients: {_table(counts)}"]
    by_edition = journal.edition_counts(campaign.id)
    if set(by_edition) - {""}:
        lines += _editions(by_edition)
    lines += _senders(journal, campaign.id)
    lines += _troubles(journal.troubles(campaign.id))
    if counts["in_doubt"]:
        lines.append("in doubt: the connection was lost after the message was sent; "
                     "`infolettre send --resend-in-doubt` sends these again")
    return "\n".join(lines)

"""What ``send`` and ``status`` tell people: audience, progress summary, troubles."""

from __future__ import annotations

from ..config import Config
from ..edition.ready import ReadyEdition
from ..store import Store
from .journal import Journal
from .message import MessageFactory, Recipient
from .send import Audience, SendSummary
from .transports.base import Transport

__all__ = ["audience_size", "describe_dry_run", "describe_status", "describe_summary",
           "newcomers_line"]


def newcomers_line(count: int) -> str:
    """What ``send`` says of the subscribers a resumed campaign leaves out."""
    return (f"{count} subscriber{'s' * (count != 1)} joined since this campaign started: "
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


def describe_dry_run(edition: ReadyEdition, config: Config, audience: Audience,
                     transport: Transport) -> str:
    """The audience, by language, and the first recipient's message (headers + text)."""
    with Store(config.db, config.secrets.get("INFOLETTRE_SECRET")) as store:
        by_lang: dict[str, int] = {}
        first = None
        for s in store.select("active", audience.lang, audience.centre):
            by_lang[s.lang] = by_lang.get(s.lang, 0) + 1
            first = first or s
        secret = store.secret
        newcomers = _campaign_newcomers(store, edition.slug)
    total = sum(by_lang.values())
    lines = [f"would send “{edition.subject}” through {transport.describe()}",
             f"audience: {total} active subscriber{'s' * (total != 1)}"
             + (" (" + ", ".join(f"{n} {lang}" for lang, n in sorted(by_lang.items())) + ")"
                if by_lang else "")]
    if newcomers:
        lines.append(newcomers_line(newcomers))
    if first is None:
        return "\n".join([*lines, "nobody to send to: import subscribers first"])
    factory = MessageFactory(edition, config, edition.slug, secret)
    raw = factory.build(Recipient(first.id, first.email, first.name))
    import email  # parsing the message back is for --dry-run only
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.default)
    lines += ["", f"first message ({len(raw) / 1024:.1f} KB), to {first.email}:", ""]
    lines += [f"{k}: {v}" for k, v in message.items()]
    text = message.get_body(("plain",))
    lines += ["", text.get_content() if text else ""]
    return "\n".join(lines)


def _table(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in counts.items() if n)


def _troubles(troubles: list[tuple[str, str, int, str]]) -> list[str]:
    return [f"  {state.replace('_', ' ')}: {email_} ({attempts} attempt"
            f"{'s' * (attempts != 1)}): {detail}" for email_, state, attempts, detail in troubles]


def describe_summary(summary: SendSummary, transport: Transport) -> str:
    """The end-of-run report."""
    done = sum(summary.this_run.values())
    rate = done / summary.seconds if summary.seconds else 0
    lines = []
    if summary.added:
        lines.append(f"{summary.added} subscriber{'s' * (summary.added != 1)} who joined "
                     "since this campaign started added to it")
    if summary.newcomers:
        lines.append(newcomers_line(summary.newcomers))
    if summary.recovered_in_doubt:
        lines.append(f"{summary.recovered_in_doubt} messages were in flight when a previous "
                     "run stopped: now in doubt (--resend-in-doubt sends them again)")
    calls = getattr(transport, "calls", None)
    requests = f", {calls} HTTP requests" if calls is not None else ""
    lines.append(f"campaign {summary.campaign}: this run {done} attempts in "
                 f"{summary.seconds:.1f} s ({rate:.0f}/s{requests}) through "
                 f"{transport.describe()}")
    lines.append(f"in all: {_table(summary.counts) or 'nobody to send to'}")
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
    lines += _troubles(journal.troubles(campaign.id))
    if counts["in_doubt"]:
        lines.append("in doubt: the connection was lost after the message was sent; "
                     "`infolettre send --resend-in-doubt` sends these again")
    return "\n".join(lines)

"""Commands that send and report: `send`, `status`, `config check`, `transports`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..content.layout import issue_slug
from ..errors import InfoLettreError
from ..words import counted
from .common import PathArg, load, open_store

# -- configuration and transports ----------------------------------------------------------

@click.group("config")
def config_group() -> None:
    """Inspect the configuration.

    \b
    Example:
      infolettre config check
    """


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the configuration and print it, secrets masked.

    \b
    Example:
      INFOLETTRE_TRANSPORT=smtp://relay.example.org:587 infolettre config check
    """
    import dataclasses

    from ..config import SECRET_VARS, PostgresURL
    from ..delivery.transports import from_dsn, mask

    config = load(ctx)
    transport = from_dsn(config.transport, config.secrets)
    click.echo(f"# from {config.source or 'the embedded defaults'}")
    for f in dataclasses.fields(config):
        if f.name in ("secrets", "source"):
            continue
        value = getattr(config, f.name)
        shown = (mask(value) if f.name == "transport"
                 else value.shown() if isinstance(value, PostgresURL) else value)
        click.echo(f"{f.name} = {str(shown)!r}")
    click.echo(f"# transport: {transport.describe()}")
    for var, what in SECRET_VARS.items():
        state = "set" if var in config.secrets else "not set"
        click.echo(f"# ${var}: {state} ({what})")


@click.command("transports")
def transports_cmd() -> None:
    """List the transports and what each needs.

    \b
    Example:
      infolettre transports
    """
    from ..delivery.transports import DESCRIPTIONS

    for name, (example, what) in DESCRIPTIONS.items():
        click.echo(f"{name:<10}{what}\n          {example}")


# -- sending -------------------------------------------------------------------------------

def _progress_bar() -> Any:
    """A progress callback drawing a bar with rate and ETA on a terminal, else None."""
    if not sys.stderr.isatty():
        return None
    import time

    state: dict[str, Any] = {"bar": None, "shown": 0, "started": time.monotonic()}

    def update(done: int, total: int, outcomes: Any) -> None:
        if total == 0:
            return
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label="sending", show_pos=True,
                                             show_eta=True, file=sys.stderr)
        bar = state["bar"]
        rate = done / max(time.monotonic() - state["started"], 1e-6)
        bar.label = f"sending ({rate:.0f}/s, {outcomes.get('retry', 0)} to retry)"
        bar.update(done - state["shown"])
        state["shown"] = done
        if done >= total:
            bar.render_finish()

    return update


def _check_test_addresses(addresses: tuple[str, ...]) -> None:
    """Refuse a --test ADDR that is not an address, as the list refuses one (exit 2)."""
    from ..delivery.headers import AddressError, encode_address
    from ..words import is_email

    for address in addresses:
        try:
            if not is_email(address):
                raise AddressError("")
            encode_address(address)
        except AddressError:
            raise InfoLettreError(f"--test {address!r}: not an email address; give one "
                                  "like moi@example.org") from None


def _check_images(edition: Any, config: Any, transport: Any, *, refuse: bool) -> None:
    """Say which images of ``edition`` do not answer 200 at their public address,
    and with ``refuse`` stop the send. An outbox is a local folder read before
    anything reaches a reader: it is not checked."""
    from ..delivery.preflight import broken_images
    from ..delivery.transports.outbox import OutboxTransport

    if isinstance(transport, OutboxTransport):
        return
    broken = broken_images(edition, config)
    for url, why in broken:
        click.echo(f"{'error' if refuse else 'warning'}: image not published: {url} ({why})",
                   err=True)
    if broken and refuse:
        raise InfoLettreError(
            f"{counted(len(broken), 'image')} of the issue "
            f"{'do' if len(broken) != 1 else 'does'} not answer at "
            f"{config.issue_url(edition.slug)}: publish the archive first, or pass "
            "--skip-image-check to send anyway")


def _warn(editions: dict[str, Any]) -> None:
    """Print the quality warnings of every edition, each once (named by edition when
    the issue has several)."""
    seen: set[str] = set()
    for lang, edition in editions.items():
        for warning in edition.warnings:
            if warning not in seen:
                seen.add(warning)
                where = f" ({lang})" if len(editions) > 1 else ""
                click.echo(f"warning{where}: {warning}", err=True)


def _proofs(editions: dict[str, Any], config: Any, transport: Any, addresses: list[str],
            lang: str | None) -> None:
    """Send the proofs of every edition, or of the one a subscriber of ``lang`` gets."""
    from ..delivery.send import route, send_proofs

    chosen = [route(editions, config)(lang)] if lang else list(editions)
    several = len(chosen) > 1
    for n, edition_lang in enumerate(chosen):
        results = send_proofs(editions[edition_lang], config, transport, addresses,
                              close=n == len(chosen) - 1,
                              tag=f"-{edition_lang}" if several else "")
        for address, result in results:
            where = f" ({edition_lang})" if several else ""
            click.echo(f"{address}{where}: {result.outcome.value} {result.detail}")


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--test", "tests", multiple=True, metavar="ADDR",
              help="Send proofs to ADDR (repeatable); no subscriber, no journal.")
@click.option("--dry-run", is_flag=True, help="Show the audience and one message; send nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option("--lang", default=None, help="Only subscribers of this language.")
@click.option("--centre", default=None, help="Only subscribers of this centre.")
@click.option("--transport", "dsn", default=None, help="Transport DSN (see `transports`).")
@click.option("--resend-in-doubt", is_flag=True,
              help="Send again the messages whose delivery is unknown.")
@click.option("--include-new", is_flag=True,
              help="Add to a campaign under way the subscribers who joined since it started.")
@click.option("--skip-image-check", is_flag=True,
              help="Send even if some images do not answer at their public address.")
@click.pass_context
def send(ctx: click.Context, issue_dir: Path, tests: tuple[str, ...], dry_run: bool,
         yes: bool, lang: str | None, centre: str | None, dsn: str | None,
         resend_in_doubt: bool, include_new: bool, skip_image_check: bool) -> None:
    """Send an issue to the active subscribers; run it again to continue.

    Refuses an issue that fails `check`. Each subscriber gets the edition of
    their language, or the first of its fallback chain the issue has, else the
    source language's; --test sends a proof of every edition (of the one for
    --lang when given). Each subscriber gets the issue at most once, in one
    edition: messages whose fate is unknown (connection lost after the data) are
    listed by `status` and sent again only with --resend-in-doubt. The audience
    is fixed when the campaign starts: a later run says how many subscribers
    joined since, and --include-new adds them (never anyone twice). Every image
    must answer at its public address (the archive published) before a
    campaign starts; a proof (--test) only warns.

    \b
    Example:
      infolettre send issues/2018-06 --test moi@example.org
      infolettre send issues/2018-06 --dry-run
      infolettre send issues/2018-06 --yes
    """
    import dataclasses

    from ..delivery.report import describe_dry_run, describe_summary
    from ..delivery.send import Audience, send_campaign
    from ..delivery.transports import from_dsn
    from ..edition.build import editions_to_send

    config = load(ctx)
    if dsn:
        config = dataclasses.replace(config, transport=dsn)
    _check_test_addresses(tests)
    editions = editions_to_send(issue_dir, config)
    edition = next(iter(editions.values()))  # the source language's
    _warn(editions)
    transport = from_dsn(config.transport, config.secrets)
    if tests:
        if not skip_image_check:
            _check_images(edition, config, transport, refuse=False)
        _proofs(editions, config, transport, list(tests), lang)
        return
    audience = Audience(lang, centre)
    if dry_run:
        click.echo(describe_dry_run(editions, config, audience, transport))
        return
    if not skip_image_check:
        _check_images(edition, config, transport, refuse=True)
    if not yes:
        if not sys.stdin.isatty():
            raise InfoLettreError("not a terminal: pass --yes to send without confirmation")
        from ..delivery.report import audience_size

        size = audience_size(config, edition.slug, audience, include_new)
        several = f" (editions {', '.join(editions)})" if len(editions) > 1 else ""
        click.confirm(f"Send “{edition.subject}”{several} to {size} subscribers through "
                      f"{transport.describe()}?", abort=True)
    summary = send_campaign(editions, config, transport, audience=audience,
                            resend_in_doubt=resend_in_doubt, include_new=include_new,
                            progress=_progress_bar())
    click.echo(describe_summary(summary, transport))
    if summary.stopped:  # the summary says why; stopping early is "any other error"
        ctx.exit(2)


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.pass_context
def status(ctx: click.Context, issue_dir: Path) -> None:
    """Show where the campaign of an issue stands, and every failed or in-doubt recipient.

    \b
    Example:
      infolettre status issues/2018-06
    """
    from ..delivery.report import describe_status

    config = load(ctx)
    with open_store(ctx) as store:
        click.echo(describe_status(store, issue_slug(issue_dir), config))

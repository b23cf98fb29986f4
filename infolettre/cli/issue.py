"""Commands on an issue's sources: `new-issue`, `new-item`, `check`, `build`, `preview`,
`proof` (what contributors and the editorial team run before anything is sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..content.layout import issue_slug
from ..content.model import SECTIONS
from ..errors import Problem, ProblemsFound, display_path
from ..messages import say
from .common import LangOption, PathArg, load, problems_json, speak, warn


@click.command()
@click.argument("path", type=PathArg)
@LangOption
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="json: one {file, line, column, code, severity, message} per finding.")
@click.pass_context
def check(ctx: click.Context, path: Path, lang: str | None, output: str) -> None:
    """Check an issue folder, or one file of it, and list every problem.

    Exit status 0 when publishable, 1 with one line per problem otherwise. Each
    message ends with its code ([E012]), explained in docs/contributeurs.md.

    \b
    Example:
      infolettre check issues/2018-06
      infolettre check issues/2018-06/news/charleroi-album-jeunesse.md --lang fr
      infolettre check issues/2018-06 --format json
    """
    from ..content.check import check_path
    from ..content.voice import language_for

    lang = speak(ctx, language_for(path, lang))
    warnings: list[Problem] = []
    problems = check_path(path, load(ctx), warnings)
    if output == "json":
        click.echo(problems_json(problems, warnings, lang))
        ctx.exit(1 if problems else 0)
    warn(warnings, lang)
    if problems:
        raise ProblemsFound(problems)
    click.echo(say("report.no-problem", path=display_path(path)).said_in(lang))


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--out", type=PathArg, default=None,
              help="Output folder (default: build/ISSUE).")
@click.option("--keep-placeholders", is_flag=True,
              help="Leave the per-recipient %%placeholders%% unfilled.")
@click.option("--include-submitted", is_flag=True,
              help="Show the contributions not approved yet too, marked (to review them).")
@click.option("--no-pdf", is_flag=True,
              help="Do not write the PDF edition (OUT/infolettre-ISSUE-LANG.pdf).")
@click.pass_context
def build(ctx: click.Context, issue_dir: Path, out: Path | None,
          keep_placeholders: bool, include_submitted: bool, no_pdf: bool) -> None:
    """Build the email (HTML and text), the web page and the PDF edition of an issue.

    Writes OUT/email.html (CSS inlined), OUT/email.txt, OUT/index.html and
    OUT/infolettre-ISSUE-LANG.pdf (A4, with WeasyPrint: pip install
    'infolettre[pdf]'); an issue of several editions, each in OUT/LANG/.

    \b
    Example:
      infolettre build issues/2018-06 --out build/2018-06
    """
    from ..edition.build import build_issue

    out = out or Path("build") / issue_slug(issue_dir)
    built = build_issue(issue_dir, out, load(ctx), keep_placeholders=keep_placeholders,
                        include_submitted=include_submitted, pdf=not no_pdf)
    for warning in built.warnings:
        click.echo(f"warning: {warning}", err=True)
    if built.pdf_missing:  # once, not per edition
        click.echo(f"note: no PDF written: {built.pdf_missing}; or --no-pdf", err=True)
    click.echo(f"built {display_path(issue_dir)} into {display_path(out)}/ "
               f"(email.html {built.html_bytes / 1024:.1f} KB)")
    if len(built.editions) > 1:  # one line per edition: where to look in each language
        for lang, folder in built.editions.items():
            click.echo(f"  {lang}: {display_path(folder)}/email.html, email.txt, index.html")
    else:
        for path in built.files[:3]:
            click.echo(f"  {display_path(path)}")
    for path in built.pdfs.values():
        click.echo(f"  {display_path(path)} ({path.stat().st_size / 1024:.0f} KB)")


@click.command("new-issue")
@click.option("--date", "date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Publication date (default: today); the folder is named YYYY-MM.")
@click.option("--issues-dir", type=PathArg, default=None,
              help="Folder of the issues (default: from the configuration).")
@click.pass_context
def new_issue_cmd(ctx: click.Context, date: Any, issues_dir: Path | None) -> None:
    """Create the next issue folder, carrying over the agenda still to come.

    The signature, editorial team, contact address and links are copied from
    the latest issue; so are the agenda entries dated after the new issue.

    \b
    Example:
      infolettre new-issue --date 2018-09-28
    """
    import datetime as dt

    from ..content.scaffold import new_issue

    config = load(ctx)
    day = date.date() if date else dt.date.today()
    folder = new_issue(issues_dir or config.issues_dir, day)
    click.echo(f"created {display_path(folder)}/: write the edito in "
               f"{display_path(folder / 'issue.md')}, then add news with "
               f"`infolettre new-item {display_path(folder)} --cdm SLUG`")


@click.command("new-item")
@click.argument("issue_dir", type=PathArg)
@click.option("--cdm", default=None, help="Slug of the centre (see issues/cdms.yaml).")
@click.option("--section", type=click.Choice(SECTIONS), default="cdm",
              show_default=True, help="News of a centre, or of the network.")
@click.option("--title", default=None,
              help="The item's title: written in the header, and names the file.")
@LangOption
@click.pass_context
def new_item_cmd(ctx: click.Context, issue_dir: Path, cdm: str | None, section: str,
                 title: str | None, lang: str | None) -> None:
    """Write a commented template for one news item, ready to fill in.

    \b
    Example:
      infolettre new-item issues/2018-06 --cdm charleroi
      infolettre new-item issues/2018-06 --cdm marseille --title "Forum des métiers"
      infolettre new-item issues/2018-06 --section reseau
    """
    from ..content.scaffold import new_item
    from ..content.voice import language_for

    lang = speak(ctx, language_for(issue_dir, lang))
    path = new_item(issue_dir, cdm, section, load(ctx).templates_dir, title=title)
    click.echo(say("report.item-written", path=display_path(path)).said_in(lang))


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port (0 picks a free one).")
@LangOption
@click.pass_context
def preview(ctx: click.Context, issue_dir: Path, host: str, port: int,
            lang: str | None) -> None:
    """Serve the issue locally; pages rebuild when its files change.

    \b
    Example:
      infolettre preview issues/2018-06      # then open http://127.0.0.1:8000/
    """
    from ..content.voice import language_for
    from ..edition.preview import serve_preview

    lang = speak(ctx, language_for(issue_dir, lang))

    def ready(url: str) -> None:
        click.echo(f"previewing {display_path(issue_dir)} at {url} (Ctrl-C stops)")

    try:
        serve_preview(issue_dir, load(ctx), host, port, ready, lang)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--out", type=PathArg, default=Path("build/proof"), show_default=True,
              help="Folder for the screenshots and proofs.html.")
@click.option("--width", "widths", type=click.IntRange(min=1), multiple=True,
              help="Viewport width in pixels of the plain views (repeatable; default: "
                   "600 and 375).")
@click.option("--lang", default=None,
              help="Proof the edition in this language (default: the source language's).")
@click.option("--all-editions", is_flag=True,
              help="Proof every edition, each into OUT/LANG/.")
@click.pass_context
def proof(ctx: click.Context, issue_dir: Path, out: Path, widths: tuple[int, ...],
          lang: str | None, all_editions: bool) -> None:
    """Screenshot the email as clients show it, with headless Chromium.

    Writes email-600.png and email-375.png (or one per --width), then the
    views of clients that change the email: email-375-nostyle.png (without
    its <style> block, as the Gmail apps show it for accounts other than
    Google's), email-dark.png (prefers-color-scheme: dark, 375 px) and
    email-noimages.png (images blocked, 600 px: alt texts and reserved sizes
    only), and proofs.html, which shows them side by side (open it from the
    folder). The source language's edition only, unless --lang names another
    or --all-editions takes every one (each into OUT/LANG/, one proofs.html).

    \b
    Example:
      infolettre proof issues/2018-06 --out build/proof
      infolettre proof issues/2018-06 --all-editions
    """
    from ..edition.proof import WIDTHS
    from ..edition.proof import proof as take

    if lang is not None and all_editions:
        raise click.UsageError("--lang and --all-editions: give one or the other")
    proofs = take(issue_dir, out, load(ctx), widths or WIDTHS, lang=lang,
                  all_editions=all_editions)
    for shot in proofs.shots:
        note = f" (page is {shot.page_width}px wide: it scrolls sideways)" \
            if shot.overflows else ""
        click.echo(f"{display_path(shot.path)}{note}")
    click.echo(display_path(proofs.sheet))

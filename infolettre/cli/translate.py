"""Commands for translators: `translations` (what each edition lacks) and
`new-translation` (a file ready to translate)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import display_path
from ..messages import LanguageName, say
from .common import LangOption, PathArg, load, speak


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--strict", is_flag=True,
              help="Exit with status 1 when any text is missing or stale.")
@LangOption
@click.pass_context
def translations(ctx: click.Context, issue_dir: Path, strict: bool, lang: str | None) -> None:
    """List, per edition, what is not translated yet and what changed since it was.

    Each text missing is named with its file; each translation made from an earlier
    version of its original (stale) with the `translated_from` to write once updated.

    \b
    Example:
      infolettre translations issues/2018-06
      infolettre translations issues/2018-06 --strict     # in CI: 1 if anything is left
    """
    from ..content.check import load_checked
    from ..content.editions import editions, report
    from ..content.voice import language_for
    from ..errors import ProblemsFound

    config = load(ctx)
    lang = speak(ctx, language_for(issue_dir, lang))
    loaded = load_checked(issue_dir, config)
    if loaded.issue is None:
        raise ProblemsFound(loaded.problems)
    issue = loaded.issue
    found = report(issue, config)

    def said(key: str, **values: object) -> str:
        return say(f"report.{key}", **values).said_in(lang)

    for edition in editions(issue, config):
        click.echo(said("edition", language=LanguageName(edition), lang=edition,
                        percent=found.percent(edition),
                        done=found.translated[edition], total=found.total[edition]))
        for m in (m for m in found.missing if m.lang == edition):
            where = f" → {display_path(m.translation)}" if m.translation else ""
            click.echo(f"  {display_path(m.path)}: " + said(
                "missing", what=m.what, shown=LanguageName(m.shown_in)) + where)
        for s in (s for s in found.stale if s.lang == edition):
            click.echo(f"  {display_path(s.path)}: " + said("stale", now=s.now))
        for path in (p for p in found.machine if p.name.endswith(f".{edition}.md")):
            click.echo(f"  {display_path(path)}: " + said("machine"))
    if strict and (found.missing or found.stale or found.machine):
        ctx.exit(1)


@click.command("new-translation")
@click.argument("path", type=PathArg)
@click.option("--lang", "target", required=True, help="The language to translate into.")
@click.option("--engine", default=None, metavar="libretranslate+URL",
              help="Draft the texts through a LibreTranslate server "
                   "(libretranslate+https://HOST?api_key_env=VAR); marked status: machine.")
@click.pass_context
def new_translation_cmd(ctx: click.Context, path: Path, target: str,
                        engine: str | None) -> None:
    """Write NAME.LANG.md beside a news item (or issue.md), ready to translate.

    The texts to translate are prefilled with the original's, which stays above each
    in a comment, with the `translated_from` that lets `translations` see later changes.

    \b
    Example:
      infolettre new-translation issues/2018-06/news/charleroi-album-jeunesse.md --lang en
      infolettre new-translation issues/2018-06/issue.md --lang es
      infolettre new-translation issues/2018-06/issue.md --lang es \\
          --engine "libretranslate+https://translate.example.org?api_key_env=LT_KEY"
    """
    from ..content.machine import engine as machine
    from ..content.scaffold import new_translation

    lang = speak(ctx, target if target in _langs() else "en")
    written = new_translation(path, target, machine(engine) if engine else None)
    click.echo(say("report.translation-written", path=display_path(written)).said_in(lang))


def _langs() -> tuple[str, ...]:
    from .. import messages

    return messages.languages()

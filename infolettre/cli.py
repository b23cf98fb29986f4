"""The ``infolettre`` command: parse arguments, call one library function, report.

This is the only module that prints for the user or chooses an exit status:
0 success, 1 problems found in the sources, 2 any other error (bad usage,
configuration, missing tool). Library errors arrive as InfoLettreError.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import Config, load_config
from .errors import InfoLettreError, ProblemsFound, display_path

PathArg = click.Path(path_type=Path)


def _report(problems: list) -> None:
    for problem in problems:
        click.echo(str(problem))
    files = len({p.path for p in problems})
    click.echo(f"{len(problems)} problem{'s' * (len(problems) != 1)} in {files} "
               f"file{'s' * (files != 1)}", err=True)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into a message and an exit status."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ProblemsFound as exc:
            _report(exc.problems)
            sys.exit(exc.exit_code)
        except InfoLettreError as exc:
            click.echo(f"infolettre: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("infolettre: interrupted", err=True)
            sys.exit(130)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=PathArg, default=None,
              help="Configuration file (default: $INFOLETTRE_CONFIG or ./infolettre.toml).")
@click.version_option(__version__, prog_name="infolettre")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Author, check, build and send the InfoLettre.

    \b
    Typical issue:
      infolettre new-issue                 # issues/YYYY-MM with the agenda carried over
      infolettre new-item issues/2018-06 --cdm charleroi
      infolettre check issues/2018-06      # every problem, as FILE:LINE: message
      infolettre build issues/2018-06 --out build/2018-06
      infolettre proof issues/2018-06 --out build/proof
    """
    ctx.obj = config_path


def _config(ctx: click.Context) -> Config:
    try:
        return load_config(ctx.find_root().obj)
    except InfoLettreError as exc:
        click.echo(f"infolettre: {exc}", err=True)
        sys.exit(exc.exit_code)


@cli.command()
@click.argument("path", type=PathArg)
@click.pass_context
@handles_errors
def check(ctx: click.Context, path: Path) -> None:
    """Check an issue folder, or one file of it, and list every problem.

    Exit status 0 when publishable, 1 with one line per problem otherwise.

    \b
    Example:
      infolettre check issues/2018-06
      infolettre check issues/2018-06/news/charleroi-album-jeunesse.md
    """
    from .check import check_path

    problems = check_path(path, _config(ctx))
    if problems:
        raise ProblemsFound(problems)
    click.echo(f"{display_path(path)}: no problem found")


@cli.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--out", type=PathArg, default=None,
              help="Output folder (default: build/ISSUE).")
@click.option("--keep-placeholders", is_flag=True,
              help="Leave the per-recipient %%placeholders%% unfilled.")
@click.pass_context
@handles_errors
def build(ctx: click.Context, issue_dir: Path, out: Path | None,
          keep_placeholders: bool) -> None:
    """Build the email (HTML and text) and the web page of an issue.

    Writes OUT/email.html (CSS inlined), OUT/email.txt and OUT/index.html.

    \b
    Example:
      infolettre build issues/2018-06 --out build/2018-06
    """
    from .build import build_issue

    out = out or Path("build") / issue_dir.resolve().name
    built = build_issue(issue_dir, out, _config(ctx), keep_placeholders=keep_placeholders)
    for warning in built.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"built {display_path(issue_dir)} into {display_path(out)}/ "
               f"(email.html {built.html_bytes / 1024:.1f} KB)")
    for path in built.files[:3]:
        click.echo(f"  {display_path(path)}")


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="infolettre")


if __name__ == "__main__":
    main()

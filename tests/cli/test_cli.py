"""cli: thin, documented, and errors become messages with exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from infolettre.cli import cli

from ..conftest import CORPUS, SAMPLE


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_is_documented_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"infolettre {path[0]}" in result.output


def test_check_exit_codes() -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["check", str(SAMPLE)])
    assert ok.exit_code == 0 and "aucun problème" in ok.output  # the issue is French
    ok = runner.invoke(cli, ["check", str(SAMPLE), "--lang", "en"])
    assert ok.exit_code == 0 and "no problem found" in ok.output
    bad = runner.invoke(cli, ["check", str(CORPUS / "bad-issue")])
    assert bad.exit_code == 1
    assert "8 problèmes dans 3 fichiers" in bad.output  # the corpus issue is French


def test_bad_configuration_is_a_message(tmp_path: Path) -> None:
    conf = tmp_path / "infolettre.toml"
    conf.write_text('base_ulr = "https://x.org"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(conf), "check", str(SAMPLE)])
    assert result.exit_code == 2
    assert "unknown setting 'base_ulr'; did you mean 'base_url'?" in result.output


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "infolettre", "build",
                             str(tmp_path / "missing"), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not an issue folder" in result.stdout


def test_a_database_failure_is_a_message(tmp_path: Path, monkeypatch) -> None:
    import sqlite3

    import infolettre.audience.lists

    def failing(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.setattr(infolettre.audience.lists, "add", failing)
    result = CliRunner().invoke(cli, ["subscribers", "add", "a@example.org"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # not 1: no source
    assert "the database failed: database or disk is full" in result.output

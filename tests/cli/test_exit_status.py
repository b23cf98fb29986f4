"""cli: every error ends in one message and the exit status the README documents.

0 done, 1 problems found in the sources, 2 any other error (the database among
them), 130 interrupted; never a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.errors import InfoLettreError, Problem, ProblemsFound
from infolettre.store import Store

from .test_send import _config_file, _run


def _damaged_database(folder: Path) -> Path:
    """A database InfoLettre made, whose pages after the first are overwritten.

    The header and the schema version still read, so the file opens; the first
    query of a table finds the damage (``database disk image is malformed``).
    """
    path = folder / "damaged.db"
    with Store(path):  # the schema: a page per table and index, after the header's
        pass
    data = bytearray(path.read_bytes())
    page = data[16] << 8 | data[17]
    data[page:] = b"\xab" * (len(data) - page)
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_database_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFOLETTRE_")}
    env["INFOLETTRE_DB"] = str(_damaged_database(tmp_path))
    result = subprocess.run([sys.executable, "-m", "infolettre", "subscribers", "list"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.startswith(f"infolettre: {tmp_path / 'damaged.db'}: cannot open the "
                                    "database: database disk image is malformed: restore it "
                                    "from a backup")
    assert len(result.stderr.splitlines()) == 1


def test_a_database_missing_a_table_exits_2(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "other.db"
    with Store(path) as store:  # at our schema version, but a table was dropped by hand
        store.conn.execute("DROP TABLE subscribers")
    monkeypatch.setenv("INFOLETTRE_DB", str(path))
    result = CliRunner().invoke(cli, ["subscribers", "list"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "infolettre: the database failed: no such table: subscribers" in result.stderr


def _group_raising(exc: BaseException) -> click.Group:
    """A group of the CLI's class with one command, bare of any decorator, raising ``exc``."""
    from infolettre.cli.common import ReportingGroup

    group = ReportingGroup("infolettre")

    @group.command()
    def fails() -> None:
        """Raise the error under test."""
        raise exc

    return group


@pytest.mark.parametrize(("exc", "status", "message"), [
    (ProblemsFound([Problem(Path("issue.md"), 3, "no subject")]), 1, "issue.md:3: no subject"),
    (InfoLettreError("no such issue"), 2, "infolettre: no such issue"),
    (sqlite3.OperationalError("disk I/O error"), 2, "the database failed: disk I/O error"),
    (KeyboardInterrupt(), 130, "infolettre: interrupted"),
], ids=["problems", "error", "database", "interrupt"])
def test_the_group_maps_each_error_once_for_every_command(exc: BaseException, status: int,
                                                          message: str) -> None:
    result = CliRunner().invoke(_group_raising(exc), ["fails"])
    assert result.exit_code == status and isinstance(result.exception, SystemExit)
    assert message in result.output and "Traceback" not in result.output


def test_an_error_of_a_subcommand_of_a_subgroup_is_mapped(tmp_path: Path) -> None:
    conf = tmp_path / "infolettre.toml"
    conf.write_text('base_ulr = "https://x.org"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "unknown setting 'base_ulr'" in result.stderr


def test_an_unexpected_error_is_not_disguised(monkeypatch) -> None:
    import infolettre.delivery.transports

    monkeypatch.setattr(infolettre.delivery.transports, "DESCRIPTIONS", None)
    result = CliRunner().invoke(cli, ["transports"])
    assert result.exit_code == 1 and not isinstance(result.exception, SystemExit)


def test_a_campaign_stopped_early_exits_2(sample: Path, tmp_path: Path, monkeypatch) -> None:
    import infolettre.delivery.send

    real = infolettre.delivery.send.send_campaign

    def stopping(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), stopped="the relay went away")

    monkeypatch.setattr(infolettre.delivery.send, "send_campaign", stopping)
    result = _run(_config_file(tmp_path), "send", str(sample), "--yes")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "stopped: the relay went away" in result.output

"""review: a contributed item's status, changed by one line, and who sent what."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.content.check import check_path, load_checked
from infolettre.content.review import approved_only, set_status
from infolettre.errors import InfoLettreError
from infolettre.store import Store

ITEM = """---
cdm: charleroi
title: Forum des métiers
contacts: [{name: Anne, email: anne@cdm.be}]
status: submitted
submitted_by: anne@cdm.be
submitted_at: "2019-03-12T10:00:00+00:00"
---
Le forum a lieu le 3 avril.
"""


def _submitted(sample: Path) -> Path:
    path = sample / "news" / "charleroi-forum.md"
    path.write_text(ITEM, encoding="utf-8")
    return path


def test_a_submitted_item_is_checked_but_not_published(sample: Path) -> None:
    path = _submitted(sample)
    warnings: list = []
    assert check_path(sample, Config(), warnings) == []
    [warning] = [w for w in warnings if w.code == "W009"]
    assert warning.path == path and "submitted by anne@cdm.be" in warning.message
    issue = load_checked(sample, Config()).issue
    assert issue is not None and path in [i.path for i in issue.news]
    assert path not in [i.path for i in approved_only(issue).news]
    assert len(approved_only(issue).news) == len(issue.news) - 1  # the team's own stay


def test_the_status_changes_by_its_line_alone(sample: Path) -> None:
    path = _submitted(sample)
    set_status(path, "returned", "Une photo ? Et l'horaire : 14 h.")
    text = path.read_text(encoding="utf-8")
    assert text == ITEM.replace("status: submitted", "status: returned").replace(
        '+00:00"\n---', "+00:00\"\nreview_comment: 'Une photo ? Et l''horaire : 14 h.'\n---")
    warnings: list = []
    assert check_path(path, Config(), warnings) == [] and warnings[0].code == "W010"
    set_status(path, "approved")
    assert path.read_text(encoding="utf-8") == ITEM.replace("status: submitted",
                                                            "status: approved")
    own = sample / "news" / "summit-cdm21-rouen.md"
    before = own.read_text(encoding="utf-8")
    set_status(own, "returned", "x")
    assert own.read_text(encoding="utf-8").split("---\n", 2)[2] == before.split("---\n", 2)[2]
    with pytest.raises(InfoLettreError, match="not a news item"):
        set_status(sample / "issue.md", "approved")


def test_the_commands(sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "db.sqlite"))
    path = _submitted(sample)
    with Store(tmp_path / "db.sqlite") as store, store.transaction():
        store.invite(sample.name, "charleroi", "anne@cdm.be", "Anne", "fr", "2019-03-20")
    runner = CliRunner()
    overview = runner.invoke(cli, ["contributions", str(sample)])
    assert overview.exit_code == 0, overview.output
    lines = overview.output.splitlines()
    at = lines.index("charleroi — Cité des métiers de Charleroi")
    assert any(f"[submitted] {path}: Forum des métiers" in line for line in lines[at:at + 6])
    assert "  nothing yet" in overview.output  # centres that sent nothing are listed
    assert runner.invoke(cli, ["return", str(path), "--comment", "Une photo ?"]).exit_code == 0
    assert "status: returned" in path.read_text(encoding="utf-8")
    result = runner.invoke(cli, ["approve", str(path)])
    assert result.exit_code == 0 and "approved" in result.output
    assert "status: approved" in path.read_text(encoding="utf-8")


def test_build_leaves_out_what_is_not_approved_unless_asked(sample: Path, tmp_path: Path,
                                                            config: Config) -> None:
    from infolettre.edition.build import build_issue, editions_to_send

    _submitted(sample)
    out = tmp_path / "out"
    build_issue(sample, out, config)
    assert "Forum des métiers" not in (out / "fr" / "email.html").read_text(encoding="utf-8")
    sent = editions_to_send(sample, config)
    assert all("Forum des métiers" not in e.html for e in sent.values())
    review = tmp_path / "review"
    build_issue(sample, review, config, include_submitted=True)
    html = (review / "fr" / "email.html").read_text(encoding="utf-8")
    assert "Forum des métiers" in html and "À relire" in html
    assert "[À relire" in (review / "fr" / "email.txt").read_text(encoding="utf-8")
    # what send finds in the cache is still the approved items only
    assert all("Forum des métiers" not in e.html
               for e in editions_to_send(sample, config).values())
    set_status(sample / "news" / "charleroi-forum.md", "approved")
    build_issue(sample, out, config)
    assert "Forum des métiers" in (out / "fr" / "email.html").read_text(encoding="utf-8")

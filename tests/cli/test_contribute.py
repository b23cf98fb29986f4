"""cli call/remind: what the editorial team sees when it asks the centres for their news."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.store import Store

from ..delivery.test_calls import DEADLINE, outbox, with_contacts
from ..sending import sending_config

DAY = DEADLINE.isoformat()


def _config_file(tmp_path: Path) -> Path:
    config = sending_config(tmp_path)
    path = tmp_path / "infolettre.toml"
    path.write_text(f'db = "{config.db}"\nsender = "{config.sender}"\n'
                    f'reply_to = "redaction@example.org"\ntransport = "{config.transport}"\n',
                    encoding="utf-8")
    return path


def _run(config_file: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args])


def _invitations(tmp_path: Path) -> list:
    with Store(tmp_path / "infolettre.db") as store:
        return store.invitations("2018-06")


def test_dry_run_lists_who_would_get_what_shows_one_message_and_sends_nothing(
        issues: Path, tmp_path: Path) -> None:
    with_contacts(issues)
    conf = _config_file(tmp_path)
    result = _run(conf, "call", str(issues / "2018-06"), "--deadline", DAY, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "charleroi\tBob Smith\tbob@cdm-charleroi.be\ten" in result.output
    assert "marseille\tDana\tdana@cdm-marseille.fr\tfr" in result.output
    assert "Reply-To: redaction@example.org" in result.output
    assert "Subject: InfoLettre — juin 2018 : les nouvelles" in result.output
    assert "/contribute/" in result.output
    assert "0 already invited, 4 would be invited now" in result.output
    assert not (tmp_path / "outbox").exists() and not _invitations(tmp_path)
    remind = _run(conf, "remind", str(issues / "2018-06"), "--dry-run")
    assert remind.exit_code == 0 and "4 contacts not called yet" in remind.output
    assert not (tmp_path / "outbox").exists()


def test_call_then_call_again_says_who_was_invited_before(issues: Path, tmp_path: Path) -> None:
    with_contacts(issues)
    conf = _config_file(tmp_path)
    sample = str(issues / "2018-06")
    first = _run(conf, "call", sample, "--deadline", DAY, "--yes")
    assert first.exit_code == 0, first.output
    assert "0 already invited, 4 invited now" in first.output
    with_contacts(issues, {"bruxelles": "[{name: Eve, email: eve@cdm.brussels}]"})
    again = _run(conf, "call", sample, "--deadline", DAY, "--yes")
    assert again.exit_code == 0 and "4 already invited, 1 invited now" in again.output
    twice = _run(conf, "call", sample, "--deadline", DAY, "--yes")
    assert "5 already invited, nobody new to invite" in twice.output
    assert len(outbox(tmp_path)) == 5


def test_centre_narrows_the_call(issues: Path, tmp_path: Path) -> None:
    with_contacts(issues)
    conf = _config_file(tmp_path)
    result = _run(conf, "call", str(issues / "2018-06"), "--deadline", DAY, "--yes",
                  "--centre", "charleroi")
    assert result.exit_code == 0 and "2 invited now" in result.output
    assert {i.centre for i in _invitations(tmp_path)} == {"charleroi"}
    unknown = _run(conf, "call", str(issues / "2018-06"), "--deadline", DAY, "--yes",
                   "--centre", "charleroy")
    assert unknown.exit_code == 2 and "charleroy" in unknown.output


def test_without_a_terminal_call_and_remind_want_yes(issues: Path, tmp_path: Path) -> None:
    with_contacts(issues)
    conf = _config_file(tmp_path)
    result = _run(conf, "call", str(issues / "2018-06"), "--deadline", DAY)
    assert result.exit_code == 2 and "pass --yes" in result.output
    assert not (tmp_path / "outbox").exists() and not _invitations(tmp_path)
    assert _run(conf, "call", str(issues / "2018-06"), "--deadline", DAY, "--yes").exit_code == 0
    remind = _run(conf, "remind", str(issues / "2018-06"))
    assert remind.exit_code == 2 and "pass --yes" in remind.output
    assert len(outbox(tmp_path)) == 4


def test_a_past_deadline_is_refused(issues: Path, tmp_path: Path) -> None:
    with_contacts(issues)
    past = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    result = _run(_config_file(tmp_path), "call", str(issues / "2018-06"), "--deadline", past,
                  "--yes")
    assert result.exit_code == 2 and "already past" in result.output
    assert not (tmp_path / "outbox").exists()


def test_remind_skips_the_centre_that_submitted_and_reminds_once_a_day(
        issues: Path, tmp_path: Path) -> None:
    with_contacts(issues)
    conf = _config_file(tmp_path)
    sample = issues / "2018-06"
    assert _run(conf, "call", str(sample), "--deadline", DAY, "--yes").exit_code == 0
    (sample / "news" / "marseille-forum.md").write_text(
        "---\ncdm: marseille\nsection: network\ntitle: Forum\nstatus: submitted\n---\nTexte.\n",
        encoding="utf-8")
    first = _run(conf, "remind", str(sample), "--yes")
    assert first.exit_code == 0, first.output
    assert "1 centre submitted, 0 reminded today already, 2 reminded now" in first.output
    reminded = outbox(tmp_path)[4:]
    assert sorted(m["To"] for m in reminded) == ["Anne@cdm-charleroi.be", "bob@cdm-charleroi.be"]
    again = _run(conf, "remind", str(sample), "--yes")
    assert "2 reminded today already, nobody to remind" in again.output
    assert len(outbox(tmp_path)) == 6

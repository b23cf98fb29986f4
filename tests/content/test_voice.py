"""voice: check, new-item and the preview speak the contributor's language."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.content.voice import language_for

from ..conftest import CORPUS

FR = {"LANG": "fr_FR.UTF-8"}


def _item(folder: Path, lang: str | None) -> Path:
    item = folder / "news" / "x.md"
    item.parent.mkdir(parents=True, exist_ok=True)
    header = f"lang: {lang}\n" if lang else ""
    item.write_text(f"---\n{header}title: T\n---\nTexte.\n", encoding="utf-8")
    return item


def test_asked_then_item_then_issue_then_locale_then_english(tmp_path: Path) -> None:
    issue = tmp_path / "2019-04"
    item = _item(issue, "pt-BR")
    assert language_for(item, "en", FR) == "en"
    assert language_for(item, None, FR) == ("pt" if "pt" in _langs() else "fr")
    _item(issue, None)
    assert language_for(item, None, FR) == "fr"  # no issue.md: the locale
    (issue / "issue.md").write_text("---\nlang: en\n---\nÉdito.\n", encoding="utf-8")
    assert language_for(item, None, FR) == "en"  # the issue's
    assert language_for(issue, None, FR) == "en"
    assert language_for(issue / "agenda.yaml", None, FR) == "en"
    assert language_for(issue / "issue.md", None, {}) == "en"
    (issue / "issue.md").write_text("---\nlang: [broken\n---\n", encoding="utf-8")
    assert language_for(issue, None, FR) == "fr"  # a broken header: checked, not read
    assert language_for(issue, None, {"LANG": "C"}) == "en"


def _langs() -> tuple[str, ...]:
    from infolettre import messages

    return messages.languages()


def test_an_item_in_english_is_checked_in_english_in_a_french_issue(tmp_path: Path) -> None:
    issue = tmp_path / "2019-04"
    (issue / "news").mkdir(parents=True)
    (issue / "issue.md").write_text("---\nlang: fr\ndate: 2019-04-01\n---\nÉdito.\n",
                                    encoding="utf-8")
    (issue.parent / "cdms.yaml").write_text("charleroi:\n  name: Cité des métiers\n",
                                            encoding="utf-8")
    item = issue / "news" / "en.md"
    item.write_text("---\nlang: en\ncdm: charleroy\ntitle: T\n"
                    "contacts: [{name: A, email: a@example.org}]\n---\nText.\n",
                    encoding="utf-8")
    alone = CliRunner().invoke(cli, ["check", str(item)])
    assert alone.exit_code == 1
    assert "unknown centre 'charleroy': did you mean 'charleroi'? [E012]" in alone.stdout
    assert alone.stderr.strip() == "1 problem in 1 file"
    whole = CliRunner().invoke(cli, ["check", str(issue)])  # the issue's language
    assert "Cité inconnue « charleroy » : vouliez-vous dire 'charleroi' ? [E012]" \
        in whole.stdout and whole.stderr.strip() == "1 problème dans 1 fichier"


def test_check_format_json_gives_each_finding_located_and_coded() -> None:
    result = CliRunner().invoke(cli, ["check", str(CORPUS / "many-broken"), "--format",
                                      "json", "--lang", "en"])
    assert result.exit_code == 1 and result.stderr == ""
    found = json.loads(result.stdout)
    assert {tuple(sorted(f)) for f in found} == {
        ("code", "column", "file", "line", "message", "severity")}
    unknown = next(f for f in found if f["code"] == "E012")
    assert unknown["file"].endswith("many-broken/news/centre-inconnu.md")
    assert (unknown["line"], unknown["column"]) == (2, 6)  # 'cdm: charleroy': the value
    assert unknown["message"] == "unknown centre 'charleroy': did you mean 'charleroi'?"
    assert all(f["severity"] == "error" and isinstance(f["line"], int) for f in found)
    assert [(f["file"], f["line"]) for f in found] == sorted(
        (f["file"], f["line"]) for f in found)
    ok = CliRunner().invoke(cli, ["check", str(CORPUS / "many-broken" / "news" /
                                               "correcte.md"), "--format", "json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout) == []

"""directory: cdms.yaml changed by command, its comments and order kept, never half-written."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.content.check import check_path
from infolettre.content.directory import add_centre, edit_centre, read_centres
from infolettre.errors import InfoLettreError, ProblemsFound


def test_a_contact_and_a_centre_are_added_and_nothing_else_changes(issues: Path) -> None:
    cdms = issues / "cdms.yaml"
    before = cdms.read_text(encoding="utf-8")
    edit_centre(cdms, "charleroi", add_contact=("Anne MARTIN", "anne@cdm.be", "fr"))
    add_centre(cdms, "lyon", name="Cité des métiers de Lyon", city="Lyon", country="FR")
    after = cdms.read_text(encoding="utf-8")
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    assert [line[2:] for line in diff if line.startswith("- ")] == []  # comments and all
    added = [line[2:] for line in difflib.ndiff(before.splitlines(), after.splitlines())
             if line.startswith("+ ")]
    assert added == ["  contacts:", "    - name: Anne MARTIN", "      email: anne@cdm.be",
                     "      lang: fr", "lyon:", "  name: Cité des métiers de Lyon",
                     "  city: Lyon", "  country: FR"]
    centres = read_centres(cdms)
    assert [(c.name, c.email, c.lang) for c in centres["charleroi"].contacts] == [
        ("Anne MARTIN", "anne@cdm.be", "fr")]
    assert list(centres)[-1] == "lyon"
    assert check_path(issues / "2018-06", Config()) == []
    edit_centre(cdms, "charleroi", remove_contact="ANNE@cdm.be")  # case does not matter
    lyon = "lyon:\n  name: Cité des métiers de Lyon\n  city: Lyon\n  country: FR\n"
    assert cdms.read_text(encoding="utf-8") == before + lyon


def test_a_change_that_would_break_the_file_writes_nothing(issues: Path) -> None:
    cdms = issues / "cdms.yaml"
    before = cdms.read_text(encoding="utf-8")
    with pytest.raises(ProblemsFound) as raised:
        edit_centre(cdms, "charleroi", website="pas une adresse")
    [problem] = raised.value.problems
    assert problem.path == cdms and problem.code == "E024"
    with pytest.raises(InfoLettreError, match="did you mean 'charleroi'"):
        edit_centre(cdms, "charlerio", city="X")
    with pytest.raises(InfoLettreError, match="in the directory already"):
        add_centre(cdms, "charleroi", name="X")
    with pytest.raises(InfoLettreError, match="not a valid slug"):
        add_centre(cdms, "Lyon Centre", name="X")
    edit_centre(cdms, "charleroi", add_contact=("A", "a@cdm.be", ""))
    with pytest.raises(InfoLettreError, match="a contact of charleroi already"):
        edit_centre(cdms, "charleroi", add_contact=("B", "A@cdm.be", ""))
    with pytest.raises(InfoLettreError, match="not a contact of charleroi"):
        edit_centre(cdms, "charleroi", remove_contact="z@cdm.be")
    edit_centre(cdms, "charleroi", remove_contact="a@cdm.be")
    assert cdms.read_text(encoding="utf-8") == before


def test_check_validates_the_contacts_like_any_address(issues: Path) -> None:
    cdms = issues / "cdms.yaml"
    text = cdms.read_text(encoding="utf-8").replace(
        "  city: Charleroi\n",
        "  city: Charleroi\n  contacts:\n    - {name: A, email: pas-une-adresse, lang: french}\n")
    cdms.write_text(text, encoding="utf-8")
    problems = check_path(cdms, Config())
    assert sorted(p.code for p in problems) == ["E023", "E037"]  # the address, the language


def test_the_commands(issues: Path) -> None:
    cdms = issues / "cdms.yaml"
    runner = CliRunner()
    result = runner.invoke(cli, ["centres", "edit", "charleroi", "--file", str(cdms),
                                 "--add-contact", "Anne MARTIN <anne@cdm.be>", "--lang", "fr"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["centres", "edit", "charleroi", "--file", str(cdms),
                                 "--add-contact", "anne@cdm.be"])
    assert result.exit_code == 2 and "[E079]" in result.output  # no name
    listed = runner.invoke(cli, ["centres", "list", "--file", str(cdms), "--contacts"])
    assert "charleroi" in listed.output and "Anne MARTIN <anne@cdm.be> [fr]" in listed.output
    as_json = runner.invoke(cli, ["centres", "list", "--file", str(cdms), "--format", "json"])
    assert '"email": "anne@cdm.be"' in as_json.output
    added = runner.invoke(cli, ["centres", "add", "lyon", "--file", str(cdms), "--name",
                                "Cité des métiers de Lyon"])
    assert added.exit_code == 0 and "lyon" in read_centres(cdms)

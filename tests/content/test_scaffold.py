"""scaffold: new issues carry over what stays; new items are templates check rejects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.content.check import check_path
from infolettre.content.scaffold import latest_issue, new_issue, new_item, title_slug
from infolettre.content.source import read_front_matter
from infolettre.errors import InfoLettreError


def test_new_issue_carries_over_the_agenda_still_to_come(issues: Path) -> None:
    folder = new_issue(issues, dt.date(2018, 7, 4))
    assert folder == issues / "2018-07"
    agenda = yaml.safe_load((folder / "agenda.yaml").read_text(encoding="utf-8"))
    assert [e["title"]["fr"] for e in agenda["external"]] == [
        "Visite d'études du Réseau européen des services publics de l'emploi à la Cité "
        "des métiers de Bruxelles", "Conférence annuelle de la LLL Platform"]
    # the translations go along: the next issue's English edition has them too
    assert agenda["external"][1]["title"]["en"] == "LLL Platform Annual Conference"
    assert "internal" not in agenda  # the last internal meeting was on 3 July
    header = (folder / "issue.md").read_text(encoding="utf-8")
    assert "date: 2018-07-04" in header and "Raquel Castello-Branco" in header
    assert "Merci de votre collaboration" in header
    assert latest_issue(issues) == folder


def test_new_issue_is_not_publishable_until_the_edito_is_written(issues: Path) -> None:
    folder = new_issue(issues, dt.date(2018, 9, 28))
    [problem] = check_path(folder, Config())
    assert problem.path.name == "issue.md" and "the edito is empty" in problem.message
    with (folder / "issue.md").open("a", encoding="utf-8") as f:
        f.write("Chers membres,\n")
    assert check_path(folder, Config()) == []


def test_new_issue_refuses_an_existing_month(issues: Path) -> None:
    with pytest.raises(InfoLettreError, match="already exists"):
        new_issue(issues, dt.date(2018, 6, 1))


def test_new_issue_in_an_empty_folder(tmp_path: Path) -> None:
    folder = new_issue(tmp_path, dt.date(2019, 1, 31))
    assert (folder / "news").is_dir() and (folder / "movements.yaml").is_file()


def test_new_item_template_is_rejected_until_filled(sample: Path) -> None:
    path = new_item(sample, "charleroi")
    assert path == sample / "news" / "charleroi.md"
    text = path.read_text(encoding="utf-8")
    assert "infolettre check" in text and "Remplissez" in text
    messages = [p.message for p in check_path(path, Config())]
    assert any("'title' is empty" in m for m in messages)
    assert any("'contacts[1].email' is empty" in m for m in messages)
    assert any("no text" in m for m in messages)
    filled = (text.replace("title:\n", "title: Portes ouvertes\n")
                  .replace("  - name:\n", "  - name: Équipe\n")
                  .replace("    email:\n", "    email: accueil@cdmcharleroi.be\n")
              + "Venez nombreux.\n")
    path.write_text(filled, encoding="utf-8")
    assert check_path(path, Config()) == []
    assert new_item(sample, "charleroi").name == "charleroi-2.md"


def test_new_item_for_the_network_and_unknown_centres(sample: Path) -> None:
    path = new_item(sample, None, "reseau")
    assert "section: reseau" in path.read_text(encoding="utf-8")
    with pytest.raises(InfoLettreError, match="did you mean 'charleroi'"):
        new_item(sample, "charleroy")


def test_title_slug_is_ascii_folded_and_capped() -> None:
    assert title_slug("Forum des métiers") == "forum-des-metiers"
    assert title_slug("Bilan : une réussite !") == "bilan-une-reussite"
    assert title_slug("Œuvres d’art — été 2019") == "oeuvres-d-art-ete-2019"
    long = title_slug("Une très longue journée portes ouvertes à la Cité des métiers")
    assert long == "une-tres-longue-journee-portes-ouvertes" and len(long) <= 40
    assert title_slug("x" * 60) == "x" * 40
    assert title_slug("Форум") == ""  # nothing left: the file is named from the centre


def test_new_item_with_a_title_names_the_file_and_fills_the_header(sample: Path) -> None:
    path = new_item(sample, "marseille", title="Forum des métiers")
    assert path == sample / "news" / "marseille-forum-des-metiers.md"
    assert "\ntitle: Forum des métiers\n" in path.read_text(encoding="utf-8")
    messages = [p.message for p in check_path(path, Config())]
    assert not any("'title'" in m for m in messages)
    second = new_item(sample, "marseille", title="Forum des métiers")
    assert second.name == "marseille-forum-des-metiers-2.md"  # the first is not clobbered
    assert new_item(sample, "marseille", title="Forum des métiers").name.endswith("-3.md")
    assert new_item(sample, "marseille").name == "marseille.md"  # no title: as before


def test_new_item_title_with_french_typography_stays_plain_text(sample: Path) -> None:
    path = new_item(sample, None, "reseau", title="Bilan : une réussite")
    assert path.name == "reseau-bilan-une-reussite.md"
    assert read_front_matter(path).data["title"] == "Bilan : une réussite"


def test_new_item_template_shows_lang_and_section_commented(sample: Path) -> None:
    text = new_item(sample, "charleroi").read_text(encoding="utf-8")
    assert "\n# lang: en\n" in text and "\n# section: reseau\n" in text
    assert "la langue de la nouvelle" in text and "nouvelle du Réseau" in text
    network = new_item(sample, None, "reseau").read_text(encoding="utf-8")
    assert "\nsection: reseau\n" in network and "# section:" not in network


def test_cli_scaffolding(issues: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["new-issue", "--issues-dir", str(issues),
                                 "--date", "2018-10-31"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["new-item", str(issues / "2018-10"), "--cdm", "cascais"])
    assert result.exit_code == 0 and "cascais.md" in result.output
    result = runner.invoke(cli, ["new-item", str(issues / "2018-10"), "--cdm", "nowhere"])
    assert result.exit_code == 2 and "Cité inconnue « nowhere »" in result.output
    result = runner.invoke(cli, ["new-item", str(issues / "2018-10"), "--cdm", "nowhere",
                                 "--lang", "en"])
    assert result.exit_code == 2 and "unknown centre 'nowhere'" in result.output
    result = runner.invoke(cli, ["new-item", str(issues / "2018-10"), "--cdm", "marseille",
                                 "--title", "Forum des métiers"])
    assert result.exit_code == 0 and "marseille-forum-des-metiers.md" in result.output

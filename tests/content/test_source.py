"""source: French typography in headers is read as the contributor meant.

``title: Bilan : une réussite`` (French puts a space before the colon) was
"malformed YAML"; for a known text field the value is now plain text, on its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infolettre.content.source import read_front_matter, read_yaml
from infolettre.errors import ProblemsFound


def _item(tmp_path: Path, header: str) -> Path:
    path = tmp_path / "item.md"
    path.write_text(f"---\n{header}---\n\nLe texte.\n", encoding="utf-8")
    return path


def test_a_colon_in_a_title_is_plain_text_and_lines_are_kept(tmp_path: Path) -> None:
    doc = read_front_matter(_item(tmp_path, (
        "cdm: charleroi\n"
        "title: Bilan : une réussite\n"
        "image:\n"
        "  src: photo.jpg\n"
        "  alt: Le jury: trois membres # à vérifier\n"
        "contacts:\n"
        "  - name: Marie Dupont : accueil\n"
        "    email: marie@example.org\n"
        "order: 2\n")))
    assert doc.data["title"] == "Bilan : une réussite"
    assert doc.data["image"]["alt"] == "Le jury: trois membres"
    assert doc.data["contacts"][0]["name"] == "Marie Dupont : accueil"
    assert doc.line("title") == 3
    assert doc.line("image", "alt") == 6
    assert doc.line("contacts", 0, "email") == 9
    assert doc.line("order") == 10
    assert doc.body_line == 13


def test_quotes_and_backslashes_in_the_value_are_kept(tmp_path: Path) -> None:
    doc = read_front_matter(_item(tmp_path, 'title: Le "C\\d" : bilan :\n'))
    assert doc.data["title"] == 'Le "C\\d" : bilan :'


def test_agenda_and_movements_text_fields(tmp_path: Path) -> None:
    path = tmp_path / "agenda.yaml"
    path.write_text("internal:\n  - date: 2019-04-01\n    title: AG : le vote\n"
                    "    place: Lyon : salle 2\n", encoding="utf-8")
    doc = read_yaml(path)
    assert doc.data["internal"][0] == {"date": doc.data["internal"][0]["date"],
                                       "title": "AG : le vote", "place": "Lyon : salle 2"}
    assert doc.line("internal", 0, "place") == 4
    path.write_text("- cdm: lyon\n  role: Chargée : accueil\n  arrived: Ana\n")
    assert read_yaml(path).data[0]["role"] == "Chargée : accueil"


@pytest.mark.parametrize(("header", "line"), [
    ("title: Bilan\nsujet: a : b\n", 3),  # an unknown key: the author must say what it is
    ("title: Bilan\n  suite : une réussite\n", 3),  # a value on several lines
    ("title: Bilan : ok\ncdm: a : b\n", 3),  # a key that is no text: one problem, its line
])
def test_other_keys_keep_the_malformed_yaml_message(tmp_path: Path, header: str,
                                                    line: int) -> None:
    with pytest.raises(ProblemsFound) as caught:
        read_front_matter(_item(tmp_path, header))
    [problem] = caught.value.problems
    assert problem.line == line
    assert "malformed YAML: mapping values are not allowed here" in problem.message

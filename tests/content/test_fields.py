"""fields: what a bad value is told, on its own line, whichever file holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infolettre.content.fields import Fields
from infolettre.content.load import load_item
from infolettre.content.source import read_front_matter, read_yaml
from infolettre.errors import Problem

FORMAT = "write it as YYYY-MM-DD, e.g. 2018-06-25"


def _yaml(tmp_path: Path, text: str, name: str = "agenda.yaml") -> tuple[Fields, list[Problem]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    return Fields(read_yaml(path), problems), problems


def _said(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in problems]


@pytest.mark.parametrize(("written", "said"), [
    ("2019-02-30", "there is no 30 February 2019"),
    ("2019-02-29", "there is no 29 February 2019"),
    ("2018-06-31", "there is no 31 June 2018"),
    ("2018-04-00", "there is no 0 April 2018"),
])
def test_a_day_not_in_its_month_is_named(tmp_path: Path, written: str, said: str) -> None:
    fields, problems = _yaml(tmp_path, f"# the date\ndate: {written}\n")
    assert fields.date("date") is None
    assert _said(problems) == [(2, f"'{written}' in 'date' is not a date: {said}")]


@pytest.mark.parametrize("written", ["2019-2-3", "30/02/2019", "2018-13-01", "mardi",
                                     "2019-02-30T10:00"])
def test_a_malformed_date_is_asked_in_the_format(tmp_path: Path, written: str) -> None:
    fields, problems = _yaml(tmp_path, f"date: '{written}'\n")
    assert fields.date("date") is None
    assert _said(problems) == [(1, f"'{written}' in 'date' is not a date: {FORMAT}")]


def test_a_leap_day_is_a_date(tmp_path: Path) -> None:
    fields, problems = _yaml(tmp_path, "date: 2020-02-29\n")
    assert str(fields.date("date")) == "2020-02-29" and problems == []


def test_impossible_days_of_agenda_entries_and_spans(tmp_path: Path) -> None:
    fields, problems = _yaml(tmp_path, (
        "internal:\n"
        "  - date: 2019-02-30\n"
        "    title: AG\n"
        "  - date: {start: 2019-04-30, end: 2019-04-31}\n"
        "    title: Forum\n"))
    for entry in fields.entries("internal"):
        assert entry.span("date") is None
    assert _said(problems) == [
        (2, "'2019-02-30' in 'internal[1].date' is not a date: there is no 30 February 2019"),
        (4, "'2019-04-31' in 'internal[2].date.end' is not a date: there is no 31 April 2019"),
    ]


def test_impossible_day_in_the_header_of_issue_md(tmp_path: Path) -> None:
    path = tmp_path / "issue.md"
    path.write_text("---\ntitle: Juin\ndate: 2019-02-30\n---\nÉdito\n", encoding="utf-8")
    problems: list[Problem] = []
    assert Fields(read_front_matter(path), problems).date("date", required=True) is None
    assert _said(problems) == [(3, "'2019-02-30' in 'date' is not a date: "
                                   "there is no 30 February 2019")]


def _item(tmp_path: Path, image: str) -> list[Problem]:
    path = tmp_path / "news" / "item.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text("---\nsection: reseau\ntitle: Un forum\n"
                    "contacts: [{name: Ana DIAS, email: ana@example.org}]\n"
                    f"{image}order: 1\n---\nLe texte.\n", encoding="utf-8")
    problems: list[Problem] = []
    assert load_item(path, None, "fr", problems, tmp_path) is None
    return problems


def test_a_bare_image_name_is_its_src_and_asks_for_alt(tmp_path: Path) -> None:
    bare = _item(tmp_path, "image: photo.png\n")
    full = _item(tmp_path, "image: {src: photo.png}\n")
    assert _said(bare) == _said(full)
    assert [message for _, message in _said(bare)] == [
        "the image has no 'alt' text: describe it for readers who cannot see it, "
        "e.g. alt: \"Couverture de l'album\""]
    assert bare[0].line == 5


def test_an_image_list_is_still_refused(tmp_path: Path) -> None:
    assert _said(_item(tmp_path, "image: [photo.png]\n")) == [
        (5, "'image' must be a set of 'key: value' lines")]

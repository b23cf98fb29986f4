"""words: the small text helpers every layer shares."""

from __future__ import annotations

from infolettre.words import counted, without_accents


def test_counted_says_the_plural_unless_one() -> None:
    assert [counted(n, "contact") for n in (0, 1, 2)] == ["0 contacts", "1 contact",
                                                         "2 contacts"]
    assert counted(1, "active subscriber") == "1 active subscriber"


def test_without_accents_compares_names_as_people_type_them() -> None:
    assert without_accents("Cité des Métiers") == "cite des metiers"

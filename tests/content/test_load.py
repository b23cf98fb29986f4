"""Which files of ``news/`` are items, which are fine beside them, and which are reported.

A ``FORUM.MD``, a ``forum.md.txt`` or a Word file in ``news/`` was skipped without a
word, and the news missed the issue.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infolettre.content.layout import news_files, stray_advice
from infolettre.content.load import load_issue


def test_an_upper_case_extension_is_an_item(sample: Path) -> None:
    item = sample / "news" / "summit-cdm21-rouen.md"  # an item with no translation
    item.rename(item.with_name("SUMMIT.MD"))
    loaded = load_issue(sample)
    assert loaded.problems == []
    assert "SUMMIT.MD" in [i.path.name for i in loaded.issue.news]


def test_items_strays_and_what_may_stay(tmp_path: Path) -> None:
    news = tmp_path / "news"
    (news / "images").mkdir(parents=True)
    names = ["b.md", "A.Md", "forum.md.txt", "cr.docx", "photo.JPG", "logo.png",
             ".DS_Store", "._b.md", "~$cr.docx", "Thumbs.db", "desktop.ini", "x.zip"]
    for name in names:
        (news / name).write_bytes(b"x")
    items, strays = news_files(news)
    assert [p.name for p in items] == ["A.Md", "b.md"]
    assert [p.name for p, _ in strays] == ["cr.docx", "forum.md.txt", "x.zip"]


def test_no_news_folder_no_news(tmp_path: Path) -> None:
    assert news_files(tmp_path / "news") == ([], [])


@pytest.mark.parametrize(("name", "says"), [
    ("compte-rendu.docx", "Word file: save it as text, or paste its text into a new item"),
    ("vieux.DOC", "Word file"),
    ("programme.odt", "OpenDocument file"),
    ("affiche.pdf", "PDF file"),
    ("forum.md.txt", "(Windows hides it): rename the file to 'forum.md'"),
    ("forum.MD.TXT", "rename the file to 'forum.MD'"),
    ("notes.txt", "rename the file to 'notes.md'"),
    ("IMG_0042.HEIC", "save it as JPEG or PNG"),
    ("photos.zip", "move it out of news/, or make it an item with `infolettre new-item`"),
    ("sans-extension", "not a news item"),
])
def test_each_kind_of_stray_says_what_to_do(name: str, says: str) -> None:
    assert says in (stray_advice(Path("news") / name) or "")


@pytest.mark.parametrize("name", ["forum.md", "FORUM.MD", "photo.jpeg", "Photo.PNG",
                                  "anim.gif", ".DS_Store", "~$forum.docx", "Thumbs.db"])
def test_what_may_stay_in_news(name: str) -> None:
    assert stray_advice(Path("news") / name) is None


def test_loading_alone_does_not_report_strays(sample: Path) -> None:
    """``new-issue`` reads the previous issue with ``load_issue``: a stray must not stop it."""
    (sample / "news" / "compte-rendu.docx").write_bytes(b"PK\3\4")
    loaded = load_issue(sample)
    assert loaded.issue is not None and loaded.problems == []

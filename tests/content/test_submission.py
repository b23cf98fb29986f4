"""submission: the one writer of a contributed item, for the page and the replies by email."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from infolettre.config import Config
from infolettre.content import submission
from infolettre.content.source import read_front_matter
from infolettre.content.submission import Submission, image_of, news_dir, write_item


@dataclass(frozen=True)
class Image:
    data: bytes
    suffix: str


def _sub(title: str = "Forum des métiers", image: str = "") -> Submission:
    return Submission(centre="charleroi", section="cdm", title=title, body="Le 3 avril.\n",
                      contact_name="Anne", contact_email="anne@cdm.be", lang="fr",
                      submitted_by="anne@cdm.be", submitted_at="2019-03-12T10:00:00+00:00",
                      image=image, image_alt="Le forum" if image else "")


def test_items_are_named_by_centre_and_title_and_never_overwrite(tmp_path: Path) -> None:
    news = tmp_path / "news"  # made when missing
    first = write_item(news, _sub(image="image.jpg"), Image(b"jpeg", "jpg"))
    second = write_item(news, _sub(), None)
    untitled = write_item(news, _sub(title="!!!"), None)
    assert (first, second, untitled) == ("charleroi-forum-des-metiers.md",
                                         "charleroi-forum-des-metiers-2.md", "charleroi.md")
    header = read_front_matter(news / first).data
    assert header["status"] == "submitted"
    assert header["submitted_by"] == "anne@cdm.be"
    assert header["submitted_at"] == "2019-03-12T10:00:00+00:00"
    assert header["image"] == {"src": "charleroi-forum-des-metiers.jpg", "alt": "Le forum"}
    assert (news / "charleroi-forum-des-metiers.jpg").read_bytes() == b"jpeg"
    assert image_of(news / first) == "charleroi-forum-des-metiers.jpg"
    assert sorted(p.name for p in news.iterdir()) == [
        "charleroi-forum-des-metiers-2.md", "charleroi-forum-des-metiers.jpg",
        "charleroi-forum-des-metiers.md", "charleroi.md"]  # no temporary file left


def test_a_name_taken_by_another_process_meanwhile_is_not_overwritten(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page and ``replies fetch`` are two processes: a lock in one does not stop the
    other, so the name is claimed by a link that fails when the file appeared since."""
    news = tmp_path / "news"
    news.mkdir()
    real = Path.hardlink_to
    raced = []

    def racing(self: Path, target: str | Path) -> None:
        if not raced:  # the other writer takes the name between the look and the claim
            raced.append(self.name)
            self.write_text("the other's item", encoding="utf-8")
        real(self, target)

    monkeypatch.setattr(Path, "hardlink_to", racing)
    name = write_item(news, _sub(), None)
    assert raced == ["charleroi-forum-des-metiers.md"]
    assert name == "charleroi-forum-des-metiers-2.md"
    assert (news / raced[0]).read_text(encoding="utf-8") == "the other's item"


def test_an_image_that_cannot_be_written_leaves_no_item(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    news = tmp_path / "news"

    def full(path: Path, data: str | bytes, mode: int | None = None) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(submission, "atomic_write", full)
    with pytest.raises(OSError):
        write_item(news, _sub(image="image.jpg"), Image(b"jpeg", "jpg"))
    assert list(news.iterdir()) == []


def test_an_edit_rewrites_its_file_and_drops_its_image_of_another_kind(tmp_path: Path) -> None:
    news = tmp_path / "news"
    name = write_item(news, _sub(image="image.jpg"), Image(b"jpeg", "jpg"))
    (news / "charleroi-other.png").write_bytes(b"another's")
    again = write_item(news, _sub(title="Un autre titre", image="image.png"),
                       Image(b"png", "png"), existing=name)
    assert again == name  # the title changed, the file's name did not
    assert read_front_matter(news / name).data["title"] == "Un autre titre"
    assert sorted(p.name for p in news.iterdir()) == [
        "charleroi-forum-des-metiers.md", "charleroi-forum-des-metiers.png",
        "charleroi-other.png"]
    kept = write_item(news, _sub(image="charleroi-forum-des-metiers.png"), None, existing=name)
    assert kept == name and image_of(news / name) == "charleroi-forum-des-metiers.png"


def test_the_news_folder_is_only_ever_an_issue_s_own(tmp_path: Path) -> None:
    issues = tmp_path / "issues"
    (issues / "2019-04").mkdir(parents=True)
    (issues / ".hidden").mkdir()
    config = Config(issues_dir=issues)
    assert news_dir(config, "2019-04") == (issues / "2019-04" / "news").resolve()
    for issue in ("", "..", ".hidden", "../2019-04", "2019-04/news", "absent"):
        assert news_dir(config, issue) is None, issue

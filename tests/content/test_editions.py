"""editions: which editions an issue has, what each shows, and what is left to translate."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.content.check import check_path, load_checked
from infolettre.content.editions import chain, editions, localize, report
from infolettre.content.load import load_issue
from infolettre.content.model import Issue
from infolettre.content.scaffold import new_translation
from infolettre.content.translations import item_hash


def _issue(folder: Path, config: Config | None = None) -> Issue:
    loaded = load_checked(folder, config or Config())
    assert loaded.issue is not None, loaded.problems
    return loaded.issue


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_editions_come_from_the_issue_else_the_configuration_else_its_language(
        sample: Path) -> None:
    issue = _issue(sample)
    assert editions(issue, Config()) == ("fr", "en", "es")
    _edit(sample / "issue.md", "editions: [fr, en, es]\n", "")
    issue = _issue(sample)
    assert editions(issue, Config()) == ("fr",)  # an untranslated issue: one edition
    assert editions(issue, Config(languages=("en", "fr"))) == ("fr", "en")  # source first
    assert chain("es", issue, Config(fallback={"es": ("en",)})) == ("es", "en", "fr")
    assert chain("en", issue, Config()) == ("en", "fr")


def test_the_english_edition_takes_every_translation_and_falls_back_to_french(
        sample: Path) -> None:
    issue = _issue(sample)
    en = localize(issue, "en", Config())
    assert (en.lang, en.source_lang, en.original_lang) == ("en", "fr", "fr")
    assert en.subject == "InfoLettre of the Cités des métiers Network — June 2018"
    assert en.edito.startswith("Dear members") or "members" in en.edito.split("\n\n")[0]
    album = next(i for i in en.news if i.path.name == "charleroi-album-jeunesse.md")
    assert album.lang == "en" and album.title.startswith("A children's picture book")
    assert album.image is not None and album.image.alt.startswith("Cover of the picture book")
    assert album.image.src == "album-ce-matin-la.png"  # the file is the original's
    assert album.contacts == next(i for i in issue.news if i.path == album.path).contacts
    summit = next(i for i in en.news if i.path.name == "summit-cdm21-rouen.md")
    assert summit.lang == "fr" and summit.title == "SUMMIT CDM 21 à Rouen"
    assert en.internal[0].title == "General Assembly"
    assert any(e.place == "Vienna" for e in en.external)
    assert localize(issue, "fr", Config()) is issue


def test_an_edition_nobody_translated_has_its_own_fixed_strings_and_french_texts(
        sample: Path) -> None:
    issue = _issue(sample)
    es = localize(issue, "es", Config())
    assert es.lang == "es" and all(item.lang == "fr" for item in es.news)
    assert es.title == "InfoLettre — junio 2018"  # the catalogue's, in Spanish
    assert es.subject == issue.subject and es.edito == issue.edito
    assert {e.lang for e in es.internal} == {"fr"}  # shown in French: marked so
    assert {e.lang for e in localize(issue, "en", Config()).internal} == {"en"}
    # with English before French in its chain, Spanish readers get the English texts
    es = localize(issue, "es", Config(fallback={"es": ("en",)}))
    album = next(i for i in es.news if i.path.name == "charleroi-album-jeunesse.md")
    assert album.lang == "en" and es.subject.startswith("InfoLettre of the")


def test_a_translation_whose_original_changed_is_stale(sample: Path) -> None:
    assert report(_issue(sample), Config()).stale == []
    item = sample / "news" / "charleroi-album-jeunesse.md"
    _edit(item, "Gustave et ses amis", "Gustave et ses copains")
    found = report(_issue(sample), Config())
    assert [(s.lang, s.path.name) for s in found.stale] == [
        ("en", "charleroi-album-jeunesse.en.md")]
    warnings: list = []
    assert check_path(sample, Config(), warnings) == []
    stale = [w for w in warnings if w.code == "W004"]
    assert [w.path.name for w in stale] == ["charleroi-album-jeunesse.en.md"]
    changed = next(i for i in _issue(sample).news if i.path == item)
    assert f"write 'translated_from: {item_hash(changed)}'" in stale[0].message
    result = CliRunner().invoke(cli, ["translations", str(sample), "--strict", "--lang", "en"])
    assert result.exit_code == 1
    assert "charleroi-album-jeunesse.en.md: translated from an earlier version" in result.output


def test_the_report_counts_what_each_edition_has_in_its_language(sample: Path) -> None:
    found = report(_issue(sample), Config())
    assert found.percent("fr") == 100 and found.percent("es") == 0
    assert 50 < found.percent("en") < 100
    missing_en = {m.path.name for m in found.missing if m.lang == "en"}
    assert "summit-cdm21-rouen.md" in missing_en and "charleroi-album-jeunesse.md" not in missing_en
    summit = next(m for m in found.missing if m.lang == "en"
                  and m.path.name == "summit-cdm21-rouen.md")
    assert summit.translation == sample / "news" / "summit-cdm21-rouen.en.md"
    result = CliRunner().invoke(cli, ["translations", str(sample), "--lang", "en"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "French edition (fr): 100% translated (23 of 23 texts)"
    assert any(line.startswith("English edition (en): ") for line in lines)
    assert any(line.startswith("Spanish edition (es): 0% translated") for line in lines)


def test_a_translation_holds_only_texts_and_needs_its_original(sample: Path) -> None:
    translation = sample / "news" / "charleroi-album-jeunesse.en.md"
    _edit(translation, "---\n", "---\ncdm: charleroi\norder: 2\n")
    orphan = sample / "news" / "disparue.en.md"
    orphan.write_text("---\ntitle: Gone\n---\nText.\n", encoding="utf-8")
    problems = check_path(sample, Config())
    assert [(p.path.name, p.line, p.code) for p in problems] == [
        ("charleroi-album-jeunesse.en.md", 2, "E066"),
        ("charleroi-album-jeunesse.en.md", 3, "E066"),
        ("disparue.en.md", 1, "E067")]
    assert problems[0].message.startswith("'cdm' comes from charleroi-album-jeunesse.md")
    alone = check_path(translation, Config())  # the file alone: its own problems only
    assert [p.path for p in alone] == [translation, translation]


def test_agenda_texts_in_several_languages_need_the_issue_s_own(sample: Path) -> None:
    _edit(sample / "agenda.yaml", '{fr: "Assemblée Générale", en: "General Assembly"}',
          '{en: "General Assembly", xx-yy-zz: "?"}')
    problems = check_path(sample, Config())
    assert sorted(p.code for p in problems) == ["E037"]  # a bad language code, said first
    _edit(sample / "agenda.yaml", ', xx-yy-zz: "?"', "")
    [problem] = check_path(sample, Config())
    assert problem.code == "E065" and problem.line == 6
    assert "'internal[1].title' has no text in the issue's language (fr)" in problem.message


def test_new_translation_writes_a_file_ready_to_translate(sample: Path) -> None:
    item = sample / "news" / "summit-cdm21-rouen.md"
    written = new_translation(item, "en")
    assert written == sample / "news" / "summit-cdm21-rouen.en.md"
    text = written.read_text(encoding="utf-8")
    original = next(i for i in load_issue(sample).issue.news if i.path == item)  # type: ignore[union-attr]
    assert f"translated_from: {item_hash(original)}\n" in text
    assert "# title: SUMMIT CDM 21 à Rouen" in text and "\ntitle: SUMMIT CDM 21 à Rouen" in text
    assert check_path(written, Config()) == []
    issue = _issue(sample)
    assert "en" in next(i for i in issue.news if i.path == item).translations
    assert report(issue, Config()).stale == []
    # until someone translates it, the copy of the original is no translation
    assert "summit-cdm21-rouen.md" in {m.path.name for m in report(issue, Config()).missing
                                       if m.lang == "en"}
    written.write_text(text.replace("\ntitle: SUMMIT CDM 21 à Rouen", "\ntitle: The CDM21 "
                                    "summit in Rouen"), encoding="utf-8")
    assert "summit-cdm21-rouen.md" not in {m.path.name for m in report(
        _issue(sample), Config()).missing if m.lang == "en"}
    result = CliRunner().invoke(cli, ["new-translation", str(item), "--lang", "en"])
    assert result.exit_code == 2 and "[E069]" in result.output  # never overwritten
    result = CliRunner().invoke(cli, ["new-translation", str(sample / "issue.md"),
                                      "--lang", "es"])
    assert result.exit_code == 0 and "issue.es.md" in result.output
    head = (sample / "issue.es.md").read_text(encoding="utf-8").split("\n---\n")[0]
    assert "Traducción de issue.md al español" in head and "signature:" in head
    assert check_path(sample, Config()) == []
    assert "es" in _issue(sample).translations

"""check: the corpus of broken files gives its FILE:LINE lines, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infolettre.config import Config
from infolettre.content.check import check_path

from ..conftest import (
    CORPUS,
    SAID_LANGS,
    SAMPLE,
    corpus_expectations,
    corpus_report,
    corpus_said,
    corpus_text,
    said_file,
)

EXPECTED = corpus_expectations()  # regenerate: pytest tests/content/test_check.py --update-corpus


def test_every_broken_file_has_an_expectation() -> None:
    files = {f"broken/{p.name}" for p in (CORPUS / "broken").iterdir()}
    assert files <= set(EXPECTED), files - set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_reports_each_problem_on_its_line(name: str, monkeypatch) -> None:
    monkeypatch.chdir(CORPUS)
    problems = check_path(Path(name), Config())
    assert [str(p) for p in problems] == EXPECTED[name]


def test_corpus_file_is_as_update_corpus_writes_it() -> None:
    """``--update-corpus`` rewrites the file without a diff when nothing changed."""
    assert corpus_text(EXPECTED) == (CORPUS / "expected.txt").read_text(encoding="utf-8")
    assert {name: corpus_report(name) for name in EXPECTED} == EXPECTED


@pytest.mark.parametrize("lang", SAID_LANGS)
def test_check_says_the_corpus_in_the_language_asked(lang: str) -> None:
    """Word for word what a contributor reads, in English and in French: every message
    exists in both, with the same code, and none is left in the other language."""
    assert corpus_said(lang) == said_file(lang).read_text(encoding="utf-8")


def test_the_two_languages_give_the_same_codes_on_the_same_lines() -> None:
    def codes(text: str) -> list[str]:
        return [line.split(":")[0] + ":" + line.rsplit("[", 1)[-1] for line in
                text.splitlines() if line.endswith("]")]

    en, fr = (said_file(lang).read_text(encoding="utf-8") for lang in ("en", "fr"))
    assert codes(en) == codes(fr) and len(codes(en)) > 40


def test_sample_issue_is_publishable(config: Config) -> None:
    assert check_path(SAMPLE, config) == []


def test_each_sample_file_checks_alone(config: Config) -> None:
    for path in [*SAMPLE.glob("news/*.md"), SAMPLE / "issue.md", SAMPLE / "agenda.yaml"]:
        assert check_path(path, config) == [], path


def test_body_limit_comes_from_the_configuration(config: Config) -> None:
    item = SAMPLE / "news" / "summit-cdm21-rouen.md"
    tight = Config(base_url=config.base_url, max_body_chars=1000)
    [problem] = check_path(item, tight)
    assert problem.line == 10 and "over the limit of 1,000" in problem.message


def test_a_file_of_one_issue_is_checked_against_its_centres(sample: Path) -> None:
    item = sample / "news" / "charleroi-album-jeunesse.md"
    item.write_text(item.read_text(encoding="utf-8").replace("cdm: charleroi", "cdm: charlerio"),
                    encoding="utf-8")
    [problem] = check_path(item, Config())
    assert problem.line == 2
    assert "unknown centre 'charlerio': did you mean 'charleroi'?" in problem.message


def test_missing_issue_file_and_folder(tmp_path: Path) -> None:
    [missing] = check_path(tmp_path / "nope", Config())
    assert "no such file" in missing.message
    [no_meta] = check_path(tmp_path, Config())
    assert "missing issue.md" in no_meta.message


HOSTILE_FILES = {
    "huge.md": b"---\ntitle: x\n---\n" + b"x" * (1024 * 1024 + 1),
    "nul.md": b"---\ntitle: x\n---\n\0",
    "bom.md": "\ufeff---\ntitle: Titre\n---\nTexte\n".encode(),
    "crlf.md": b"---\r\ntitle: [unclosed\r\n---\r\n",
    "list.md": b"---\n- a\n- b\n---\ntext\n",
    "bomb.md": b"---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
               b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
               b"e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n---\nx\n",
    "tabs.md": b"---\ntitle: x\n\tcdm: y\n---\nx\n",
    "python-tag.md": b"---\ntitle: !!python/object/apply:os.system ['echo hacked']\n---\nx\n",
    "deep.md": b"---\na: " + b"[" * 200 + b"]" * 200 + b"\n---\nx\n",
    "only-dashes.md": b"---\n---\n",
    "weird-keys.md": b"---\n? [a, b]\n: 1\n2018-06-01: date key\n---\nx\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_no_traceback_whatever_the_file_holds(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE_FILES[name])
    result = subprocess.run([sys.executable, "-m", "infolettre", "check", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{path}:"), result.stdout
    assert "hacked" not in result.stdout + result.stderr


IMAGES_ITEM = """---
cdm: charleroi
title: Des images de toutes les sortes
contacts: [{name: Anne, email: anne@example.org}]
---
Une image de référence :

![][absente]

puis une image en ligne ![](manque.png) et du HTML :

<img data-src="ailleurs.png" src="perdue.png" alt="Une photo">

<p><img alt="a > b" src="egaree.png"></p>

[absente]: introuvable.jpg
"""


def test_every_image_of_the_parse_tree_is_checked_on_its_line(sample: Path) -> None:
    """Reference images and raw HTML images are checked where they are shown.

    A reference image was put on the line of its ``[p]: …`` definition, and the
    images after it lost their line; the regex that read ``<img>`` tags took
    ``data-src`` for ``src`` and stopped at a ``>`` in a quoted alt text.
    """
    item = sample / "news" / "images.md"
    item.write_text(IMAGES_ITEM, encoding="utf-8")
    assert [(p.line, p.message.split(":")[0]) for p in check_path(item, Config())] == [
        (8, "image 'introuvable.jpg' not found"),
        (8, "the image 'introuvable.jpg' has no alt text"),
        (10, "image 'manque.png' not found"),
        (10, "the image 'manque.png' has no alt text"),
        (12, "image 'perdue.png' not found"),
        (14, "image 'egaree.png' not found"),
    ]


def test_a_stray_file_in_news_stops_check_and_build(sample: Path, config: Config) -> None:
    """A Word file in ``news/`` was skipped in silence: its news missed the issue."""
    from infolettre.edition.build import load_publishable
    from infolettre.errors import ProblemsFound

    stray = sample / "news" / "forum.docx"
    stray.write_bytes(b"PK\3\4word/document.xml")
    (sample / "news" / "photo.jpg").write_bytes(b"\xff\xd8")
    [problem] = check_path(sample, config)
    assert (problem.path, problem.line) == (stray, 1)
    assert problem.message.startswith("Word file: save it as text")
    with pytest.raises(ProblemsFound) as raised:
        load_publishable(sample, config)
    assert raised.value.problems == [problem]
    assert check_path(stray, config) == [problem]
    result = subprocess.run([sys.executable, "-m", "infolettre", "check", str(sample)],
                            capture_output=True, text=True, timeout=60)
    # The sample issue is French: so is what check says of it, under the same code.
    assert result.returncode == 1 and f"{stray}:1: fichier Word" in result.stdout
    assert result.stdout.rstrip().endswith("[E049]")


def _ours(warnings: list) -> list:
    """The image and heading warnings: the sample's translations, stale once a test edits
    an original, have theirs, which ``tests/content/test_editions.py`` looks at."""
    return [w for w in warnings if w.code in ("W001", "W002")]


def test_a_heavy_image_is_a_warning_on_its_line(sample: Path, config: Config) -> None:
    """A 6 MB photo passed ``check`` without a word; it is named now, without blocking."""
    from infolettre.edition.build import build_issue

    item = sample / "news" / "charleroi-album-jeunesse.md"
    item.write_text(item.read_text(encoding="utf-8").replace(
        "src: album-ce-matin-la.png", "src: lourde.jpg"), encoding="utf-8")
    (sample / "news" / "lourde.jpg").write_bytes(b"\xff\xd8" + b"\0" * (1024 * 1024 + 1))
    warnings: list = []
    assert check_path(sample, config, warnings) == []
    warnings = _ours(warnings)
    assert [str(w).split(" MB")[0] for w in warnings] == [
        f"{item}:9: the image 'lourde.jpg' weighs 1.0"]
    alone: list = []
    assert check_path(item, config, alone) == [] and _ours(alone) == warnings
    built = build_issue(sample, sample.parent / "out", config)
    assert str(warnings[0]) in built.warnings
    result = subprocess.run([sys.executable, "-m", "infolettre", "check", str(sample),
                             "--lang", "en"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and f"warning: {item}:9: the image" in result.stderr
    assert "weighs 1.0 MB" in result.stderr and "[W001]" in result.stderr


def test_a_missing_image_names_the_file_meant(sample: Path) -> None:
    """``photo.png`` beside a ``Photo.PNG`` said only "not found"."""
    news = sample / "news"
    (news / "Photo.PNG").write_bytes((news / "album-ce-matin-la.png").read_bytes())
    (news / "Équipe.jpeg").write_bytes(b"\xff\xd8")
    item = news / "photos.md"
    item.write_text("---\ncdm: charleroi\ntitle: Photos\n"
                    "contacts: [{name: A, email: a@example.org}]\n---\n"
                    "![Une photo](photo.png)\n\n![L'équipe](equipe.jpg)\n\n"
                    "![Un album](album-ce-matin-l.png)\n\n![Rien](zzz.gif)\n",
                    encoding="utf-8")
    assert [(p.line, p.message) for p in check_path(item, Config())] == [
        (6, "image 'photo.png' not found: did you mean `Photo.PNG`?"),
        (8, "image 'equipe.jpg' not found: did you mean `Équipe.jpeg`?"),
        (10, "image 'album-ce-matin-l.png' not found: did you mean `album-ce-matin-la.png`?"),
        (12, "image 'zzz.gif' not found: put the file beside photos.md"),
    ]


def test_one_run_reports_every_problem_of_every_file() -> None:
    """A bad field hid the item's missing images, and any broken item hid those of all
    the others: the author fixed one thing, re-ran, and found the next."""
    folder = CORPUS / "many-broken"
    result = subprocess.run([sys.executable, "-m", "infolettre", "check", str(folder),
                             "--lang", "en"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    located = [(line.split(":")[0].rsplit("/", 1)[1], int(line.split(":")[1]))
               for line in lines]
    assert located == sorted(located)  # by file, then line
    several = [line.split(": ", 1)[1] for line in lines if "plusieurs-problemes" in line]
    assert "image 'affiche.jpg' not found: put the file beside plusieurs-problemes.md " \
        "[E059]" in several  # below a header image with no alt
    assert sum("not found" in m for m in several) == 3
    assert {name for name, _ in located} == {"centre-inconnu.md", "plusieurs-problemes.md",
                                             "sans-titre.md", "yaml-casse.md"}
    assert result.stderr.strip().endswith(f"{len(lines)} problems in 4 files")


def test_a_broken_item_does_not_hide_the_images_of_the_others(sample: Path,
                                                             config: Config) -> None:
    news = sample / "news"
    (news / "cassee.md").write_text("---\ntitle: [pas fermé\n---\nx\n", encoding="utf-8")
    item = news / "charleroi-album-jeunesse.md"
    item.write_text(item.read_text(encoding="utf-8").replace(
        "src: album-ce-matin-la.png", "src: absente.png"), encoding="utf-8")
    found = [(p.path.name, p.line, p.message.split(":")[0]) for p in check_path(sample, config)]
    assert found == [("cassee.md", 3, "malformed YAML"),
                     (item.name, 9, "image 'absente.png' not found")]


def test_a_skipped_heading_is_named_on_its_line_by_check_and_build(sample: Path,
                                                                  config: Config) -> None:
    """``build`` said "a heading level is skipped: h3 followed by h5", naming no file,
    and ``check`` said nothing: they disagreed, and the author could not find it."""
    from infolettre.edition.build import build_issue

    item = sample / "news" / "charleroi-album-jeunesse.md"
    text = item.read_text(encoding="utf-8")
    first = len(text.splitlines()) + 2
    item.write_text(text + "\n## Programme\n\nx\n\n# Bilan\n\n### Détails\n\ny\n",
                    encoding="utf-8")
    warnings: list = []
    assert check_path(sample, config, warnings) == []
    warnings = _ours(warnings)
    assert [(w.path, w.line, w.message.split(":")[0]) for w in warnings] == [
        (item, first, "the heading 'Programme' skips a level (h5 under h3)"),
        (item, first + 6, "the heading 'Détails' skips a level (h6 under h4)")]
    assert "write it '## Détails'" in warnings[1].message
    alone: list = []
    assert check_path(item, config, alone) == [] and _ours(alone) == warnings
    built = build_issue(sample, sample.parent / "out", config)
    assert built.warnings == [str(w) for w in warnings]


def test_a_skipped_heading_of_the_edito_is_named_in_issue_md(sample: Path,
                                                            config: Config) -> None:
    from infolettre.edition.build import build_issue

    meta = sample / "issue.md"
    text = meta.read_text(encoding="utf-8")
    line = len(text.splitlines()) + 2
    meta.write_text(text + "\n# Au programme\n\nx\n\n### Détails\n\ny\n",
                    encoding="utf-8")
    warnings: list = []
    assert check_path(sample, config, warnings) == []
    warnings = _ours(warnings)
    assert [(w.path, w.line) for w in warnings] == [(meta, line + 4)]
    assert "skips a level (h5 under h3): write it '## Détails'" in warnings[0].message
    alone: list = []
    assert check_path(meta, config, alone) == [] and _ours(alone) == warnings
    assert build_issue(sample, sample.parent / "out", config).warnings == [str(warnings[0])]


def test_a_text_that_starts_at_two_hashes_skips_no_level(sample: Path,
                                                          config: Config) -> None:
    """Contributors start at ``##``: it was rendered ``h5`` under the item's ``h3``
    and warned about; it is the first level below the title now, in item and edito.
    A skip inside such a text is still named, with the ``#`` it should have."""
    from infolettre.edition.build import build_issue

    item = sample / "news" / "charleroi-album-jeunesse.md"
    text = item.read_text(encoding="utf-8")
    first = len(text.splitlines()) + 2
    item.write_text(text + "\n## Programme\n\nx\n\n### Matin\n\ny\n", encoding="utf-8")
    meta = sample / "issue.md"
    meta.write_text(meta.read_text(encoding="utf-8") + "\n## Au programme\n\nx\n",
                    encoding="utf-8")
    warnings: list = []
    assert check_path(sample, config, warnings) == [] and _ours(warnings) == []
    assert build_issue(sample, sample.parent / "out", config).warnings == []
    item.write_text(text + "\n## Programme\n\nx\n\n#### Détails\n\ny\n", encoding="utf-8")
    warnings = []
    assert check_path(sample, config, warnings) == []
    warnings = _ours(warnings)
    assert [(w.path, w.line) for w in warnings] == [(item, first + 4)]
    assert "skips a level (h6 under h4): write it '### Détails'" in warnings[0].message

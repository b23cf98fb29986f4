"""The PDF edition: what `infolettre build` prints of the web page, read back with
poppler's pdftotext against the issue's own source files."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.content.i18n import catalogue
from infolettre.content.load import load_issue
from infolettre.edition import pdf
from infolettre.edition.archive import build_archive
from infolettre.edition.build import build_issue

from ..conftest import SAMPLE


def _require_pdf_tools() -> None:
    """Skip unless WeasyPrint and pdftotext are here; CI requires them (.ci/run)."""
    missing = [why for why in (pdf.available(),
                               "" if shutil.which("pdftotext") else
                               "pdftotext is not installed (Debian package poppler-utils)")
               if why]
    if missing:
        if os.environ.get("INFOLETTRE_REQUIRE_TOOLS"):
            pytest.fail("; ".join(missing))
        pytest.skip("; ".join(missing))


def _folded(text: str) -> str:
    """Text with every run of white space (line ends, no-break spaces) as one space."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


@pytest.fixture(scope="module")
def french_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's French PDF, as `build` writes it among the three editions."""
    _require_pdf_tools()
    tmp = tmp_path_factory.mktemp("pdf")
    report = build_issue(SAMPLE, tmp / "out", Config(cache_dir=tmp / "cache"), pdf=True)
    assert report.pdf_missing == ""
    assert set(report.pdfs) == {"fr", "en", "es"}
    return report.pdfs["fr"]


def test_the_pdf_holds_every_fact_of_the_issue(french_pdf: Path) -> None:
    assert french_pdf == french_pdf.parent.parent / "fr" / "infolettre-2018-06-fr.pdf"
    text = _folded(subprocess.run(["pdftotext", "-enc", "UTF-8", str(french_pdf), "-"],
                                  check=True, capture_output=True, text=True).stdout)
    bare = "".join(text.split())  # an address may be cut at the end of a line
    issue = load_issue(SAMPLE).issue
    assert issue is not None
    t = catalogue("fr")
    assert issue.title in text and t.day(issue.date) in text  # the cover header
    news = [item for item in issue.news if item.lang == "fr"]
    assert len(news) >= 9
    for item in news:
        assert _folded(item.title) in text, item.title
        for contact in item.contacts:
            assert _folded(contact.name) in text, contact.name
            assert contact.email in bare, contact.email
    entries = [*issue.internal, *issue.external]
    assert len(entries) >= 8
    for entry in entries:
        assert f"{_folded(t.span(entry.when))} {_folded(entry.title)}" in text, entry
    for movement in issue.movements:
        if movement.email:
            assert movement.email in bare, movement.email
    assert issue.contact_email in bare
    for person in issue.team:
        assert person.name in text
    # The order of the printed InfoLettre: agenda, then edito, then the news.
    assert text.index(t("agenda").upper()) < text.index(t("edito").upper()) \
        < text.index(_folded(news[0].title))


def _objects(path: Path) -> bytes:
    """The PDF's bytes with its compressed streams (object streams too) inflated."""
    raw = path.read_bytes()
    inflated = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", raw, re.S):
        with contextlib.suppress(zlib.error):  # an image's data, or not deflated
            inflated.append(zlib.decompress(stream))
    return raw + b"".join(inflated)


def test_the_pdf_is_a4_numbered_linked_and_shows_its_image(french_pdf: Path) -> None:
    info = subprocess.run(["pdfinfo", str(french_pdf)], check=True, capture_output=True,
                          text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert "(A4)" in info and 2 <= pages <= 30
    last = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), str(french_pdf),
                           "-"], check=True, capture_output=True, text=True).stdout
    assert f"{pages} / {pages}" in last  # the footer's page counters
    assert b"/URI (http://www.reseaucitesdesmetiers.com/44-news.php)" in _objects(french_pdf)
    assert b"/URI (mailto:accueil@cdmcharleroi.be)" in _objects(french_pdf)  # clickable
    images = subprocess.run(["pdfimages", "-list", str(french_pdf)], check=True,
                            capture_output=True, text=True).stdout.splitlines()[2:]
    assert images, "the Charleroi item's image is not embedded"
    assert french_pdf.stat().st_size < 2_000_000


def test_build_writes_no_pdf_unless_asked(tmp_path: Path, config: Config) -> None:
    """``build_issue`` is what previews and benchmarks call: the PDF is ``build``'s."""
    report = build_issue(SAMPLE, tmp_path / "out", config)
    assert report.pdfs == {} and report.pdf_missing == ""
    assert not list((tmp_path / "out").rglob("*.pdf"))


def test_no_pdf_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["build", str(SAMPLE), "--out", str(tmp_path / "b"),
                                      "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "b").rglob("*.pdf"))
    assert "PDF" not in result.output
    assert (tmp_path / "b" / "fr" / "index.html").is_file()


def test_without_weasyprint_build_writes_the_rest_and_says_how_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint fails
    result = CliRunner().invoke(cli, ["build", str(SAMPLE), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert result.output.count("pip install 'infolettre[pdf]'") == 1
    assert "libpango-1.0-0 libpangoft2-1.0-0" in result.output
    for lang in ("fr", "en", "es"):
        assert (tmp_path / "b" / lang / "email.html").is_file()
    assert not list((tmp_path / "b").rglob("*.pdf"))


def test_the_page_given_to_weasyprint(tmp_path: Path) -> None:
    """Images come from the published files, never the network; a link that shows its
    own address is not followed by it a second time."""
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "photo.png").write_bytes(b"\x89PNG")
    page = ('<html><body><main><p><img src="https://ex.org/2018-06/news/photo.png" alt="a">'
            '<img src="https://elsewhere.example/track.gif" alt="Logo">after '
            '<img src="https://ex.org/2018-06/../secret.png" alt="out">'
            '<a href="https://ex.org/x/">https://ex.org/x</a> '
            '<a class="k" href="mailto:a@ex.org">a@ex.org</a> '
            '<a href="https://ex.org/y">the y page</a></p></main></body></html>')
    prepared = pdf._prepared(page, "https://ex.org/2018-06/", tmp_path)
    assert f'src="{(tmp_path / "news" / "photo.png").resolve().as_uri()}"' in prepared
    assert "elsewhere.example" not in prepared and "secret.png" not in prepared
    assert '<span class="image-alt">Logo</span>after' in prepared
    assert '<a href="https://ex.org/x/" class="url-shown">' in prepared
    assert '<a class="k url-shown" href="mailto:a@ex.org">' in prepared
    assert '<a href="https://ex.org/y">the y page' in prepared


def test_the_archive_links_each_editions_pdf(tmp_path: Path, issues: Path) -> None:
    _require_pdf_tools()
    config = Config(base_url="https://x.org/nl", issues_dir=issues,
                    cache_dir=tmp_path / "cache")
    out = tmp_path / "site"
    archive = build_archive(config, out, {"2018-06"})
    assert archive.pdf_missing == ""
    pdfs = {lang: out / lang / "2018-06" / f"infolettre-2018-06-{lang}.pdf"
            for lang in ("fr", "en", "es")}
    assert archive.pdfs == {"2018-06": pdfs}
    assert all(p.read_bytes().startswith(b"%PDF-") for p in pdfs.values())
    root = (out / "index.html").read_text(encoding="utf-8")
    assert '<a href="fr/2018-06/infolettre-2018-06-fr.pdf" type="application/pdf">' in root
    for lang in ("en", "es"):  # each language's index, its own edition's
        index = (out / lang / "index.html").read_text(encoding="utf-8")
        assert f'<a href="2018-06/infolettre-2018-06-{lang}.pdf"' in index
    made = {lang: p.stat().st_mtime_ns for lang, p in pdfs.items()}
    build_archive(config, out, {"2018-06"})  # the service rebuilds on any change
    assert {lang: p.stat().st_mtime_ns for lang, p in pdfs.items()} == made
    build_archive(config, out, {"2018-06"}, with_pdf=False)
    assert not any(p.exists() for p in pdfs.values())
    assert ".pdf" not in (out / "index.html").read_text(encoding="utf-8")


def test_an_archive_without_weasyprint_links_no_pdf(tmp_path: Path, issues: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    config = Config(base_url="https://x.org/nl", issues_dir=issues,
                    cache_dir=tmp_path / "cache")
    archive = build_archive(config, tmp_path / "site", {"2018-06"})
    assert "pip install 'infolettre[pdf]'" in archive.pdf_missing
    assert archive.pdfs == {} and not list((tmp_path / "site").rglob("*.pdf"))
    assert ".pdf" not in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")

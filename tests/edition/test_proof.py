"""proof: the email in a real headless Chromium, at desktop and phone widths."""

from __future__ import annotations

import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.edition.build import build_issue
from infolettre.edition.proof import (
    Shot,
    contact_sheet,
    editions_to_proof,
    proof,
    screenshot,
    strip_styles,
)

from ..conftest import BASE_URL, SAMPLE


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample built with its base URL on disk, so images load without a network."""
    root = tmp_path_factory.mktemp("site")
    built = build_issue(SAMPLE, root / "2018-06", Config(base_url=root.as_uri()))
    return next(iter(built.editions.values()))  # the source language's edition


@pytest.mark.parametrize("width", [600, 375])
def test_email_renders_without_horizontal_overflow(chromium, local_build: Path,
                                                   tmp_path: Path, width: int) -> None:
    shot = screenshot(chromium, (local_build / "email.html").as_uri(), width,
                      tmp_path / f"email-{width}.png")
    assert shot.page_width == width and not shot.overflows
    assert shot.path.stat().st_size > 50_000  # a blank page compresses to a few KB
    page = chromium.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto((local_build / "email.html").as_uri())
        text = page.evaluate("document.body.innerText")
        assert "Création d'un album jeunesse" in text and len(text) > 15_000
        assert page.evaluate("document.body.scrollHeight") > 5_000
        images = page.evaluate("Array.from(document.images).map(i => [i.naturalWidth, "
                               "i.getBoundingClientRect().width])")
        assert images and all(natural > 0 and 0 < shown <= width for natural, shown in images)
        assert page.evaluate("getComputedStyle(document.querySelector('.preheader'))"
                             ".display") == "none"
    finally:
        page.close()


def test_phone_layout_stacks_the_agenda(chromium, local_build: Path) -> None:
    page = chromium.new_page(viewport={"width": 375, "height": 900})
    try:
        page.goto((local_build / "email.html").as_uri())
        when = page.locator(".agenda-when").first.bounding_box()
        what = page.locator(".agenda-what").first.bounding_box()
        assert what["y"] > when["y"]  # below the date, not beside it
    finally:
        page.close()


#: Every view ``proof`` takes by default, in its order, and the width of its PNG.
VIEWS = {"600": 600, "375": 375, "375-nostyle": 375, "dark": 375, "noimages": 600}


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, from its header."""
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class Links(HTMLParser):
    """The images and links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found["src"] or "")
        elif tag == "a":
            self.links.append(found["href"] or "")


@pytest.fixture(scope="module")
def proofed(chromium, tmp_path_factory: pytest.TempPathFactory):
    """``proof`` of the sample with a configuration whose cache holds the build's entries:
    what it wrote, where, and those entries as they were before."""
    root = tmp_path_factory.mktemp("proof")
    config = Config(base_url=BASE_URL, cache_dir=root / "cache")
    build_issue(SAMPLE, root / "site", config)
    cached = {p.name: p.read_bytes() for p in config.cache_dir.iterdir()}
    # In a thread of its own: Playwright's sync API allows one driver per thread, and
    # the ``chromium`` fixture holds this one's.
    with ThreadPoolExecutor(1) as pool:
        proofs = pool.submit(proof, SAMPLE, root / "out", config).result(timeout=120)
    return proofs, root / "out", config, cached


def test_proof_writes_every_view_as_a_png_of_its_width(proofed) -> None:
    proofs, out, _, _ = proofed
    assert [s.path for s in proofs.shots] == [out / f"email-{v}.png" for v in VIEWS]
    for shot, width in zip(proofs.shots, VIEWS.values(), strict=True):
        assert shot.width == width and png_size(shot.path)[0] == width
        assert shot.lang == "fr" and shot.caption  # the source's edition by default
        assert shot.path.stat().st_size > 50_000  # a blank page compresses to a few KB


def test_without_its_style_block_the_email_fits_a_phone(proofed) -> None:
    proofs, out, _, _ = proofed
    shots = {s.path.name: s for s in proofs.shots}
    unstyled = shots["email-375-nostyle.png"]
    assert unstyled.page_width <= 375 and not unstyled.overflows
    # The @media rules were gone: the agenda no longer stacks, so the page is shorter
    # or longer than with them, never the same.
    assert png_size(unstyled.path)[1] != png_size(out / "email-375.png")[1]


def test_dark_mode_view_is_dark(proofed) -> None:
    _, out, _, _ = proofed
    with Image.open(out / "email-dark.png") as dark, Image.open(out / "email-375.png") as light:
        assert sum(dark.convert("RGB").getpixel((10, 10))) < 200  # type: ignore[arg-type]
        assert sum(light.convert("RGB").getpixel((10, 10))) > 600  # type: ignore[arg-type]


def test_images_blocked_view_shows_none_and_keeps_their_room(proofed) -> None:
    proofs, out, _, _ = proofed
    shots = {s.path.name: s for s in proofs.shots}
    assert shots["email-600.png"].images_shown >= 1
    assert shots["email-noimages.png"].images_shown == 0
    # The width and height of each image hold its place: nothing moves up.
    assert png_size(out / "email-noimages.png") == png_size(out / "email-600.png")


def test_contact_sheet_shows_every_png_by_relative_links(proofed) -> None:
    proofs, out, _, _ = proofed
    assert proofs.sheet == out / "proofs.html"
    text = proofs.sheet.read_text(encoding="utf-8")
    page = Links()
    page.feed(text)
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert sorted(page.images) == pngs and set(page.links) == set(pngs)
    assert all((out / src).is_file() and ":" not in src for src in page.images)
    assert all(escape(s.caption) in text for s in proofs.shots)
    assert "Edition fr" in text and "scrolls sideways" not in text


def test_proof_leaves_the_configured_cache_alone(proofed) -> None:
    # Its temporary address once replaced the build's entries, and send rendered again.
    _, _, config, cached = proofed
    assert {p.name: p.read_bytes() for p in config.cache_dir.iterdir()} == cached


def test_proof_command_proofs_the_edition_asked_for(chromium, tmp_path: Path) -> None:
    # In a process of its own, as ``proofed`` takes its thread.
    result = subprocess.run([sys.executable, "-m", "infolettre", "proof", str(SAMPLE),
                             "--out", str(tmp_path / "proof"), "--lang", "en",
                             "--width", "600"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = [n for n in VIEWS if n != "375"]
    for name in names:
        shot = tmp_path / "proof" / f"email-{name}.png"
        assert png_size(shot)[0] == VIEWS[name] and shot.name in result.stdout
    assert not (tmp_path / "proof" / "email-375.png").exists()
    assert result.stdout.splitlines()[-1].endswith("proofs.html")
    sheet = (tmp_path / "proof" / "proofs.html").read_text(encoding="utf-8")
    assert "Edition en" in sheet and "Edition fr" not in sheet
    assert "scrolls sideways" not in result.stdout


def test_proof_names_the_editions_when_the_language_is_not_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["proof", str(SAMPLE), "--out", str(tmp_path),
                                      "--lang", "de"])
    assert result.exit_code == 2 and "its editions: fr, en, es" in result.output
    result = CliRunner().invoke(cli, ["proof", str(SAMPLE), "--out", str(tmp_path),
                                      "--lang", "en", "--all-editions"])
    assert result.exit_code == 2 and "one or the other" in result.output


def test_strip_styles_leaves_the_inline_styles() -> None:
    html = ('<head><style>p { color: red }</style><STYLE type="text/css">\n@media x {}\n'
            '</STYLE ></head><p style="margin: 0">x</p>')
    assert strip_styles(html) == '<head></head><p style="margin: 0">x</p>'


def test_editions_to_proof() -> None:
    built = {"fr": Path("fr"), "en": Path("en"), "es": Path("es")}
    assert editions_to_proof(built, None, False) == {"fr": Path("fr")}
    assert editions_to_proof(built, "es", False) == {"es": Path("es")}
    assert editions_to_proof(built, None, True) == built


def test_contact_sheet_of_several_editions_is_a_row_each(tmp_path: Path) -> None:
    shots = [Shot(tmp_path / lang / f"email-{v}.png", w, w, f"caption {v}", lang)
             for lang in ("fr", "en") for v, w in VIEWS.items()]
    text = contact_sheet(shots, tmp_path, "2018-06")
    page = Links()
    page.feed(text)
    assert page.images == [f"{s.lang}/{s.path.name}" for s in shots]
    assert text.index("Edition fr") < text.index("fr/email-600.png") \
        < text.index("Edition en") < text.index("en/email-600.png")
    wide = contact_sheet([Shot(tmp_path / "email-375.png", 375, 420, "c", "fr")],
                         tmp_path, "2018-06")
    assert "The page is 420 px wide: it scrolls sideways." in wide


def test_missing_chromium_is_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INFOLETTRE_CHROMIUM", str(tmp_path / "no-chromium"))
    result = CliRunner().invoke(cli, ["proof", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no such file" in result.output
    monkeypatch.delenv("INFOLETTRE_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(cli, ["proof", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "apt-get install chromium" in result.output

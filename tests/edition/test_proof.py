"""proof: the email in a real headless Chromium, at desktop and phone widths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.edition.build import build_issue
from infolettre.edition.proof import screenshot

from ..conftest import SAMPLE


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


def test_proof_command_writes_both_screenshots(chromium, tmp_path: Path) -> None:
    # In a process of its own: Playwright's sync API allows one driver per thread,
    # and the ``chromium`` fixture holds this one's.
    result = subprocess.run([sys.executable, "-m", "infolettre", "proof", str(SAMPLE),
                             "--out", str(tmp_path / "proof")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for width in (600, 375):
        shot = tmp_path / "proof" / f"email-{width}.png"
        assert shot.read_bytes().startswith(b"\x89PNG") and str(width) in result.stdout
    assert "scrolls sideways" not in result.stdout


def test_missing_chromium_is_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INFOLETTRE_CHROMIUM", str(tmp_path / "no-chromium"))
    result = CliRunner().invoke(cli, ["proof", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no such file" in result.output
    monkeypatch.delenv("INFOLETTRE_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(cli, ["proof", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "apt-get install chromium" in result.output

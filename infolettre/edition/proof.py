"""Screenshots of the built email in headless Chromium, for proofreading.

The editorial team looks at the email as a 600 px desktop client and a 375 px
phone would show it, before anything is sent. The issue is built into a
temporary folder with its base URL pointing there, so images load from disk
and nothing is fetched from the network.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import Config
from ..content.layout import issue_slug
from ..errors import InfoLettreError
from .build import EMAIL_HTML, build_issue

__all__ = ["Shot", "browser", "find_chromium", "proof", "screenshot"]

WIDTHS = (600, 375)
# Flags for a headless Chromium on a machine without a network or a display.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@dataclass(frozen=True)
class Shot:
    """One screenshot, and whether the page was wider than the viewport."""

    path: Path
    width: int
    page_width: int

    @property
    def overflows(self) -> bool:
        """True when the reader would have to scroll sideways."""
        return self.page_width > self.width


def find_chromium() -> str:
    """Path of the Chromium executable: $INFOLETTRE_CHROMIUM, or one on PATH."""
    configured = os.environ.get("INFOLETTRE_CHROMIUM")
    if configured:
        if not Path(configured).is_file():
            raise InfoLettreError(f"INFOLETTRE_CHROMIUM={configured}: no such file")
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise InfoLettreError("Chromium was not found: install it (Debian/Ubuntu: "
                          "`apt-get install chromium`) or set INFOLETTRE_CHROMIUM to its path")


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright, closed on exit."""
    executable = find_chromium()
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise InfoLettreError("screenshots need Playwright: "
                              "pip install 'infolettre[proof]'") from None
    with sync_playwright() as pw:
        try:
            instance = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as exc:
            raise InfoLettreError(f"{executable}: Chromium failed to start: "
                                  f"{str(exc).splitlines()[0]}") from None
        try:
            yield instance
        finally:
            instance.close()


def screenshot(instance: Any, url: str, width: int, path: Path) -> Shot:
    """A full-page screenshot of ``url`` in a viewport ``width`` pixels wide."""
    page = instance.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(url, wait_until="load")
        page_width = page.evaluate("document.documentElement.scrollWidth")
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.close()
    return Shot(path, width, page_width)


def proof(issue_dir: Path, out: Path, config: Config,
          widths: tuple[int, ...] = WIDTHS) -> list[Shot]:
    """Build the issue and write ``out/email-WIDTH.png`` for each width."""
    with tempfile.TemporaryDirectory(prefix="infolettre-proof-") as tmp:
        root = Path(tmp)
        local = replace(config, base_url=root.as_uri())
        slug = issue_slug(issue_dir)
        built = build_issue(issue_dir, root / slug, local)
        source = next(iter(built.editions.values()))  # the source language's edition
        with browser() as instance:
            url = (source / EMAIL_HTML).as_uri()
            return [screenshot(instance, url, w, out / f"email-{w}.png") for w in widths]

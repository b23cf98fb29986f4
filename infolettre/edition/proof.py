"""Screenshots of the built email in headless Chromium, as clients show it, for proofreading.

The editorial team looks at the email, before anything is sent, as a 600 px desktop
client and a 375 px phone show it, and as the clients that change it do: the Gmail
apps, which remove the ``<style>`` block for accounts other than Google's; a client
in dark mode (``prefers-color-scheme: dark``); a client that blocks images, as
Outlook does by default, where only the alt texts and the sizes reserved for the
images show. ``proofs.html`` puts them side by side with their captions.

The issue is built into a temporary folder with its base URL pointing there, so
images load from disk and nothing is fetched from the network. One browser takes
every view, a page each.
"""

from __future__ import annotations

import base64
import html
import os
import re
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

__all__ = ["CLIENT_VIEWS", "SHEET", "WIDTHS", "Proofs", "Shot", "View", "browser",
           "contact_sheet", "editions_to_proof", "find_chromium", "proof", "screenshot",
           "strip_styles"]

WIDTHS = (600, 375)
SHEET = "proofs.html"
# Flags for a headless Chromium on a machine without a network or a display.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
_STYLE = re.compile(r"<style\b.*?</style\s*>", re.S | re.I)


@dataclass(frozen=True)
class View:
    """One way a client shows the email: its viewport, and what it takes away."""

    name: str  # the PNG is email-NAME.png
    width: int
    caption: str
    styles: bool = True  # False: the <style> blocks removed
    dark: bool = False  # prefers-color-scheme: dark
    images: bool = True  # False: every image request fails


def plain_view(width: int) -> View:
    """The email as it is, in a viewport ``width`` pixels wide."""
    kind = "desktop client" if width >= 600 else "phone"
    return View(str(width), width, f"{width} px, as a {kind} shows it")


#: The views of clients that change the email, taken besides the plain widths.
CLIENT_VIEWS = (
    View("375-nostyle", 375, "375 px without its <style> block, as the Gmail apps show it "
         "for accounts other than Google's", styles=False),
    View("dark", 375, "375 px in dark mode (prefers-color-scheme: dark), as Apple Mail "
         "and phones set to dark show it", dark=True),
    View("noimages", 600, "600 px with images blocked, as Outlook shows it by default: "
         "alt texts and reserved sizes only", images=False),
)


@dataclass(frozen=True)
class Shot:
    """One screenshot, and whether the page was wider than the viewport."""

    path: Path
    width: int
    page_width: int
    caption: str = ""
    lang: str = ""  # the edition's language
    images_shown: int = 0  # the images loaded and shown

    @property
    def overflows(self) -> bool:
        """True when the reader would have to scroll sideways."""
        return self.page_width > self.width


@dataclass(frozen=True)
class Proofs:
    """What ``proof`` wrote: every screenshot, and the contact sheet that shows them."""

    shots: list[Shot]
    sheet: Path


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


def _block_images(route: Any) -> None:
    """Fail the request of an image, as a client that blocks images never makes it."""
    if route.request.resource_type == "image":
        route.abort()
    else:
        route.continue_()


_SHOWN = "Array.from(document.images).filter(i => i.naturalWidth > 0).length"


def _shoot(page: Any, width: int, path: Path, caption: str) -> Shot:
    """The full-page screenshot of what ``page`` shows now, and how wide it is."""
    page_width, height, shown = page.evaluate(
        f"[document.documentElement.scrollWidth, document.documentElement.scrollHeight, "
        f"{_SHOWN}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Chromium's own capture of the whole page, as page.screenshot(full_page=True) asks
    # for it, but encoded for speed: a page of 15 phone screens takes half the time.
    cdp = page.context.new_cdp_session(page)
    try:
        taken = cdp.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "optimizeForSpeed": True,
            "clip": {"x": 0, "y": 0, "width": page_width, "height": height, "scale": 1}})
    finally:
        cdp.detach()
    path.write_bytes(base64.b64decode(taken["data"]))
    return Shot(path, width, page_width, caption, images_shown=shown)


def screenshot(instance: Any, url: str, width: int, path: Path, *,
               dark: bool = False, images: bool = True, caption: str = "") -> Shot:
    """A full-page screenshot of ``url`` in a viewport ``width`` pixels wide, in dark
    mode with ``dark``, every image request refused without ``images``."""
    page = instance.new_page(viewport={"width": width, "height": 900},
                             color_scheme="dark" if dark else "light")
    try:
        if not images:
            page.route("**/*", _block_images)
        page.goto(url, wait_until="load")
        return _shoot(page, width, path, caption)
    finally:
        page.close()


class _Pages:
    """One page per viewport width, each loaded again only when the view needs another
    file or another answer to image requests: dark mode is emulated in place."""

    def __init__(self, instance: Any) -> None:
        self.instance = instance
        self.pages: dict[int, Any] = {}
        self.loaded: dict[int, tuple[str, bool]] = {}

    def shoot(self, view: View, url: str, path: Path) -> Shot:
        """The screenshot of ``url`` as ``view`` shows it, into ``path``."""
        page = self.pages.get(view.width)
        if page is None:
            page = self.pages[view.width] = self.instance.new_page(
                viewport={"width": view.width, "height": 900})
        page.emulate_media(color_scheme="dark" if view.dark else "light")
        was = self.loaded.get(view.width)
        if was != (url, view.images):
            blocking = was is not None and not was[1]
            if blocking and view.images:
                page.unroute("**/*", _block_images)
            elif not blocking and not view.images:
                page.route("**/*", _block_images)
            page.goto(url, wait_until="load")
            self.loaded[view.width] = (url, view.images)
        return _shoot(page, view.width, path, view.caption)

    def close(self) -> None:
        """Close every page."""
        for page in self.pages.values():
            page.close()


def strip_styles(text: str) -> str:
    """The HTML without its ``<style>`` blocks, as the Gmail apps receive it for
    accounts other than Google's: only the inline styles are left."""
    return _STYLE.sub("", text)


def editions_to_proof(built: dict[str, Path], lang: str | None,
                      all_editions: bool) -> dict[str, Path]:
    """The editions to proof: every one, the one in ``lang``, else the source's."""
    if all_editions:
        return built
    if lang is None:
        first = next(iter(built))  # the source language's edition comes first
        return {first: built[first]}
    if lang not in built:
        raise InfoLettreError(f"--lang {lang}: the issue has no edition in {lang}; "
                              f"its editions: {', '.join(built)}")
    return {lang: built[lang]}


def _urls(folder: Path) -> dict[bool, str]:
    """The address of the edition's email in ``folder``, with its styles (True) and
    without (False, a copy written beside it)."""
    email = folder / EMAIL_HTML
    unstyled = folder / "email-nostyle.html"
    unstyled.write_text(strip_styles(email.read_text(encoding="utf-8")), encoding="utf-8")
    return {True: email.as_uri(), False: unstyled.as_uri()}


def _by_page(view: View) -> tuple[int, bool, bool]:
    """The order that loads each page least: by width, then file, then images."""
    return (view.width, not view.styles, not view.images)


def proof(issue_dir: Path, out: Path, config: Config, widths: tuple[int, ...] = WIDTHS, *,
          lang: str | None = None, all_editions: bool = False) -> Proofs:
    """Build the issue and write ``out/email-VIEW.png`` for each width and each of
    ``CLIENT_VIEWS``, and ``out/proofs.html`` showing them.

    The source language's edition, unless ``lang`` names another or ``all_editions``;
    when several are proofed, each edition's screenshots go into ``out/LANG/`` and the
    one contact sheet shows them all, an edition a row.
    """
    views = [plain_view(w) for w in dict.fromkeys(widths)] + list(CLIENT_VIEWS)
    shots: list[Shot] = []
    with tempfile.TemporaryDirectory(prefix="infolettre-proof-") as tmp:
        root = Path(tmp)
        # A cache of its own: the configuration's keeps one entry per edition, which an
        # entry for this temporary address would replace, and send render again.
        local = replace(config, base_url=root.as_uri(), cache_dir=root / "cache")
        built = build_issue(issue_dir, root / issue_slug(issue_dir), local)
        chosen = editions_to_proof(built.editions, lang, all_editions)
        several = len(chosen) > 1
        with browser() as instance:
            pages = _Pages(instance)
            try:
                for edition_lang, folder in chosen.items():
                    urls = _urls(folder)
                    target = out / edition_lang if several else out
                    # A page per width, each loaded as few times as can be: then in order.
                    taken = {view: pages.shoot(view, urls[view.styles],
                                               target / f"email-{view.name}.png")
                             for view in sorted(views, key=_by_page)}
                    shots += [replace(taken[view], lang=edition_lang) for view in views]
            finally:
                pages.close()
    sheet = out / SHEET
    sheet.write_text(contact_sheet(shots, out, issue_slug(issue_dir)), encoding="utf-8")
    return Proofs(shots, sheet)


def contact_sheet(shots: list[Shot], out: Path, title: str) -> str:
    """A page of ``out`` showing ``shots`` side by side with their captions, an edition a
    row, each at half its size and linked to the PNG itself: relative links only, so that
    it opens from the folder, without a server."""
    rows: dict[str, list[str]] = {}
    for shot in shots:
        href = html.escape(shot.path.relative_to(out).as_posix())
        name = html.escape(shot.path.name)
        note = (f" <strong>The page is {shot.page_width} px wide: it scrolls sideways."
                "</strong>" if shot.overflows else "")
        rows.setdefault(shot.lang, []).append(
            f'<figure style="width: {shot.width // 2}px"><figcaption>'
            f'<a href="{href}">{name}</a>: {html.escape(shot.caption)}.{note}</figcaption>'
            f'<a href="{href}"><img src="{href}" width="{shot.width // 2}" '
            f'alt="{name} at full size"></a></figure>')
    sections = "".join(
        f'<section><h2>Edition {html.escape(lang)}</h2><div class="row">{"".join(figures)}'
        "</div></section>" for lang, figures in rows.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Proofs of {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1rem; color: #222; background: #eee; }}
.row {{ display: flex; gap: 1.5rem; align-items: flex-start; overflow-x: auto; }}
figure {{ margin: 0; flex: none; }}
figcaption {{ font-size: .875rem; min-height: 10em; }}
figcaption strong {{ color: #a00000; }}
img {{ display: block; height: auto; border: 1px solid #999; background: #fff; }}
</style>
</head>
<body>
<h1>Proofs of {html.escape(title)}</h1>
<p>The email as each client shows it, at half size: select one to see it at full size.</p>
{sections}
</body>
</html>
"""

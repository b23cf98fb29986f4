"""Serve an issue on this machine while it is being written.

Every request for a page rebuilds the issue when one of its files changed, so
the editorial team edits, saves and reloads. When the issue has problems, the
page lists them (``FILE:LINE: message``) instead of a stale build.
"""

from __future__ import annotations

import html
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..config import Config
from ..content.layout import find_centres_file, issue_slug
from ..errors import InfoLettreError, ProblemsFound
from ..fsutil import fingerprint
from ..messages import said_in, say
from .build import build_issue

__all__ = ["Preview", "make_server", "serve_preview"]


class Preview:
    """Builds an issue into a private folder, again whenever its sources change."""

    def __init__(self, issue_dir: Path, config: Config, root: Path, base_url: str,
                 lang: str = "en") -> None:
        self.issue_dir = issue_dir
        self.lang = lang  # the page's own words and the problems it lists
        self.slug = issue_slug(issue_dir)
        self.root = root
        self.config = replace(config, base_url=base_url)
        self.lock = threading.Lock()
        self.seen: tuple | None = None

    def refresh(self) -> None:
        """Rebuild when the sources changed since the last build."""
        with self.lock:
            centres = find_centres_file(self.issue_dir)
            current = fingerprint(self.issue_dir, *([centres] if centres else []))
            if current == self.seen:
                return
            self.seen = current
            lang = self.lang

            def t(key: str, **values: str) -> str:
                return html.escape(say(f"report.{key}", **values).said_in(lang))

            try:
                built = build_issue(self.issue_dir, self.root / self.slug, self.config,
                                    include_submitted=True)  # to review them, marked
                body = ""
                for edition_lang, folder in built.editions.items():  # one line an edition
                    here = "/" + folder.relative_to(self.root).as_posix() + "/"
                    name = "" if len(built.editions) == 1 else f"{edition_lang}: "
                    body += (f'<p>{name}<a href="{here}">{t("preview-web")}</a> · '
                             f'<a href="{here}email.html">{t("preview-html")}</a> · '
                             f'<a href="{here}email.txt">{t("preview-text")}</a></p>')
            except ProblemsFound as exc:
                body = (f"<h2>{t('preview-problems')}</h2><pre>" + html.escape(
                    "\n".join(p.said_in(lang) for p in exc.problems)) + "</pre>")
            except InfoLettreError as exc:
                said = said_in(exc.args[0], lang) if len(exc.args) == 1 else str(exc)
                body = f"<h2>{t('preview-broken')}</h2><pre>{html.escape(said)}</pre>"
            title = t("preview-title", slug=self.slug)
            page = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
                    f'<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>')
            (self.root / "index.html").write_text(page, encoding="utf-8")


class _Handler(SimpleHTTPRequestHandler):
    preview: Preview

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        """Say the charset of the text parts (UTF-8), which browsers would guess wrong."""
        if str(path).endswith(".txt"):
            return "text/plain; charset=utf-8"
        if str(path).endswith(".html"):
            return "text/html; charset=utf-8"
        return super().guess_type(path)

    def do_GET(self) -> None:
        if self.path.split("?")[0].endswith(("/", ".html", ".txt")):
            self.preview.refresh()
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(issue_dir: Path, config: Config, host: str, port: int,
                root: Path, lang: str = "en") -> ThreadingHTTPServer:
    """A server for the issue, building into ``root``; port 0 picks a free port; its
    page speaks ``lang``."""
    class Handler(_Handler):
        """This server's own handler class: it carries this server's preview."""

    handler = Handler
    try:
        server = ThreadingHTTPServer((host, port), partial(handler, directory=str(root)))
    except OSError as exc:
        raise InfoLettreError(f"{host}:{port}: cannot listen: {exc.strerror}") from None
    handler.preview = Preview(issue_dir, config, root,
                              f"http://{host}:{server.server_address[1]}", lang)
    handler.preview.refresh()
    return server


def serve_preview(issue_dir: Path, config: Config, host: str, port: int,
                  on_ready: Callable[[str], None] = lambda url: None,
                  lang: str = "en") -> None:
    """Serve the issue at http://HOST:PORT/ until interrupted."""
    with tempfile.TemporaryDirectory(prefix="infolettre-preview-") as tmp:
        server = make_server(issue_dir, config, host, port, Path(tmp), lang)
        with server:
            on_ready(f"http://{host}:{server.server_address[1]}/")
            server.serve_forever()

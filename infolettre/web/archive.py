"""The archive as the service serves it: static files, rebuilt when an issue changes.

An email's "view online" link must work as soon as the issue is sent, without
restarting the service: before serving a file, the issues folder and the
published issues (sent, or published by the editors) are looked at (at most
every ``interval`` seconds) and the archive rebuilt if either changed.

``BASE_URL/ISSUE/`` of an issue of several editions answers with a redirect to its
source language's edition (``BASE_URL/LANG/ISSUE/``), where every link sent before
the issue had editions pointed; its images stay there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from ..config import Config
from ..edition.archive import build_archive
from ..fsutil import fingerprint

__all__ = ["LiveArchive"]

log = logging.getLogger("infolettre.serve")


class LiveArchive(StaticFiles):
    """The archive's files in ``directory``, rebuilt when an issue is added or changed."""

    def __init__(self, config: Config, directory: Path, published: Callable[[], set[str]],
                 interval: float = 5.0, *, with_pdf: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(directory=directory, html=True, check_dir=False)
        self.config, self.out, self.interval = config, directory, interval
        self.with_pdf = with_pdf
        self.published = published
        self.lock = threading.Lock()
        self.checked = 0.0
        self.seen: tuple | None = None
        #: ISSUE: the address its ``BASE_URL/ISSUE/`` sends to (``Archive.redirects``).
        self.redirects: dict[str, str] = {}

    def refresh(self) -> None:
        """Rebuild the archive if the issues or the published set changed since last time."""
        with self.lock:
            if time.monotonic() - self.checked < self.interval:
                return
            self.checked = time.monotonic()
            published = self.published()
            current = (fingerprint(self.config.issues_dir, *(
                [self.config.templates_dir] if self.config.templates_dir else [])),
                sorted(published))
            if current != self.seen:
                archive = build_archive(self.config, self.out, published,
                                        with_pdf=self.with_pdf)
                if archive.pdf_missing:
                    log.warning("archive: no PDF editions: %s", archive.pdf_missing)
                for line in archive.skipped:
                    log.warning("archive: left out %s", line)
                self.seen, self.redirects = current, archive.redirects

    async def get_response(self, path: str, scope: Any) -> Response:
        await run_in_threadpool(self.refresh)
        page = path.strip("/").removesuffix("/index.html")
        if page in self.redirects:  # the issue's page, not its images
            return RedirectResponse(self.redirects[page], status_code=302)
        return await super().get_response(path, scope)

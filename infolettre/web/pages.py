"""What the service's pages share: the store of each thread, the templates, the language.

Every page is a template of ``pages/`` rendered with a catalogue in the reader's
language, never cached and never sending a Referer (their URLs hold tokens).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..audience.columns import centre_slug, fold
from ..config import Config
from ..content.i18n import Catalogue, catalogue, languages
from ..content.layout import find_centres_file
from ..content.load import load_centres
from ..content.model import Centre
from ..delivery.transports import Transport, from_dsn
from ..errors import Problem
from ..store import Store
from ..theme import environment
from .guard import PAGE_CSP, RateLimit

__all__ = ["Service", "centre_choice", "centre_options", "lang", "read_form"]

log = logging.getLogger("infolettre.serve")


class Service:
    """The configuration, the transport and the rate limit of one application,
    with one store connection per server thread."""

    def __init__(self, config: Config, transport: Transport | None, rate: RateLimit) -> None:
        self.config = config
        self.base = config.base_url.rstrip("/")
        self.transport = transport
        self.rate = rate
        self.env = environment(config.templates_dir)
        self.local = threading.local()
        self._centres: tuple[tuple[Path, int], dict[str, Centre] | None] | None = None

    def mail_transport(self) -> Transport:
        """What the service's own mails go through: the one it was given (tests), else
        the configured transport."""
        return self.transport or from_dsn(self.config.transport, self.config.secrets)

    @property
    def store(self) -> Store:
        """One connection per server thread."""
        if getattr(self.local, "store", None) is None:
            self.local.store = Store(self.config.db, self.config.secrets.get("INFOLETTRE_SECRET"))
        return self.local.store

    async def allowed(self, rate: RateLimit, key: str) -> bool:
        """Whether ``rate`` lets one more request of ``key`` through (counted in this
        thread's store, from a worker thread)."""
        return await run_in_threadpool(lambda: rate.allow(self.store, key))

    def centres(self) -> dict[str, Centre] | None:
        """The directory of centres of the configuration's issues (``cdms.yaml``), read
        again when it changes; None when there is none or it does not read cleanly
        (then the preferences page shows no centre field rather than a wrong list)."""
        path = find_centres_file(self.config.issues_dir)
        if path is None:
            return None
        try:
            key = (path, path.stat().st_mtime_ns)
        except OSError:
            return None
        cached = self._centres
        if cached is not None and cached[0] == key:
            return cached[1]
        problems: list[Problem] = []
        centres: dict[str, Centre] | None = load_centres(path, problems)
        if problems:
            log.warning("no centre field on the preferences page: %s",
                        "; ".join(map(str, problems)))
            centres = None
        self._centres = (key, centres)
        return centres

    def page(self, template: str, t: Catalogue, title: str, status: int = 200,
             **context: Any) -> HTMLResponse:
        """A page of the service, rendered in ``t``'s language."""
        html = self.env.get_template(template).render(t=t, title=title, base_url=self.base,
                                                      languages=languages(), **context)
        return HTMLResponse(html, status_code=status,
                            headers={"Cache-Control": "no-store",
                                     "Referrer-Policy": "no-referrer",  # URLs hold tokens
                                     "Content-Security-Policy": PAGE_CSP})

    def message(self, t: Catalogue, title: str, *paragraphs: str, status: int = 200,
                error: bool = False, link: tuple[str, str] | None = None) -> HTMLResponse:
        """A page that says something (done, refused, try later), with an optional link."""
        return self.page("pages/message.html.j2", t, title, status, paragraphs=paragraphs,
                         error=error, link=link)

    def bad_link(self, lang: str = "fr") -> HTMLResponse:
        """The 400 of a forged, altered or expired link."""
        t = catalogue(lang)
        return self.message(t, t("bad_link_title"), t("bad_link_text"), status=400,
                            error=True)


def lang(request: Request) -> str:
    """The reader's language: ``?lang=``, else the browser's first known one, else French."""
    wanted = request.query_params.get("lang", "")
    if wanted in languages():
        return wanted
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in languages():
            return code
    return "fr"


async def read_form(request: Request, limit: int) -> Any:
    """The POSTed form: a few short fields, never a file (nothing is spooled)."""
    return await request.form(max_files=0, max_fields=20, max_part_size=limit)


def centre_options(centres: dict[str, Centre], current: str) -> tuple[list[tuple[str, str]], str]:
    """The centres the preferences page offers, as (slug, "name (city)") sorted by name,
    and the one to select: the subscriber's ``current`` centre, found as an import
    finds it (by slug, name or city). A stored value the directory does not know
    is offered as it is, so that saving the language does not erase it unseen.
    """
    options = sorted(((slug, f"{c.name} ({c.city})" if c.city else c.name)
                      for slug, c in centres.items()), key=lambda o: (fold(o[1]), o[0]))
    selected = (centre_slug(current, centres) or current) if current else ""
    if selected and selected not in centres:
        options.insert(0, (selected, selected))
    return options, selected


def centre_choice(value: str, current: str, centres: dict[str, Centre]) -> str | None:
    """The centre to store for what the form sent: ``""`` for none, the slug of a centre
    of the directory (by slug, name or city), the ``current`` value sent back
    unchanged; None for anything else, which is refused."""
    value = value.strip()
    if not value:
        return ""
    slug = centre_slug(value, centres)
    if slug is not None:
        return slug
    return current if value == current else None

"""What the service's pages share: the store of each thread, the templates, the language.

Every page is a template of ``pages/`` rendered with a catalogue in the reader's
language, never cached and never sending a Referer (their URLs hold tokens).
"""

from __future__ import annotations

import threading
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..config import Config
from ..content.i18n import Catalogue, catalogue, languages
from ..delivery.transports import Transport
from ..store import Store
from ..theme import environment
from .guard import PAGE_CSP, RateLimit

__all__ = ["Service", "lang", "read_form"]


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

    @property
    def store(self) -> Store:
        """One connection per server thread."""
        if getattr(self.local, "store", None) is None:
            self.local.store = Store(self.config.db, self.config.secrets.get("INFOLETTRE_SECRET"))
        return self.local.store

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

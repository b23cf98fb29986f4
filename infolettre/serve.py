"""The web service: one-click unsubscribe, subscription, preferences, webhooks, archive.

A Starlette application served by uvicorn. Every page that changes something
does it on POST only: a GET (a link scanner, a mail client's prefetch) shows a
page with a button and changes nothing. RFC 8058's one-click POST
(``List-Unsubscribe=One-Click``) unsubscribes at once. Tokens are HMAC-signed
and checked in constant time; a forged or altered one changes nothing and gets
a 400. Subscription is double opt-in, rate-limited per client, and answers the
same whether or not the address is known.

Behind a reverse proxy, run it on 127.0.0.1 and forward the public base URL to
it; uvicorn reads X-Forwarded-For from the addresses in ``--forwarded-allow-ips``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import subscription as sub
from .archive import build_archive
from .config import Config
from .errors import InfoLettreError
from .fsutil import fingerprint
from .i18n import Catalogue, catalogue, languages
from .mailer import send_notice
from .render import template_environment
from .store import Store, Subscriber
from .transports import Transport, from_dsn
from .webhooks import WebhookError, handle
from .words import is_email

__all__ = ["RateLimit", "create_app"]

log = logging.getLogger("infolettre.serve")
Endpoint = Callable[[Request], Awaitable[Response]]
Action = Callable[[Request, Subscriber, Catalogue], Awaitable[Response]]


class RateLimit:
    """At most ``limit`` requests per ``window`` seconds from one client."""

    def __init__(self, limit: int = 5, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self.seen: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self.lock:
            times = self.seen[client]
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True


class _Service:
    def __init__(self, config: Config, transport: Transport | None, rate: RateLimit) -> None:
        self.config = config
        self.base = config.base_url.rstrip("/")
        self.transport = transport
        self.rate = rate
        self.env = template_environment(config.templates_dir)
        self.local = threading.local()

    @property
    def store(self) -> Store:
        """One connection per server thread."""
        if getattr(self.local, "store", None) is None:
            self.local.store = Store(self.config.db, self.config.secrets.get("INFOLETTRE_SECRET"))
        return self.local.store

    def page(self, template: str, t: Catalogue, title: str, status: int = 200,
             **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(t=t, title=title, base_url=self.base,
                                                      languages=languages(), **context)
        return HTMLResponse(html, status_code=status,
                            headers={"Cache-Control": "no-store",
                                     "Referrer-Policy": "no-referrer",
                                     "X-Content-Type-Options": "nosniff",
                                     "Content-Security-Policy": "default-src 'self'; "
                                     "style-src 'self' 'unsafe-inline'; form-action 'self'"})

    def message(self, t: Catalogue, title: str, *paragraphs: str, status: int = 200,
                error: bool = False, link: tuple[str, str] | None = None) -> HTMLResponse:
        return self.page("pages/message.html.j2", t, title, status, paragraphs=paragraphs,
                         error=error, link=link)

    def bad_link(self, lang: str = "fr") -> HTMLResponse:
        t = catalogue(lang)
        return self.message(t, t("bad_link_title"), t("bad_link_text"), status=400,
                            error=True)


def _lang(request: Request) -> str:
    wanted = request.query_params.get("lang", "")
    if wanted in languages():
        return wanted
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in languages():
            return code
    return "fr"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class _Archive(StaticFiles):
    """The archive's files, rebuilt when an issue is added or changed.

    An email's "view online" link must work as soon as the issue is sent, without
    restarting the service: before serving a file, the issues folder is looked at
    (at most every ``interval`` seconds) and the archive rebuilt if it changed.
    """

    def __init__(self, config: Config, directory: Path, interval: float = 5.0) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.config, self.out, self.interval = config, directory, interval
        self.lock = threading.Lock()
        self.checked = 0.0
        self.seen: tuple | None = None

    def refresh(self) -> None:
        with self.lock:
            if time.monotonic() - self.checked < self.interval:
                return
            self.checked = time.monotonic()
            current = fingerprint(self.config.issues_dir, *(
                [self.config.templates_dir] if self.config.templates_dir else []))
            if current != self.seen:
                archive = build_archive(self.config, self.out)
                for line in archive.skipped:
                    log.warning("archive: left out %s", line)
                self.seen = current

    async def get_response(self, path: str, scope: Any) -> Response:
        await run_in_threadpool(self.refresh)
        return await super().get_response(path, scope)


def create_app(config: Config, archive_dir: Path, *, transport: Transport | None = None,
               rate: RateLimit | None = None, archive_interval: float = 5.0) -> Starlette:
    """The application; it builds and serves the archive in ``archive_dir`` at the root."""
    svc = _Service(config, transport, rate or RateLimit())

    async def resolve(request: Request, purpose: str) -> tuple[Subscriber, Catalogue] | Response:
        """The subscriber of the URL's token and a catalogue in their language, or a 400."""
        found = await run_in_threadpool(sub.by_token, svc.store, purpose,
                                        request.path_params["token"])
        if found is None:
            return svc.bad_link(_lang(request))
        return found, catalogue(found.lang if found.lang in languages() else "fr")

    def ask(request: Request, t: Catalogue, subscriber: Subscriber, what: str) -> Response:
        """The page a GET shows: the question, and a button that POSTs."""
        return svc.page("pages/ask.html.j2", t, t(f"{what}_title"),
                        question=t(f"{what}_question", email=subscriber.email),
                        button=t(f"{what}_button"), action=str(request.url.path))

    def asking(purpose: str, what: str) -> Callable[[Action], Endpoint]:
        """A token page: GET asks the question; POST runs ``act`` (never on a GET)."""
        def wrap(act: Action) -> Endpoint:
            async def endpoint(request: Request) -> Response:
                resolved = await resolve(request, purpose)
                if isinstance(resolved, Response):
                    return resolved
                subscriber, t = resolved
                if request.method == "GET":
                    return ask(request, t, subscriber, what)
                return await act(request, subscriber, t)
            return endpoint
        return wrap

    @asking(sub.UNSUBSCRIBE, "unsub")
    async def unsubscribe(request: Request, subscriber: Subscriber, t: Catalogue) -> Response:
        form = await request.form()
        one_click = form.get("List-Unsubscribe") == "One-Click"
        if not one_click and form.get("confirm") != "yes":
            return svc.bad_link(t.lang)
        source = "one-click (RFC 8058)" if one_click else "unsubscribe page"
        await run_in_threadpool(sub.unsubscribe, svc.store, subscriber, source)
        return svc.message(t, t("unsub_title"), t("unsub_done", email=subscriber.email),
                           t("unsub_again"), link=(f"{svc.base}/subscribe?lang={t.lang}",
                                                   t("subscribe_title")))

    async def subscribe(request: Request) -> Response:
        t = catalogue(_lang(request))
        if request.method == "GET":
            return svc.page("pages/subscribe.html.j2", t, t("subscribe_title"), email="",
                            name="", error="")
        form = await request.form()
        email = str(form.get("email", "")).strip()
        name = str(form.get("name", "")).strip()[:200]
        lang = str(form.get("lang", t.lang))
        t = catalogue(lang if lang in languages() else t.lang)
        if not is_email(email):
            return svc.page("pages/subscribe.html.j2", t, t("subscribe_title"), status=422,
                            email=email, name=name, error=t("invalid_email"))
        if not svc.rate.allow(_client(request)):
            return svc.message(t, t("too_many_title"), t("too_many_text"), status=429,
                               error=True)
        try:
            await run_in_threadpool(_request_subscription, svc, email, name, t)
        except InfoLettreError as exc:  # the confirmation could not be sent: say so
            log.error("subscription of %s: %s", email, exc)
            return svc.message(t, t("unavailable_title"), t("unavailable_text"), status=503,
                               error=True)
        return svc.message(t, t("check_inbox_title"), t("check_inbox_text"))

    @asking(sub.CONFIRM, "confirm")
    async def confirm(request: Request, subscriber: Subscriber, t: Catalogue) -> Response:
        await run_in_threadpool(sub.confirm, svc.store, subscriber,
                                f"double opt-in from {_client(request)}")
        return svc.message(t, t("confirm_title"), t("confirmed_text", email=subscriber.email))

    async def preferences(request: Request) -> Response:
        resolved = await resolve(request, sub.PREFERENCES)
        if isinstance(resolved, Response):
            return resolved
        subscriber, t = resolved
        saved = False
        if request.method == "POST":
            lang = str((await request.form()).get("lang", ""))
            if lang in languages():
                await run_in_threadpool(sub.set_language, svc.store, subscriber, lang)
                updated = await run_in_threadpool(svc.store.by_id, subscriber.id)
                subscriber = updated or subscriber
                t, saved = catalogue(lang), True
        unsub = sub.token_for(svc.store, sub.UNSUBSCRIBE, subscriber)
        return svc.page("pages/preferences.html.j2", t, t("prefs_title"), subscriber=subscriber,
                        saved=saved, action=str(request.url.path),
                        unsubscribe=f"{svc.base}/unsubscribe/{unsub}")

    async def webhook(request: Request) -> Response:
        body = await request.body()
        try:
            counts = await run_in_threadpool(handle, svc.store, request.path_params["provider"],
                                             body, dict(request.headers), config.secrets)
        except WebhookError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return JSONResponse(counts)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/subscribe", subscribe, methods=["GET", "POST"]),
        Route("/confirm/{token}", confirm, methods=["GET", "POST"]),
        Route("/preferences/{token}", preferences, methods=["GET", "POST"]),
        Route("/webhooks/{provider}", webhook, methods=["POST"]),
        Route("/healthz", health),
        Mount("/", _Archive(config, archive_dir, archive_interval)),
    ]
    return Starlette(routes=routes)


def _request_subscription(svc: _Service, email: str, name: str, t: Catalogue) -> None:
    """Record the request and, when it calls for one, send the confirmation email."""
    subscriber = sub.request_subscription(svc.store, email, name=name, lang=t.lang,
                                          source="subscription form")
    if subscriber is None:
        return
    token = sub.token_for(svc.store, sub.CONFIRM, subscriber)
    transport = svc.transport or from_dsn(svc.config.transport, svc.config.secrets)
    result = send_notice(svc.config, transport, subscriber.email, t("confirm_mail_subject"),
                         t("confirm_mail_text", url=f"{svc.base}/confirm/{token}"), t.lang)
    if result.outcome.value not in ("sent", "in_doubt"):
        raise InfoLettreError(f"the confirmation was not sent: {result.detail}")

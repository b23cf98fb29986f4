"""The web service: one-click unsubscribe, subscription, preferences, webhooks, archive.

A Starlette application served by uvicorn. Every page that changes something
does it on POST only: a GET or a HEAD (a link scanner, a mail client's
prefetch) shows a page with a button and changes nothing. RFC 8058's one-click
POST (``List-Unsubscribe=One-Click``) unsubscribes at once. Tokens are
HMAC-signed and checked in constant time; a forged or altered one changes
nothing and gets a 400. Subscription is double opt-in, rate-limited per client,
and answers the same whether or not the address is known (or a confirmation
was sent).

Doors kept shut, for every request:

* Cross-site form posts. A browser's POST to a form page (subscribe, confirm,
  preferences, the unsubscribe page's button) from another site gets a 403 and
  the page again, to submit from here. The rule is Go's ``net/http``
  CrossOriginProtection: ``Sec-Fetch-Site`` when the browser sends it (only
  ``same-origin`` and ``none`` pass); otherwise ``Origin``, which must be the
  ``base_url``'s origin, the Host the request was sent to, or one of
  ``trusted_origins``; a request with neither header is not a browser's (or
  one too old to send them) and passes, since a cross-site forgery needs a
  victim's browser. The one-click POST needs no such check: it comes from
  mailbox providers' servers and its token is its authorisation.
* The client's address. The per-client rate limit uses the peer's address;
  ``X-Forwarded-For`` is read (uvicorn's ProxyHeadersMiddleware: the nearest
  address not itself a proxy) only when the peer is one of
  ``forwarded_allow_ips``; by default none is trusted.
* Request bodies. At most ``webhook_body_limit`` bytes for ``/webhooks/*``,
  ``form_body_limit`` for everything else: a larger ``Content-Length`` gets a 413
  before anything is read, and a chunked body is counted as it arrives and cut
  at the limit (413, connection closed). Forms carry no files. Postmark's and
  Brevo's credentials are checked before their body is read.
* Framing and sniffing. Every response has ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy with
  ``frame-ancestors 'none'`` (the service's pages allow nothing but their
  stylesheet and forms to themselves; the archive allows its own files and
  images from anywhere, never scripts).
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
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..audience import consent as sub
from ..audience.webhooks import WebhookError, authenticate_headers, handle
from ..config import Config
from ..content.i18n import Catalogue, catalogue, languages
from ..delivery.notices import send_notice
from ..delivery.transports import Transport, from_dsn
from ..edition.archive import build_archive, published_issues
from ..errors import InfoLettreError
from ..fsutil import fingerprint
from ..store import Store, Subscriber
from ..theme import environment
from ..words import is_email

__all__ = ["PAGE_CSP", "RateLimit", "create_app"]

#: The service's own pages: their stylesheet, their inline style, forms to themselves.
PAGE_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: Everything else (the archive, the feed, JSON, errors): no script, no framing.
DEFAULT_CSP = ("default-src 'self'; img-src 'self' https: http: data:; "
               "style-src 'self' 'unsafe-inline'; script-src 'none'; object-src 'none'; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SAFE_METHODS = ("GET", "HEAD")

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
        html = self.env.get_template(template).render(t=t, title=title, base_url=self.base,
                                                      languages=languages(), **context)
        return HTMLResponse(html, status_code=status,
                            headers={"Cache-Control": "no-store",
                                     "Referrer-Policy": "no-referrer",  # URLs hold tokens
                                     "Content-Security-Policy": PAGE_CSP})

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
    """The client's address (a trusted proxy's X-Forwarded-For already applied)."""
    return request.client.host if request.client else "unknown"


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as browsers write it in ``Origin``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


def _cross_site(request: Request, trusted: frozenset[str]) -> bool:
    """True when a browser sent this POST from another site (see the module's docstring)."""
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() in trusted:
        return False
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    if origin is None:
        return False  # not a browser: a forgery needs the victim's browser
    host = request.headers.get("host", "").lower()
    return not host or origin.lower().partition("://")[2] != host


async def _form(request: Request, limit: int) -> Any:
    """The POSTed form: a few short fields, never a file (nothing is spooled)."""
    return await request.form(max_files=0, max_fields=20, max_part_size=limit)


class _Guard:
    """ASGI middleware: body limits, security headers, no body on HEAD.

    Outside Starlette, so that even its own error pages get the headers. A body
    is counted as the application reads it: past the limit, the read raises a
    413 that Starlette answers (``Connection: close``: the rest is not read).
    """

    def __init__(self, app: ASGIApp, webhook_limit: int, form_limit: int) -> None:
        self.app, self.webhook_limit, self.form_limit = app, webhook_limit, form_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        limit = (self.webhook_limit if scope["path"].startswith("/webhooks/")
                 else self.form_limit)
        announced = dict(scope["headers"]).get(b"content-length", b"")
        if announced.isdigit() and int(announced) > limit:
            await _too_large(limit)(scope, receive, send_guarded)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large_text(limit),
                                        headers={"Connection": "close"})
            return message

        await self.app(scope, receive_limited, send_guarded)


def _too_large_text(limit: int) -> str:
    return f"the request body is over the limit of {limit} bytes"


def _too_large(limit: int) -> PlainTextResponse:
    return PlainTextResponse(_too_large_text(limit), status_code=413,
                             headers={"Connection": "close"})


class _Archive(StaticFiles):
    """The archive's files, rebuilt when an issue is added or changed.

    An email's "view online" link must work as soon as the issue is sent, without
    restarting the service: before serving a file, the issues folder and the
    published issues (sent, or published by the editors) are looked at (at most
    every ``interval`` seconds) and the archive rebuilt if either changed.
    """

    def __init__(self, config: Config, directory: Path, published: Callable[[], set[str]],
                 interval: float = 5.0) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(directory=directory, html=True, check_dir=False)
        self.config, self.out, self.interval = config, directory, interval
        self.published = published
        self.lock = threading.Lock()
        self.checked = 0.0
        self.seen: tuple | None = None

    def refresh(self) -> None:
        with self.lock:
            if time.monotonic() - self.checked < self.interval:
                return
            self.checked = time.monotonic()
            published = self.published()
            current = (fingerprint(self.config.issues_dir, *(
                [self.config.templates_dir] if self.config.templates_dir else [])),
                sorted(published))
            if current != self.seen:
                archive = build_archive(self.config, self.out, published)
                for line in archive.skipped:
                    log.warning("archive: left out %s", line)
                self.seen = current

    async def get_response(self, path: str, scope: Any) -> Response:
        await run_in_threadpool(self.refresh)
        return await super().get_response(path, scope)


def create_app(config: Config, archive_dir: Path, *, transport: Transport | None = None,
               rate: RateLimit | None = None, archive_interval: float = 5.0) -> ASGIApp:
    """The application; it builds and serves the archive in ``archive_dir`` at the root."""
    svc = _Service(config, transport, rate or RateLimit())
    trusted = frozenset({_origin(config.base_url),
                         *(_origin(o) for o in config.trusted_origins)})
    form_limit = config.form_body_limit

    async def resolve(request: Request, purpose: str) -> tuple[Subscriber, Catalogue] | Response:
        """The subscriber of the URL's token and a catalogue in their language, or a 400."""
        found = await run_in_threadpool(sub.by_token, svc.store, purpose,
                                        request.path_params["token"])
        if found is None:
            return svc.bad_link(_lang(request))
        return found, catalogue(found.lang if found.lang in languages() else "fr")

    def ask(request: Request, t: Catalogue, subscriber: Subscriber, what: str,
            status: int = 200) -> Response:
        """The page a GET shows: the question, and a button that POSTs."""
        return svc.page("pages/ask.html.j2", t, t(f"{what}_title"), status,
                        question=t(f"{what}_question", email=subscriber.email),
                        button=t(f"{what}_button"), action=str(request.url.path))

    def refused(request: Request, t: Catalogue, subscriber: Subscriber, what: str) -> Response:
        """A cross-site POST: nothing done, 403, and the question again to answer from here."""
        log.warning("refused a cross-site POST to %s (Origin %s, Sec-Fetch-Site %s)",
                    request.url.path.split("/")[1], request.headers.get("origin"),
                    request.headers.get("sec-fetch-site"))
        return ask(request, t, subscriber, what, status=403)

    def asking(purpose: str, what: str) -> Callable[[Action], Endpoint]:
        """A token page: GET asks the question; POST runs ``act`` (never on a GET)."""
        def wrap(act: Action) -> Endpoint:
            async def endpoint(request: Request) -> Response:
                resolved = await resolve(request, purpose)
                if isinstance(resolved, Response):
                    return resolved
                subscriber, t = resolved
                if request.method in SAFE_METHODS:
                    return ask(request, t, subscriber, what)
                return await act(request, subscriber, t)
            return endpoint
        return wrap

    @asking(sub.UNSUBSCRIBE, "unsub")
    async def unsubscribe(request: Request, subscriber: Subscriber, t: Catalogue) -> Response:
        form = await _form(request, form_limit)
        one_click = form.get("List-Unsubscribe") == "One-Click"
        if not one_click and _cross_site(request, trusted):  # one-click: the token suffices
            return refused(request, t, subscriber, "unsub")
        if not one_click and form.get("confirm") != "yes":
            return svc.bad_link(t.lang)
        source = "one-click (RFC 8058)" if one_click else "unsubscribe page"
        await run_in_threadpool(sub.unsubscribe, svc.store, subscriber, source)
        return svc.message(t, t("unsub_title"), t("unsub_done", email=subscriber.email),
                           t("unsub_again"), link=(f"{svc.base}/subscribe?lang={t.lang}",
                                                   t("subscribe_title")))

    async def subscribe(request: Request) -> Response:
        t = catalogue(_lang(request))
        if request.method in SAFE_METHODS or _cross_site(request, trusted):
            return svc.page("pages/subscribe.html.j2", t, t("subscribe_title"), email="",
                            name="", error="",
                            status=200 if request.method in SAFE_METHODS else 403)
        form = await _form(request, form_limit)
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
        if _cross_site(request, trusted):
            return refused(request, t, subscriber, "confirm")
        await run_in_threadpool(sub.confirm, svc.store, subscriber,
                                f"double opt-in from {_client(request)}")
        return svc.message(t, t("confirm_title"), t("confirmed_text", email=subscriber.email))

    async def preferences(request: Request) -> Response:
        resolved = await resolve(request, sub.PREFERENCES)
        if isinstance(resolved, Response):
            return resolved
        subscriber, t = resolved
        saved, status = False, 200
        if request.method == "POST" and _cross_site(request, trusted):
            status = 403  # the page again, to submit from here
        elif request.method == "POST":
            lang = str((await _form(request, form_limit)).get("lang", ""))
            if lang in languages():
                await run_in_threadpool(sub.set_language, svc.store, subscriber, lang)
                updated = await run_in_threadpool(svc.store.by_id, subscriber.id)
                subscriber = updated or subscriber
                t, saved = catalogue(lang), True
        unsub = sub.token_for(svc.store, sub.UNSUBSCRIBE, subscriber)
        return svc.page("pages/preferences.html.j2", t, t("prefs_title"), status,
                        subscriber=subscriber, saved=saved, action=str(request.url.path),
                        unsubscribe=f"{svc.base}/unsubscribe/{unsub}")

    async def webhook(request: Request) -> Response:
        provider, headers = request.path_params["provider"], dict(request.headers)
        try:
            authenticate_headers(provider, headers, config.secrets)  # before reading the body
            body = await request.body()  # bounded by _Guard
            counts = await run_in_threadpool(handle, svc.store, provider, body, headers,
                                             config.secrets)
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
        Mount("/", _Archive(config, archive_dir, lambda: published_issues(svc.store),
                            archive_interval)),
    ]
    app: ASGIApp = _Guard(Starlette(routes=routes), config.webhook_body_limit, form_limit)
    if config.forwarded_allow_ips:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app = ProxyHeadersMiddleware(app, list(config.forwarded_allow_ips))  # type: ignore[arg-type, assignment]
    return app


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

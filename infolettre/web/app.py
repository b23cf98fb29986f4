"""The web service: one-click unsubscribe, subscription, preferences, webhooks, archive.

A Starlette application served by uvicorn. Every page that changes something
does it on POST only: a GET or a HEAD (a link scanner, a mail client's
prefetch) shows a page with a button and changes nothing. RFC 8058's one-click
POST (``List-Unsubscribe=One-Click``) unsubscribes at once. Tokens are
HMAC-signed and checked in constant time; a forged or altered one changes
nothing and gets a 400. Subscription is double opt-in, rate-limited per client,
and answers the same whether or not the address is known (or a confirmation
was sent).

This module holds the routes and what each does. The doors kept shut for every
request (cross-site posts, body limits, security headers, the client's address)
are :mod:`.guard`'s; what pages share is :mod:`.pages`'; the archive served at
the root is :mod:`.archive`'s; the addresses of the token pages are
:mod:`~infolettre.audience.links`'.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from ..audience import consent as sub
from ..audience import links
from ..audience.webhooks import WebhookError, authenticate_headers, handle
from ..config import Config
from ..content.i18n import Catalogue, catalogue, languages
from ..delivery.notices import send_notice
from ..delivery.transports import Transport
from ..edition.archive import published_issues
from ..errors import InfoLettreError
from ..store import Subscriber
from ..words import is_email
from .archive import LiveArchive
from .contribute import UPLOAD_LIMIT, Contribute
from .editorial import editorial_routes
from .guard import PAGE_CSP, Guard, RateLimit, client, cross_site, origin
from .pages import Service, centre_choice, centre_options, lang, read_form

__all__ = ["PAGE_CSP", "RateLimit", "create_app"]

SAFE_METHODS = ("GET", "HEAD")

log = logging.getLogger("infolettre.serve")
Endpoint = Callable[[Request], Awaitable[Response]]
Action = Callable[[Request, Subscriber, Catalogue], Awaitable[Response]]


def create_app(config: Config, archive_dir: Path, *, transport: Transport | None = None,
               rate: RateLimit | None = None, archive_interval: float = 5.0,
               archive_pdf: bool = True) -> ASGIApp:
    """The application; it builds and serves the archive in ``archive_dir`` at the root
    (with each edition's PDF unless ``archive_pdf`` is false)."""
    svc = Service(config, transport, rate or RateLimit("subscribe"))
    trusted = frozenset({origin(config.base_url),
                         *(origin(o) for o in config.trusted_origins)})
    form_limit = config.form_body_limit

    async def resolve(request: Request, purpose: str) -> tuple[Subscriber, Catalogue] | Response:
        """The subscriber of the URL's token and a catalogue in their language, or a 400."""
        found = await run_in_threadpool(sub.by_token, svc.store, purpose,
                                        request.path_params["token"])
        if found is None:
            return svc.bad_link(lang(request))
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

    @asking(links.UNSUBSCRIBE, "unsub")
    async def unsubscribe(request: Request, subscriber: Subscriber, t: Catalogue) -> Response:
        form = await read_form(request, form_limit)
        one_click = form.get("List-Unsubscribe") == "One-Click"
        if not one_click and cross_site(request, trusted):  # one-click: the token suffices
            return refused(request, t, subscriber, "unsub")
        if not one_click and form.get("confirm") != "yes":
            return svc.bad_link(t.lang)
        source = "one-click (RFC 8058)" if one_click else "unsubscribe page"
        await run_in_threadpool(sub.unsubscribe, svc.store, subscriber, source)
        return svc.message(t, t("unsub_title"), t("unsub_done", email=subscriber.email),
                           t("unsub_again"), link=(links.subscribe_url(svc.base, t.lang),
                                                   t("subscribe_title")))

    async def subscribe(request: Request) -> Response:
        t = catalogue(lang(request))
        if request.method in SAFE_METHODS or cross_site(request, trusted):
            return svc.page("pages/subscribe.html.j2", t, t("subscribe_title"), email="",
                            name="", error="",
                            status=200 if request.method in SAFE_METHODS else 403)
        form = await read_form(request, form_limit)
        email = str(form.get("email", "")).strip()
        name = str(form.get("name", "")).strip()[:200]
        wanted = str(form.get("lang", t.lang))
        t = catalogue(wanted if wanted in languages() else t.lang)
        if not is_email(email):
            return svc.page("pages/subscribe.html.j2", t, t("subscribe_title"), status=422,
                            email=email, name=name, error=t("invalid_email"))
        if not await svc.allowed(svc.rate, client(request)):
            return svc.message(t, t("too_many_title"), t("too_many_text"), status=429,
                               error=True)
        try:
            await run_in_threadpool(_request_subscription, svc, email, name, t)
        except InfoLettreError as exc:  # the confirmation could not be sent: say so
            log.error("subscription of %s: %s", email, exc)
            return svc.message(t, t("unavailable_title"), t("unavailable_text"), status=503,
                               error=True)
        return svc.message(t, t("check_inbox_title"), t("check_inbox_text"))

    @asking(links.CONFIRM, "confirm")
    async def confirm(request: Request, subscriber: Subscriber, t: Catalogue) -> Response:
        if cross_site(request, trusted):
            return refused(request, t, subscriber, "confirm")
        await run_in_threadpool(sub.confirm, svc.store, subscriber,
                                f"double opt-in from {client(request)}")
        return svc.message(t, t("confirm_title"), t("confirmed_text", email=subscriber.email))

    async def preferences(request: Request) -> Response:
        resolved = await resolve(request, links.PREFERENCES)
        if isinstance(resolved, Response):
            return resolved
        subscriber, t = resolved
        centres = await run_in_threadpool(svc.centres)  # None: no centre field
        saved, status, error = False, 200, ""
        if request.method == "POST" and cross_site(request, trusted):
            status = 403  # the page again, to submit from here
        elif request.method == "POST":
            form = await read_form(request, form_limit)
            chosen = str(form.get("lang", ""))
            new_lang = chosen if chosen in languages() else None
            centre = None  # unchanged, unless the form has the field
            if centres is not None and "centre" in form:
                centre = centre_choice(str(form.get("centre")), subscriber.centre, centres)
                if centre is None:  # refused: nothing stored, the language neither
                    error, status = t("prefs_centre_unknown"), 422
            if not error and (new_lang is not None or centre is not None):
                await run_in_threadpool(partial(sub.set_preferences, svc.store, subscriber,
                                                lang=new_lang, centre=centre))
                updated = await run_in_threadpool(svc.store.by_id, subscriber.id)
                subscriber = updated or subscriber
                t, saved = catalogue(new_lang or t.lang), True
        options, selected = (centre_options(centres, subscriber.centre) if centres is not None
                             else (None, ""))
        unsubscribe_url = sub.link_for(svc.store, svc.base, links.UNSUBSCRIBE, subscriber)
        return svc.page("pages/preferences.html.j2", t, t("prefs_title"), status,
                        subscriber=subscriber, saved=saved, action=str(request.url.path),
                        unsubscribe=unsubscribe_url, centres=options, centre=selected,
                        error=error)

    async def webhook(request: Request) -> Response:
        provider, headers = request.path_params["provider"], dict(request.headers)
        try:
            authenticate_headers(provider, headers, config.secrets)  # before reading the body
            body = await request.body()  # bounded by Guard
            counts = await run_in_threadpool(handle, svc.store, provider, body, headers,
                                             config.secrets)
        except WebhookError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return JSONResponse(counts)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route(links.route(links.UNSUBSCRIBE), unsubscribe, methods=["GET", "POST"]),
        Route(links.SUBSCRIBE_PATH, subscribe, methods=["GET", "POST"]),
        Route(links.route(links.CONFIRM), confirm, methods=["GET", "POST"]),
        Route(links.route(links.PREFERENCES), preferences, methods=["GET", "POST"]),
        Route(links.route(links.CONTRIBUTE), Contribute(svc, trusted, form_limit).endpoint,
              methods=["GET", "POST"]),
        *editorial_routes(svc, trusted, form_limit),
        Route("/webhooks/{provider}", webhook, methods=["POST"]),
        Route("/healthz", health),
        Mount("/", LiveArchive(config, archive_dir, lambda: published_issues(svc.store),
                               archive_interval, with_pdf=archive_pdf)),
    ]
    app: ASGIApp = Guard(Starlette(routes=routes), config.webhook_body_limit, form_limit,
                         upload_limit=UPLOAD_LIMIT + form_limit)
    if config.forwarded_allow_ips:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app = ProxyHeadersMiddleware(app, list(config.forwarded_allow_ips))  # type: ignore[arg-type, assignment]
    return app


def _request_subscription(svc: Service, email: str, name: str, t: Catalogue) -> None:
    """Record the request and, when it calls for one, send the confirmation email."""
    subscriber = sub.request_subscription(svc.store, email, name=name, lang=t.lang,
                                          source="subscription form")
    if subscriber is None:
        return
    url = sub.link_for(svc.store, svc.base, links.CONFIRM, subscriber)
    result = send_notice(svc.config, svc.mail_transport(), subscriber.email,
                         t("confirm_mail_subject"), t("confirm_mail_text", url=url), t.lang)
    if result.outcome.value not in ("sent", "in_doubt"):
        raise InfoLettreError(f"the confirmation was not sent: {result.detail}")

"""The editorial page, ``BASE_URL/editorial/``: the review of an issue in a browser.

The overview is ``infolettre contributions``' (``content.review.review``), per
issue of the issues folder, newest first, and each contributed item has the
buttons of ``infolettre approve`` and ``return --comment``.

Signing in, without a password. The page asks for an address; if it is one of
``infolettre editors add``'s, it is mailed a link ``/editorial/signin/TOKEN``
whose token (its own purpose, :data:`PURPOSE`) names a row of the store and
expires after :data:`LINK_TTL` seconds. The answer is the same, and takes no
other path, whether or not the address is an editor's, and the form is
rate-limited per client as the subscription form is (and per address, so that
nobody can flood an editor's mailbox). Opening the link shows a button (a
GET, which a mail client's link scanner may send, changes nothing); its POST
marks the link used, so it works once, and sets the session cookie: HttpOnly,
SameSite=Strict, Path=/editorial, Secure unless the service's base URL is plain
http on loopback (a test or a preview, where a Secure cookie would never come
back). The session lives :data:`SESSION_TTL` seconds in the store, which keeps
the hash of the cookie, and ends with "sign out" or when the editor is removed.

Every POST of a signed-in page carries the session's CSRF token in a hidden field
and passes the service's origin check (``guard.cross_site``); anything else is
refused with a 403 and changes nothing. What an editor does is written to the
store's editorial history with their address.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..audience import tokens
from ..content.i18n import Catalogue, catalogue
from ..content.layout import NEWS_DIR, is_item_file, issue_slug
from ..content.review import CentreReview, review_issue, set_status
from ..content.scaffold import issue_folders
from ..delivery.calls import send_returned
from ..delivery.notices import send_notice
from ..delivery.transports.base import Outcome
from ..errors import InfoLettreError
from ..messages import said_in
from ..store.editors import EditorSession
from ..words import is_email
from .guard import RateLimit, client, cross_site
from .pages import Service, lang, read_form

__all__ = ["COOKIE", "LINK_TTL", "PURPOSE", "SESSION_TTL", "editorial_routes"]

log = logging.getLogger("infolettre.serve")

#: The purpose a sign-in link's token is signed for: no other link opens a session.
PURPOSE = "editorial"
#: How long a sign-in link works (once), in seconds.
LINK_TTL = 20 * 60
#: How long a session lasts, in seconds.
SESSION_TTL = 8 * 3600
#: The session cookie's name.
COOKIE = "infolettre_editorial"
PATH = "/editorial"
_LOOPBACK_NAMES = frozenset({"localhost"})


def secure_cookie(base_url: str) -> bool:
    """Whether the session cookie is marked Secure: always, unless ``base_url`` is
    plain http on a loopback address (a browser never sends a Secure cookie there)."""
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        return True
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def editorial_routes(svc: Service, trusted: frozenset[str], form_limit: int) -> list[Route]:
    """The routes of ``/editorial``, for ``create_app``'s list."""
    base = f"{svc.base}{PATH}"
    secure = secure_cookie(svc.config.base_url)
    # As the subscription form's limits, counted apart.
    per_client = RateLimit("editorial-signin", svc.rate.limit, svc.rate.window)
    per_address = RateLimit("editorial-address", svc.rate.limit, svc.rate.window)

    def session(request: Request) -> EditorSession | None:
        cookie = request.cookies.get(COOKIE, "")
        return svc.store.editor_session(cookie) if 0 < len(cookie) <= 100 else None

    def refused(t: Catalogue, why: str) -> Response:
        log.warning("editorial: refused a POST to %s (%s)", PATH, why)
        return svc.message(t, t("editorial_title"), t("editorial_refused"), status=403,
                           error=True, link=(f"{base}/", t("editorial_title")))

    async def slash(request: Request) -> Response:
        return RedirectResponse(f"{base}/", status_code=308)

    async def home(request: Request) -> Response:
        t = catalogue(lang(request))
        found = await run_in_threadpool(session, request)
        if found is None:
            return RedirectResponse(f"{base}/signin", status_code=303)
        return await overview(request, t, found, request.query_params.get("issue", ""))

    async def overview(request: Request, t: Catalogue, found: EditorSession, wanted: str,
                       status: int = 200, notice: str = "", error: str = "") -> Response:
        folders = sorted(issue_folders(svc.config.issues_dir), key=lambda p: p.name,
                         reverse=True)
        folder = next((f for f in folders if f.name == wanted), folders[0] if folders else None)
        centres = await run_in_threadpool(_review, svc, folder) if folder else []
        return svc.page("pages/editorial.html.j2", t, t("editorial_title"), status,
                        editor=found.email, csrf=found.csrf, issues=[f.name for f in folders],
                        issue=folder.name if folder else "", centres=centres, notice=notice,
                        error=error, action=base, said=_said(t.lang))

    async def signin(request: Request) -> Response:
        t = catalogue(lang(request))
        if request.method == "GET":
            if await run_in_threadpool(session, request) is not None:
                return RedirectResponse(f"{base}/", status_code=303)
            return _form(svc, t, base)
        if cross_site(request, trusted):
            return _form(svc, t, base, status=403)
        form = await read_form(request, form_limit)
        email = str(form.get("email", "")).strip()
        if not is_email(email):
            return _form(svc, t, base, email=email, error=t("invalid_email"), status=422)
        if not await svc.allowed(per_client, client(request)):
            return svc.message(t, t("too_many_title"), t("too_many_text"), status=429,
                               error=True)
        if await svc.allowed(per_address, email.lower()):  # past it: the same answer, no mail
            await run_in_threadpool(_send_link, svc, base, email, t)
        return svc.message(t, t("editorial_signin_title"), t("editorial_check_inbox",
                                                              minutes=str(LINK_TTL // 60)))

    async def signin_link(request: Request) -> Response:
        t = catalogue(lang(request))
        token = request.path_params["token"]
        link = await run_in_threadpool(_link, svc, token)
        if link is None:
            return svc.message(t, t("editorial_signin_title"), t("editorial_link_refused"),
                               status=403, error=True,
                               link=(f"{base}/signin", t("editorial_signin_button")))
        if request.method == "GET":
            return svc.page("pages/ask.html.j2", t, t("editorial_signin_title"),
                            question=t("editorial_link_question", email=link[1]),
                            button=t("editorial_link_button"), action=f"{base}/signin/{token}")
        if cross_site(request, trusted):
            return refused(t, "cross-site sign-in")
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        if not await run_in_threadpool(_open_session, svc, link, cookie, csrf,
                                       client(request)):
            return svc.message(t, t("editorial_signin_title"), t("editorial_link_refused"),
                               status=403, error=True,
                               link=(f"{base}/signin", t("editorial_signin_button")))
        response = RedirectResponse(f"{base}/", status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=SESSION_TTL, path=PATH, secure=secure,
                            httponly=True, samesite="strict")
        return response

    async def checked(request: Request, t: Catalogue) -> tuple[EditorSession, Any] | Response:
        """The session and form of a signed-in POST, or the 403 (or sign-in) it gets."""
        found = await run_in_threadpool(session, request)
        if found is None:
            return RedirectResponse(f"{base}/signin", status_code=303)
        if cross_site(request, trusted):
            return refused(t, "cross-site")
        form = await read_form(request, form_limit)
        if not hmac.compare_digest(str(form.get("csrf", "")).encode(), found.csrf.encode()):
            return refused(t, "no or wrong CSRF token")
        return found, form

    async def act(request: Request) -> Response:
        t = catalogue(lang(request))
        got = await checked(request, t)
        if isinstance(got, Response):
            return got
        found, form = got
        status = "approved" if request.url.path.endswith("/approve") else "returned"
        issue, name = str(form.get("issue", "")), str(form.get("item", ""))
        comment = str(form.get("comment", "")).strip()[:2000]
        path = _item_path(svc, issue, name)
        if path is None:
            return await overview(request, t, found, issue, 404,
                                  error=t("editorial_not_found"))
        if status == "returned" and not comment:
            return await overview(request, t, found, issue, 422,
                                  error=t("editorial_comment_needed"))
        try:
            await run_in_threadpool(_apply, svc, found.email, path, status, comment)
        except InfoLettreError as exc:
            return await overview(request, t, found, issue, 422, error=str(exc))
        done = t(f"editorial_{status}_done", item=f"{issue}/{NEWS_DIR}/{name}")
        return await overview(request, t, found, issue, notice=done)

    async def signout(request: Request) -> Response:
        t = catalogue(lang(request))
        got = await checked(request, t)
        if isinstance(got, Response):
            return got
        await run_in_threadpool(_close_session, svc, request.cookies[COOKIE], got[0].email)
        response = RedirectResponse(f"{base}/signin", status_code=303)
        response.delete_cookie(COOKIE, path=PATH, secure=secure, httponly=True,
                               samesite="strict")
        return response

    return [
        Route(PATH, slash),
        Route(f"{PATH}/", home),
        Route(f"{PATH}/signin", signin, methods=["GET", "POST"]),
        Route(f"{PATH}/signin/{{token}}", signin_link, methods=["GET", "POST"]),
        Route(f"{PATH}/approve", act, methods=["POST"]),
        Route(f"{PATH}/return", act, methods=["POST"]),
        Route(f"{PATH}/signout", signout, methods=["POST"]),
    ]


def _form(svc: Service, t: Catalogue, base: str, *, email: str = "", error: str = "",
          status: int = 200) -> Response:
    return svc.page("pages/editorial-signin.html.j2", t, t("editorial_signin_title"), status,
                    action=f"{base}/signin", email=email, error=error)


def _said(lang: str) -> Any:
    """What the page's template calls to say a problem's message in ``lang``."""
    return lambda message: said_in(message, lang)


def _review(svc: Service, folder: Path) -> list[CentreReview]:
    """The overview of an issue, as ``infolettre contributions`` shows it."""
    return review_issue(folder, svc.config, svc.store.invitations(issue_slug(folder)))


def _item_path(svc: Service, issue: str, name: str) -> Path | None:
    """The item file ``name`` of the issue ``issue`` of the issues folder, or None: both
    are looked up among what is there, so no path from a form reaches the disk."""
    folder = next((f for f in issue_folders(svc.config.issues_dir) if f.name == issue), None)
    news = folder / NEWS_DIR if folder else None
    if news is None or not news.is_dir():
        return None
    return next((p for p in news.iterdir() if p.name == name and is_item_file(p)
                 and p.is_file()), None)


def _send_link(svc: Service, base: str, email: str, t: Catalogue) -> None:
    """Mail a sign-in link to ``email`` if it is an editor's; nothing otherwise. A
    failure is logged, not shown: the answer must not tell editors from others."""
    store = svc.store
    if not store.is_editor(email):
        log.info("editorial: sign-in asked for an address that is not an editor's")
        return
    with store.transaction():
        link_id = store.new_editor_link(email)
    token = tokens.sign(store.secret, PURPOSE, link_id, email.lower(), LINK_TTL)
    try:
        result = send_notice(svc.config, svc.mail_transport(), email, t("editorial_mail_subject"),
                             t("editorial_mail_text", url=f"{base}/signin/{token}",
                               minutes=str(LINK_TTL // 60)), t.lang)
    except InfoLettreError as exc:
        log.error("editorial: the sign-in link to %s was not sent: %s", email, exc)
        return
    if result.outcome.value not in ("sent", "in_doubt"):
        log.error("editorial: the sign-in link to %s was not sent: %s", email, result.detail)


def _link(svc: Service, token: str) -> tuple[int, str] | None:
    """The link's row and address of a valid, unused, unexpired sign-in token, or None."""
    store = svc.store

    def email_of(subject: str) -> str | None:
        return store.editor_link_email(int(subject))

    subject = tokens.verify(store.secret, PURPOSE, token, email_of)
    if subject is None:
        return None
    email = email_of(subject)
    return (int(subject), email) if email else None


def _open_session(svc: Service, link: tuple[int, str], cookie: str, csrf: str,
                  where: str) -> bool:
    """Use the link and open a session, all or nothing; False when the link was used
    meanwhile (two tabs, a replay)."""
    store = svc.store
    with store.transaction():
        if not store.use_editor_link(link[0]):
            return False
        store.open_editor_session(cookie, link[1], csrf, SESSION_TTL)
        store.add_editorial_event(link[1], "signed in", f"from {where}")
    return True


def _close_session(svc: Service, cookie: str, email: str) -> None:
    with svc.store.transaction():
        svc.store.close_editor_session(cookie)
        svc.store.add_editorial_event(email, "signed out")


def _apply(svc: Service, editor: str, path: Path, status: str, comment: str) -> None:
    """Set the item's status, and write who did it to the editorial history."""
    set_status(path, status, comment)
    detail = f"{path.parent.parent.name}/{NEWS_DIR}/{path.name}"
    with svc.store.transaction():
        svc.store.add_editorial_event(editor, status, f"{detail}: {comment}" if comment
                                      else detail)
    if status == "returned":  # the author learns why, with their link, as from the CLI
        result = send_returned(svc.store, svc.config, svc.mail_transport(), path, comment)
        if result is not None and result.outcome is not Outcome.SENT:
            log.warning("the comment on %s could not be mailed: %s", detail, result.detail)

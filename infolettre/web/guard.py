"""The doors the service keeps shut, for every request.

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
* Rate limits (``RateLimit``), counted in the database rather than in the
  process's memory, so that they hold across workers and replicas.
* The client's address. The per-client rate limit uses the peer's address;
  ``X-Forwarded-For`` is read (uvicorn's ProxyHeadersMiddleware: the nearest
  address not itself a proxy) only when the peer is one of
  ``forwarded_allow_ips``; by default none is trusted.
* Request bodies. At most ``webhook_body_limit`` bytes for ``/webhooks/*``,
  ``form_body_limit`` for everything else: a larger ``Content-Length`` gets a 413
  before anything is read, and a chunked body is counted as it arrives and cut
  at the limit (413, connection closed). Forms carry no files, but the
  submission page's (``/contribute/``), whose limit is its image's and a form's. Postmark's and
  Brevo's credentials are checked before their body is read.
* Framing and sniffing. Every response has ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy with
  ``frame-ancestors 'none'`` (the service's pages allow nothing but their
  stylesheet and forms to themselves, ``PAGE_CSP``; the archive allows its own
  files and images from anywhere, never scripts, ``DEFAULT_CSP``).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..store import Store

__all__ = ["DEFAULT_CSP", "PAGE_CSP", "Guard", "RateLimit", "client", "cross_site", "origin"]

#: The service's own pages: their stylesheet, their inline style, forms to themselves.
PAGE_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: Everything else (the archive, the feed, JSON, errors): no script, no framing.
DEFAULT_CSP = ("default-src 'self'; img-src 'self' https: http: data:; "
               "style-src 'self' 'unsafe-inline'; script-src 'none'; object-src 'none'; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class RateLimit:
    """At most ``limit`` requests per ``window`` seconds from one key (a client's
    address, a link), counted in the store under ``bucket``
    (``store.requests``): every worker and replica of the service shares the count."""

    def __init__(self, bucket: str, limit: int = 5, window: float = 600.0) -> None:
        self.bucket, self.limit, self.window = bucket, limit, window

    def allow(self, store: Store, key: str) -> bool:
        """Count a request of ``key``; False when it is one too many (blocking: call
        it from a worker thread)."""
        return store.count_request(self.bucket, key, self.window) <= self.limit


def client(request: Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For already applied)."""
    return request.client.host if request.client else "unknown"


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as browsers write it in ``Origin``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


def cross_site(request: Request, trusted: frozenset[str]) -> bool:
    """True when a browser sent this POST from another site (see the module's docstring)."""
    given = request.headers.get("origin")
    if given is not None and given.lower() in trusted:
        return False
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    if given is None:
        return False  # not a browser: a forgery needs the victim's browser
    host = request.headers.get("host", "").lower()
    return not host or given.lower().partition("://")[2] != host


class Guard:
    """ASGI middleware: body limits, security headers, no body on HEAD.

    Outside Starlette, so that even its own error pages get the headers. A body
    is counted as the application reads it: past the limit, the read raises a
    413 that Starlette answers (``Connection: close``: the rest is not read).
    """

    def __init__(self, app: ASGIApp, webhook_limit: int, form_limit: int,
                 upload_limit: int | None = None, upload_prefix: str = "/contribute/") -> None:
        self.app, self.webhook_limit, self.form_limit = app, webhook_limit, form_limit
        #: The pages whose form carries a file (``upload_prefix``) may send this much.
        self.upload_limit, self.upload_prefix = upload_limit or form_limit, upload_prefix

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

        path = scope["path"]
        limit = (self.webhook_limit if path.startswith("/webhooks/")
                 else self.upload_limit if path.startswith(self.upload_prefix)
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

"""What the HTTP API transports share: one httpx client, auth, faults, retries.

Each provider module builds its request from a batch (``build``) and reads the
per-recipient results out of the answer (``parse``); this base turns transport
faults and HTTP statuses into outcomes the same way for all of them:

============================================  =======================================
what happened                                 outcome
============================================  =======================================
2xx                                           per recipient, as the provider says
400 / 422 about the whole request             FAILED, for every message of the batch
401 / 403                                     the campaign stops; nobody is marked
429                                           RETRY after Retry-After or the reset header
5xx                                           RETRY with backoff
no connection, or the request not all sent    RETRY
request sent, answer lost (timeout, reset)    IN_DOUBT (unless the provider is idempotent)
============================================  =======================================
"""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from ..message import Content, Outgoing
from .base import BatchSession, Outcome, RateLimiter, Result, Transport, TransportError

__all__ = ["ApiTransport", "HttpReply"]


@dataclass(frozen=True)
class HttpReply:
    """A provider's answer, as ``parse`` sees it."""

    status: int
    headers: Mapping[str, str]
    body: object  # decoded JSON, or the text when it is not JSON


def _decode(response: httpx.Response) -> object:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


class _ApiSession(BatchSession):
    def __init__(self, transport: ApiTransport) -> None:
        self.t = transport

    def send_batch(self, content: Content, batch: list[Outgoing]) -> list[Result]:
        return self.t.deliver(content, batch)


class ApiTransport(Transport):
    """A provider's HTTP API; subclasses say how to build and read its requests."""

    #: Short name used in DSNs ("brevo" for brevo+api://).
    name: str = ""
    #: The provider's endpoint when the DSN gives no base_url.
    default_base_url: str = ""
    #: Whether repeating the same request cannot send twice (an idempotency key).
    idempotent: bool = False
    #: The most messages one request may carry, from the provider's documentation.
    max_batch: int = 1
    #: The provider writes each message from the content and values: no MIME here.
    takes_mime = False

    def __init__(self, key: str, *, base_url: str | None = None, connections: int = 4,
                 batch_size: int | None = None, timeout: float = 60.0,
                 http: httpx.BaseTransport | None = None, rate: float | None = None) -> None:
        if not key:
            raise TransportError(f"{self.name}: no API key; put it in the DSN or in the "
                                 "environment variable named by api_key_env")
        self.key = key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.connections = connections
        self.batch_size = min(batch_size or self.max_batch, self.max_batch)
        self.timeout = timeout
        self.http = http
        self.limiter = RateLimiter(rate)
        self._client: httpx.Client | None = None
        self.calls = 0

    @property
    def client(self) -> httpx.Client:
        """The campaign's one client: connections are reused by every session."""
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, transport=self.http, headers=self.auth_headers(),
                timeout=httpx.Timeout(self.timeout, connect=10.0),
                limits=httpx.Limits(max_connections=self.connections,
                                    max_keepalive_connections=self.connections))
        return self._client

    def open(self) -> BatchSession:
        return _ApiSession(self)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def describe(self) -> str:
        return f"{self.name}+api ({self.base_url}, up to {self.batch_size} per request)"

    # -- provider specifics ---------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate every request."""
        return {}

    @abstractmethod
    def request(self, content: Content, batch: list[Outgoing]) -> httpx.Request:
        """The HTTP request that sends ``batch``."""

    @abstractmethod
    def parse(self, reply: HttpReply, batch: list[Outgoing]) -> list[Result]:
        """Per-recipient results of a 2xx answer."""

    def retry_after(self, reply: HttpReply) -> float | None:
        """Seconds to wait after a 429, from Retry-After (or a provider's reset header)."""
        value = reply.headers.get("retry-after")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None

    def error_text(self, reply: HttpReply) -> str:
        """The provider's own words about an error."""
        body = reply.body
        if isinstance(body, dict):
            for key in ("message", "Message", "error", "errors"):
                if key in body:
                    return str(body[key])[:300]
        return str(body)[:300]

    # -- one request ----------------------------------------------------------------------
    def deliver(self, content: Content, batch: list[Outgoing]) -> list[Result]:
        """Send one batch; idempotent providers repeat a request whose answer was lost.

        A recipient whose local part is not ASCII fails alone: none of the APIs
        documents SMTPUTF8 addresses (domains go in IDNA, which all take).
        """
        if any(o.smtputf8 for o in batch):
            sendable = [o for o in batch if not o.smtputf8]
            sent = iter(self.deliver(content, sendable) if sendable else [])
            return [Result(Outcome.FAILED, f"{self.name}: {o.address}: an address outside "
                           "ASCII (SMTPUTF8) is not accepted by this API") if o.smtputf8
                    else next(sent) for o in batch]
        request = self.request(content, batch)
        attempts = 3 if self.idempotent else 1
        for attempt in range(1, attempts + 1):
            outcome = self._exchange(request, batch)
            if not isinstance(outcome, _Lost) or attempt == attempts:
                break
            time.sleep(0.2 * attempt)  # the same request again: its key makes it safe
        if isinstance(outcome, _Lost):
            # Sent whole but unanswered: it may have been delivered. (An idempotent
            # provider got the same request again above; a later retry would form a
            # different batch, with a different key.)
            state = Outcome.RETRY if outcome.safe else Outcome.IN_DOUBT
            detail = f"{self.name}: no answer to the request ({outcome.detail})"
            return [Result(state, detail) for _ in batch]
        return outcome

    def _exchange(self, request: httpx.Request, batch: list[Outgoing]
                  ) -> list[Result] | _Lost:
        self.limiter.acquire()
        self.calls += 1
        try:
            response = self.client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                httpx.WriteError, httpx.WriteTimeout) as exc:
            return _Lost(f"{type(exc).__name__}: {exc}", safe=True)  # not all of it was sent
        except httpx.TransportError as exc:  # read timeout, reset, protocol error
            return _Lost(f"{type(exc).__name__}: {exc}", safe=False)
        reply = HttpReply(response.status_code, response.headers, _decode(response))
        detail = f"{self.name}: HTTP {reply.status}: {self.error_text(reply)}"
        if reply.status in (401, 403):
            raise TransportError(f"{self.name} refused the API key: {detail}")
        if reply.status == 429:
            return [Result(Outcome.RETRY, detail, retry_after=self.retry_after(reply))
                    for _ in batch]
        if reply.status >= 500:
            return [Result(Outcome.RETRY, detail) for _ in batch]
        if reply.status >= 400:
            return [Result(Outcome.FAILED, detail) for _ in batch]
        return self.parse(reply, batch)


@dataclass(frozen=True)
class _Lost:
    """No answer: ``safe`` when the request cannot have reached the provider whole."""

    detail: str
    safe: bool

"""Fakes of the four providers' APIs that enforce their documented contract.

Each fake is an ``httpx.MockTransport`` handler (usable on loopback too, see
``serve``): it checks the method, path, authentication, body shape and batch
limit, renders each recipient's message as the provider would (expanding its
template language in the subject, the headers and both bodies: Brevo's
``{{ … }}``/``{% … %}``/``{# … #}`` with ``params`` and ``contact``, Mailgun's
``%recipient.x%`` and unsubscribe variables, SendGrid's substitutions and its
subscription tracking's ``<% %>`` tag), records it, and answers with the provider's documented
bodies and headers. A script of faults can be queued: ``429``, ``500``, ``401``,
``"drop"`` (the batch is delivered, then the answer is lost), ``"refuse"``
(the connection fails before anything is sent).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx

KEY = "test-key-0123456789"


class ContractError(AssertionError):
    """The client broke the provider's documented contract."""


class Fake:
    """Common machinery: fault script, deliveries, answers."""

    name = ""
    max_batch = 0

    def __init__(self, script: list | None = None, inactive: set[str] | None = None) -> None:
        self.script = list(script or [])
        self.inactive = inactive or set()
        self.delivered: list[dict] = []
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def counts(self) -> Counter:
        return Counter(d["to"] for d in self.delivered)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests += 1
            fault = self.script.pop(0) if self.script else None
        if fault == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == 401 or not self.authorised(request):
            return self.unauthorised()
        if fault == 429:
            return self.throttled()
        if fault == 500:
            return httpx.Response(500, json={"message": "internal error"})
        response = self.handle(request)
        if fault == "drop":
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    #: Keep only addresses (not the rendered messages): for benchmarks of big lists.
    light = False

    def deliver(self, to: str, html: str, text: str, headers: dict[str, str],
                correlation: str, subject: str = "") -> None:
        record = {"to": to} if self.light else {
            "to": to, "html": html, "text": text, "headers": headers, "correlation": correlation,
            "subject": subject}
        with self.lock:
            self.delivered.append(record)

    def require(self, condition: bool, message: str) -> None:
        if not condition:
            raise ContractError(f"{self.name}: {message}")

    # provider specifics
    def authorised(self, request: httpx.Request) -> bool:
        raise NotImplementedError

    def unauthorised(self) -> httpx.Response:
        raise NotImplementedError

    def throttled(self) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow down"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError


def _render(template: str, values: dict, pattern: str) -> str:
    return re.sub(pattern, lambda m: str(values.get(m.group(1), m.group(0))), template)


#: Brevo's template language (Django-like): variables, tags, comments, left to right.
_BREVO_RE = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def _brevo(template: str, params: dict, email: str) -> str:
    """What Brevo makes of a template: ``params.x`` and ``contact.EMAIL`` filled, any other
    variable empty, tags and comments consumed (their logic is not modelled)."""
    def one(m: re.Match) -> str:
        if m.group(1) is None:
            return ""
        name = m.group(1).split("|")[0].strip()
        if name.startswith("params."):
            return str(params.get(name[7:], ""))
        return email if name == "contact.EMAIL" else ""
    return _BREVO_RE.sub(one, template)


#: Mailgun's variables: recipient variables, the address, its unsubscribe links.
_MAILGUN_RE = re.compile(r"%(recipient(?:\.(\w+))?|unsubscribe_url|tag_unsubscribe_url"
                         r"|mailing_list_unsubscribe_url)%")


def _mailgun(template: str, values: dict, address: str) -> str:
    def one(m: re.Match) -> str:
        if m.group(2):
            return str(values.get(m.group(2), m.group(0)))
        if m.group(1) == "recipient":
            return address
        return f"https://mailgun.example/u/{m.group(1)}/{address}"
    return _MAILGUN_RE.sub(one, template)


class BrevoFake(Fake):
    """POST /v3/smtp/email, api-key header, messageVersions (<= 1000), idempotencyKey."""

    name, max_batch = "brevo", 1000

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.keys: dict[str, httpx.Response] = {}

    def authorised(self, request: httpx.Request) -> bool:
        return request.headers.get("api-key") == KEY

    def unauthorised(self) -> httpx.Response:
        return httpx.Response(401, json={"code": "unauthorized", "message": "Key not found"})

    def throttled(self) -> httpx.Response:
        return httpx.Response(429, json={"code": "too_many_requests", "message": "Too many"},
                              headers={"x-sib-ratelimit-limit": "100",
                                       "x-sib-ratelimit-remaining": "0",
                                       "x-sib-ratelimit-reset": "0"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.require(request.method == "POST" and request.url.path == "/v3/smtp/email",
                     f"wrong endpoint {request.method} {request.url.path}")
        body = json.loads(request.content)
        versions = body.get("messageVersions")
        self.require(isinstance(versions, list) and 0 < len(versions) <= self.max_batch,
                     "messageVersions must hold 1 to 1000 versions")
        self.require("to" not in body, "no outer 'to' with messageVersions")
        self.require(body.get("sender", {}).get("email") and body.get("subject")
                     and body.get("htmlContent"), "sender, subject and htmlContent required")
        key = body.get("headers", {}).get("idempotencyKey", "")
        uuid.UUID(key)  # must be a UUID
        with self.lock:
            if key in self.keys:
                return self.keys[key]  # processed once per key
        ids = []
        for version in versions:
            [to] = version["to"]
            params = version.get("params", {})
            self.require(len(json.dumps(params)) <= 100_000, "params over 100 KB")
            if self.light:
                self.deliver(to["email"], "", "", {}, "")
            else:
                email = to["email"]
                headers = {k: _brevo(v, params, email)
                           for k, v in body["headers"].items() if k != "idempotencyKey"}
                self.deliver(email, _brevo(body["htmlContent"], params, email),
                             _brevo(body.get("textContent", ""), params, email),
                             headers, headers.get("X-Mailin-custom", ""),
                             _brevo(body["subject"], params, email))
            ids.append(f"<{uuid.uuid4()}@smtp-relay.mailin.fr>")
        response = httpx.Response(201, json={"messageIds": ids})
        with self.lock:
            self.keys[key] = response
        return response


class PostmarkFake(Fake):
    """POST /email/batch, X-Postmark-Server-Token, <= 500 messages, per-item ErrorCode."""

    name, max_batch = "postmark", 500

    def authorised(self, request: httpx.Request) -> bool:
        return request.headers.get("x-postmark-server-token") == KEY

    def unauthorised(self) -> httpx.Response:
        return httpx.Response(401, json={"ErrorCode": 10, "Message": "Bad or missing API token"})

    def throttled(self) -> httpx.Response:
        return httpx.Response(429, json={"ErrorCode": 429, "Message": "Rate limit exceeded"},
                              headers={"Retry-After": "0"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.require(request.method == "POST" and request.url.path == "/email/batch",
                     f"wrong endpoint {request.method} {request.url.path}")
        self.require(len(request.content) <= 50 * 1024 * 1024, "payload over 50 MB")
        messages = json.loads(request.content)
        if not isinstance(messages, list) or len(messages) > self.max_batch:
            return httpx.Response(422, json={"ErrorCode": 410,
                                             "Message": "Too many batch messages"})
        answers = []
        for m in messages:
            self.require(m.get("From") and m.get("To") and m.get("Subject")
                         and (m.get("HtmlBody") or m.get("TextBody")), "incomplete message")
            self.require(m.get("MessageStream"), "MessageStream required for broadcasts")
            to = re.search(r"<([^>]+)>$|^(\S+@\S+)$", m["To"])
            address = (to.group(1) or to.group(2)) if to else m["To"]
            if address in self.inactive:
                answers.append({"ErrorCode": 406, "Message": "You tried to send to recipient(s) "
                                "that have been marked as inactive."})
                continue
            headers = {h["Name"]: h["Value"] for h in m.get("Headers", [])}
            meta = m.get("Metadata", {})
            self.deliver(address, m.get("HtmlBody", ""), m.get("TextBody", ""), headers,
                         f"{meta.get('campaign')}:{meta.get('subscriber')}", m["Subject"])
            answers.append({"ErrorCode": 0, "Message": "OK", "MessageID": str(uuid.uuid4()),
                            "SubmittedAt": "2018-06-29T10:00:00Z", "To": m["To"]})
        return httpx.Response(200, json=answers)


class MailgunFake(Fake):
    """POST /v3/DOMAIN/messages, basic auth api:KEY, form data, recipient-variables."""

    name, max_batch = "mailgun", 1000
    domain = "mg.example.org"

    def authorised(self, request: httpx.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"api:{KEY}".encode()).decode()
        return request.headers.get("authorization") == expected

    def unauthorised(self) -> httpx.Response:
        return httpx.Response(401, text="Forbidden")

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.require(request.method == "POST"
                     and request.url.path == f"/v3/{self.domain}/messages",
                     f"wrong endpoint {request.method} {request.url.path}")
        fields = parse_qsl(request.content.decode(), keep_blank_values=True)
        to = [v for k, v in fields if k == "to"]
        form = dict(fields)
        if not to or len(to) > self.max_batch:
            return httpx.Response(400, json={"message": "Too many recipients"})
        variables = json.loads(form["recipient-variables"])
        for recipient in to:
            address = re.search(r"<([^>]+)>$", recipient)
            address = address.group(1) if address else recipient
            values = variables[address]
            headers = {k[2:]: _mailgun(v, values, address) for k, v in fields
                       if k.startswith("h:")}
            self.deliver(address, _mailgun(form["html"], values, address),
                         _mailgun(form["text"], values, address), headers,
                         _mailgun(form.get("v:correlation", ""), values, address),
                         _mailgun(form["subject"], values, address))
        return httpx.Response(200, json={"id": f"<{uuid.uuid4()}@{self.domain}>",
                                         "message": "Queued. Thank you."})


class SendgridFake(Fake):
    """POST /v3/mail/send, Bearer key, <= 1000 personalizations, 202 + X-Message-Id."""

    name, max_batch = "sendgrid", 1000

    def authorised(self, request: httpx.Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {KEY}"

    def unauthorised(self) -> httpx.Response:
        return httpx.Response(401, json={"errors": [{"message": "The provided authorization "
                                         "grant is invalid, expired, or revoked",
                                         "field": None, "help": None}]})

    def throttled(self) -> httpx.Response:
        return httpx.Response(429, json={"errors": [{"message": "too many requests"}]},
                              headers={"X-RateLimit-Limit": "600",
                                       "X-RateLimit-Remaining": "0",
                                       "X-RateLimit-Reset": "0"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.require(request.method == "POST" and request.url.path == "/v3/mail/send",
                     f"wrong endpoint {request.method} {request.url.path}")
        body = json.loads(request.content)
        people = body.get("personalizations", [])
        recipients = sum(len(p.get("to", [])) for p in people)
        if not people or recipients > self.max_batch:
            return httpx.Response(400, json={"errors": [{"message": "too many recipients",
                                                         "field": "personalizations"}]})
        content = {c["type"]: c["value"] for c in body["content"]}
        self.require(list(content) == ["text/plain", "text/html"],
                     "text/plain must come before text/html")
        tracking = body.get("tracking_settings", {}).get("subscription_tracking", {})
        for p in people:
            [to] = p["to"]
            subs = p.get("substitutions", {})
            self.require(all(isinstance(v, str) for v in subs.values()),
                         "substitution values must be strings")
            html, text = content["text/html"], content["text/plain"]
            subject = p.get("subject", body["subject"])
            for token, value in subs.items():
                html, text = html.replace(token, value), text.replace(token, value)
                subject = subject.replace(token, value)
            if tracking.get("enable", True):  # the account's default: tracking on
                link = f"https://sendgrid.example/unsubscribe/{to['email']}"
                html, text = (re.sub(r"<%.*?%>|&lt;%.*?%&gt;", link, t) for t in (html, text))
            args = p.get("custom_args", {})
            self.deliver(to["email"], html, text, {**body.get("headers", {}),
                                                   **p.get("headers", {})},
                         f"{args.get('campaign')}:{args.get('subscriber')}", subject)
        return httpx.Response(202, headers={"X-Message-Id": uuid.uuid4().hex[:22]})


FAKES = {"brevo": BrevoFake, "postmark": PostmarkFake, "mailgun": MailgunFake,
         "sendgrid": SendgridFake}


def dsn(provider: str, **options: object) -> str:
    host = MailgunFake.domain if provider == "mailgun" else "default"
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"{provider}+api://{KEY}@{host}" + (f"?{query}" if query else "")


class _Handler(BaseHTTPRequestHandler):
    fake: Fake
    protocol_version = "HTTP/1.1"

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("content-length", 0)))
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def do_POST(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        request = httpx.Request("POST", f"http://{self.headers['host']}{self.path}",
                                headers=headers, content=body)
        try:
            response = self.fake(request)
        except httpx.TransportError:
            self.close_connection = True
            return
        response.read()
        self.send_response(response.status_code)
        for k, v in response.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    def do_GET(self) -> None:
        """``/stats``: what the fake received, for a benchmark in another process."""
        counts = self.fake.counts
        body = json.dumps({"requests": self.fake.requests, "delivered": len(self.fake.delivered),
                           "recipients": len(counts),
                           "duplicates": sum(n - 1 for n in counts.values())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(fake: Fake) -> ThreadingHTTPServer:
    """The fake as a real HTTP server on 127.0.0.1 (port in ``server_address``)."""
    handler = type("FakeHandler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server

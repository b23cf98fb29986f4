"""The four transactional-mail APIs: Brevo, Postmark, Mailgun, SendGrid.

Each class builds one batch request as its provider documents it, with every
recipient's personal values (To, unsubscribe link, List-Unsubscribe and
List-Unsubscribe-Post headers) and a correlation id (campaign:subscriber) in
the provider's metadata field, and reads per-recipient results from the answer.

=========  ===========================  ==========  ===================================
provider   endpoint                     per batch   personalisation
=========  ===========================  ==========  ===================================
Brevo      POST /v3/smtp/email          1000        messageVersions + {{params.x}}
Postmark   POST /email/batch            500 (50MB)  one full message per recipient
Mailgun    POST /v3/DOMAIN/messages     1000        recipient-variables + %recipient.x%
SendGrid   POST /v3/mail/send           1000        personalizations + substitutions
=========  ===========================  ==========  ===================================

Contributor text may hold any provider's template syntax. Only InfoLettre's
own placeholders become the provider's tokens; in everything else (the static
pieces between them, the subject, the headers) each provider's own syntax is
neutralised so that the reader gets it exactly as written:

- Brevo's template language (``{{ … }}``, ``{% … %}``, ``{# … #}``): each ``{``
  that opens one is written ``{{ params.infolettre_lbrace }}``, a parameter whose
  value is ``{`` (the value is printed, never parsed again);
- Mailgun's variables (``%recipient.x%``, ``%unsubscribe_url%``…): each ``%``
  that could open one is written ``%recipient.infolettre_percent%``, valued ``%``;
- SendGrid's substitutions are plain string replacements of keys we choose:
  the keys carry a digest of the content (a key inside the content would have
  to contain its own hash), and its subscription tracking (``<% %>`` tags) is
  switched off, as InfoLettre brings its own unsubscribe links;
- Postmark's batch endpoint applies no template: one full message each.

Addresses go with their domain in IDNA (``encode_address``); the providers
document no support for a local part outside ASCII (SMTPUTF8), so such a
recipient fails, alone, with that reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from email.utils import formataddr
from urllib.parse import urlencode

import httpx

from ...edition import placeholders
from ..message import Content, Outgoing
from .base import Outcome, Result
from .http import ApiTransport, HttpReply

__all__ = ["BrevoTransport", "MailgunTransport", "PostmarkTransport", "SendgridTransport"]


def _personal_values(o: Outgoing) -> dict[str, str]:
    return {**o.values, "list_unsubscribe": o.list_unsubscribe, "correlation": o.correlation}


def _with_tokens(text: str, template: str, neutral: Callable[[str], str]) -> str:
    """``%%name%%`` placeholders rewritten in a provider's own template syntax, and the
    static pieces between them made ``neutral`` to that syntax."""
    pieces, names = placeholders.split(text)
    out = [neutral(pieces[0])]
    for name, piece in zip(names, pieces[1:], strict=True):
        out += (template.format(name=name), neutral(piece))
    return "".join(out)


#: Brevo: a ``{`` that opens a variable, a tag or a comment of its template language.
_BREVO_OPEN_RE = re.compile(r"\{(?=[{%#])")
BREVO_LBRACE = "infolettre_lbrace"
_BREVO_LBRACE_TOKEN = "{{ params." + BREVO_LBRACE + " }}"


def _brevo_neutral(text: str) -> str:
    return _BREVO_OPEN_RE.sub(_BREVO_LBRACE_TOKEN, text)


#: Mailgun: a ``%`` that could open a variable (``%recipient.x%``, ``%unsubscribe_url%``).
_MAILGUN_OPEN_RE = re.compile(r"%(?=[A-Za-z_][\w.]*%)")
MAILGUN_PERCENT = "infolettre_percent"
_MAILGUN_PERCENT_TOKEN = "%recipient." + MAILGUN_PERCENT + "%"


def _mailgun_neutral(text: str) -> str:
    return _MAILGUN_OPEN_RE.sub(_MAILGUN_PERCENT_TOKEN, text)


def _mismatch(name: str, batch: list[Outgoing], got: object) -> list[Result]:
    detail = f"{name}: answer did not match the batch ({str(got)[:200]})"
    return [Result(Outcome.IN_DOUBT, detail) for _ in batch]


class BrevoTransport(ApiTransport):
    """Brevo's transactional API: one request per 1000 message versions.

    A deterministic ``idempotencyKey`` per batch (a UUID derived from the campaign
    and its subscribers) lets a request whose answer was lost be sent again safely.
    """

    name = "brevo"
    default_base_url = "https://api.brevo.com/v3"
    max_batch = 1000
    idempotent = True

    def auth_headers(self) -> dict[str, str]:
        return {"api-key": self.key, "accept": "application/json"}

    @staticmethod
    def idempotency_key(content: Content, batch: list[Outgoing]) -> str:
        """The same UUID for the same campaign and recipients, whatever the attempt."""
        ids = ",".join(str(o.recipient.id) for o in batch)
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"infolettre:{content.campaign}:{ids}"))

    def request(self, content: Content, batch: list[Outgoing]) -> httpx.Request:
        body: dict = {
            "sender": {"name": content.sender_name, "email": content.sender_email},
            "subject": _brevo_neutral(content.subject),
            "htmlContent": _with_tokens(content.html, "{{{{params.{name}}}}}", _brevo_neutral),
            "textContent": _with_tokens(content.text, "{{{{params.{name}}}}}", _brevo_neutral),
            "headers": {**{k: _brevo_neutral(v) for k, v in content.headers.items()},
                        **({"List-Unsubscribe": "{{params.list_unsubscribe}}"}
                           if batch[0].list_unsubscribe else {}),
                        "X-Mailin-custom": "{{params.correlation}}",
                        "idempotencyKey": self.idempotency_key(content, batch)},
            "messageVersions": [{"to": [{"email": o.address or o.recipient.email,
                                         **({"name": o.recipient.name}
                                            if o.recipient.name else {})}],
                                 "params": {**_personal_values(o), BREVO_LBRACE: "{"}}
                                for o in batch],
        }
        if content.reply_to:
            body["replyTo"] = {"email": content.reply_to}
        return self.client.build_request("POST", "/smtp/email", json=body)

    def parse(self, reply: HttpReply, batch: list[Outgoing]) -> list[Result]:
        body = reply.body if isinstance(reply.body, dict) else {}
        ids = body.get("messageIds") or ([body["messageId"]] if "messageId" in body else [])
        if len(ids) != len(batch):
            return _mismatch(self.name, batch, reply.body)
        return [Result(Outcome.SENT, f"brevo: HTTP {reply.status}", provider_id=str(i))
                for i in ids]

    def retry_after(self, reply: HttpReply) -> float | None:
        reset = reply.headers.get("x-sib-ratelimit-reset")
        if reset is not None:
            try:
                return max(0.0, float(reset))
            except ValueError:
                pass
        return super().retry_after(reply)


class PostmarkTransport(ApiTransport):
    """Postmark's batch endpoint: up to 500 complete messages, 50 MB, per request."""

    name = "postmark"
    default_base_url = "https://api.postmarkapp.com"
    max_batch = 500
    max_bytes = 50 * 1024 * 1024
    #: Postmark codes that mean the address itself cannot receive (suppress it).
    BOUNCE_CODES = frozenset({300, 406})

    def __init__(self, key: str, *, stream: str = "broadcast", **options: object) -> None:
        super().__init__(key, **options)  # type: ignore[arg-type]
        self.stream = stream

    def auth_headers(self) -> dict[str, str]:
        return {"X-Postmark-Server-Token": self.key, "Accept": "application/json"}

    def fit(self, content: Content) -> None:
        """Fewer messages per batch when 500 of them would pass the 50 MB limit."""
        size = len(content.html.encode()) + len(content.text.encode()) + 2048
        self.batch_size = max(1, min(self.batch_size, int(self.max_bytes * 0.9) // size))

    def _bodies(self, content: Content) -> tuple[tuple[list[str], list[str]], ...]:
        """HTML and text cut at their placeholders, JSON-escaped once per campaign."""
        if getattr(self, "_cache", (None,))[0] is not content:
            parts = []
            for text in (content.html, content.text):
                pieces, names = placeholders.split(text)
                parts.append(([json.dumps(p, ensure_ascii=False)[1:-1] for p in pieces], names))
            self._cache = (content, tuple(parts))
        return self._cache[1]

    def _message(self, content: Content, o: Outgoing, sender: str) -> bytes:
        head: dict = {
            "From": sender,
            "To": formataddr((o.recipient.name, o.address or o.recipient.email)),
            "Subject": content.subject,
            "Headers": [{"Name": k, "Value": v} for k, v in
                        {**content.headers, "List-Unsubscribe": o.list_unsubscribe}.items()
                        if v],
            "Metadata": {"campaign": content.campaign, "subscriber": str(o.recipient.id)},
            "MessageStream": self.stream,
        }
        if content.reply_to:
            head["ReplyTo"] = content.reply_to
        bodies = []
        for pieces, names in self._bodies(content):
            values = [json.dumps(o.values[n], ensure_ascii=False)[1:-1] for n in names]
            bodies.append("".join(p + v for p, v in zip(pieces, [*values, ""], strict=True)))
        return (json.dumps(head, ensure_ascii=False)[:-1] + ',"HtmlBody":"' + bodies[0]
                + '","TextBody":"' + bodies[1] + '"}').encode("utf-8")

    def request(self, content: Content, batch: list[Outgoing]) -> httpx.Request:
        """The batch as a JSON array streamed message by message: one in memory at a time.

        500 complete newsletters weigh tens of megabytes; streaming them (chunked
        transfer encoding) keeps the memory of a send flat whatever the batch.
        """
        sender = formataddr((content.sender_name, content.sender_email))

        def body() -> Iterator[bytes]:
            yield b"["
            for n, o in enumerate(batch):
                yield (b"," if n else b"") + self._message(content, o, sender)
            yield b"]"

        return self.client.build_request("POST", "/email/batch", content=body(),
                                         headers={"Content-Type": "application/json"})

    def parse(self, reply: HttpReply, batch: list[Outgoing]) -> list[Result]:
        items = reply.body if isinstance(reply.body, list) else []
        if len(items) != len(batch):
            return _mismatch(self.name, batch, reply.body)
        results = []
        for item in items:
            code = int(item.get("ErrorCode", -1)) if isinstance(item, dict) else -1
            message = str(item.get("Message", "")) if isinstance(item, dict) else str(item)
            if code == 0:
                results.append(Result(Outcome.SENT, f"postmark: {message}",
                                      provider_id=str(item.get("MessageID", ""))))
            elif code == 429:
                results.append(Result(Outcome.RETRY, f"postmark {code}: {message}"))
            else:
                results.append(Result(Outcome.FAILED, f"postmark {code}: {message}",
                                      bounce=code in self.BOUNCE_CODES))
        return results


class MailgunTransport(ApiTransport):
    """Mailgun's messages endpoint, batch-sending with recipient-variables (1000 a call)."""

    name = "mailgun"
    default_base_url = "https://api.mailgun.net/v3"
    eu_base_url = "https://api.eu.mailgun.net/v3"
    max_batch = 1000

    def __init__(self, key: str, *, domain: str, **options: object) -> None:
        super().__init__(key, **options)  # type: ignore[arg-type]
        self.domain = domain

    def auth_headers(self) -> dict[str, str]:
        import base64

        token = base64.b64encode(f"api:{self.key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def request(self, content: Content, batch: list[Outgoing]) -> httpx.Request:
        fields: list[tuple[str, str]] = [
            ("from", formataddr((content.sender_name, content.sender_email))),
            *(("to", formataddr((o.recipient.name, o.address or o.recipient.email)))
              for o in batch),
            ("subject", _mailgun_neutral(content.subject)),
            ("text", _with_tokens(content.text, "%recipient.{name}%", _mailgun_neutral)),
            ("html", _with_tokens(content.html, "%recipient.{name}%", _mailgun_neutral)),
            *((f"h:{k}", _mailgun_neutral(v)) for k, v in content.headers.items()),
            *([("h:List-Unsubscribe", "%recipient.list_unsubscribe%")]
              if batch[0].list_unsubscribe else []),
            ("v:correlation", "%recipient.correlation%"),
            ("recipient-variables",
             json.dumps({o.address or o.recipient.email:
                         {**_personal_values(o), MAILGUN_PERCENT: "%"} for o in batch})),
        ]
        if content.reply_to:
            fields.append(("h:Reply-To", content.reply_to))
        return self.client.build_request(
            "POST", f"/{self.domain}/messages", content=urlencode(fields).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def parse(self, reply: HttpReply, batch: list[Outgoing]) -> list[Result]:
        body = reply.body if isinstance(reply.body, dict) else {}
        if "id" not in body:
            return _mismatch(self.name, batch, reply.body)
        return [Result(Outcome.SENT, f"mailgun: {body.get('message', 'queued')}",
                       provider_id=str(body["id"])) for _ in batch]

    def describe(self) -> str:
        return f"mailgun+api, domain {self.domain} ({self.base_url}, up to {self.batch_size} " \
            "per request)"


class SendgridTransport(ApiTransport):
    """SendGrid's v3 mail send: 1000 personalizations per request."""

    name = "sendgrid"
    default_base_url = "https://api.sendgrid.com/v3"
    max_batch = 1000

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @staticmethod
    def keys(content: Content) -> dict[str, str]:
        """The substitution key of each placeholder: one that the content cannot hold.

        A key carries a digest of the campaign's HTML, text and subject, which
        text inside them cannot contain; and it is checked, once per campaign.
        """
        digest = hashlib.sha256("\0".join((content.html, content.text, content.subject))
                                .encode()).hexdigest()[:20]
        keys = {name: f"[[infolettre:{digest}:{name}]]" for name in placeholders.NAMES}
        if any(key in text for key in keys.values()
               for text in (content.html, content.text, content.subject)):
            raise ValueError("a SendGrid substitution key occurs in the content")
        return keys

    def request(self, content: Content, batch: list[Outgoing]) -> httpx.Request:
        if getattr(self, "_keys", (None,))[0] is not content:
            self._keys = (content, self.keys(content))
        keys = self._keys[1]
        body: dict = {
            "personalizations": [{
                "to": [{"email": o.address or o.recipient.email,
                        **({"name": o.recipient.name} if o.recipient.name else {})}],
                "substitutions": {keys[k]: v for k, v in o.values.items()},
                "headers": {"List-Unsubscribe": o.list_unsubscribe} if o.list_unsubscribe
                else {},
                "custom_args": {"campaign": content.campaign,
                                "subscriber": str(o.recipient.id)},
            } for o in batch],
            "from": {"email": content.sender_email, "name": content.sender_name},
            "subject": content.subject,
            "content": [
                {"type": "text/plain", "value": placeholders.fill(content.text, keys)},
                {"type": "text/html", "value": placeholders.fill(content.html, keys)}],
            "headers": dict(content.headers),
            # InfoLettre's own unsubscribe links: no footer, no <% %> tags of SendGrid's.
            "tracking_settings": {"subscription_tracking": {"enable": False}},
        }
        if content.reply_to:
            body["reply_to"] = {"email": content.reply_to}
        return self.client.build_request("POST", "/mail/send", json=body)

    def parse(self, reply: HttpReply, batch: list[Outgoing]) -> list[Result]:
        message_id = reply.headers.get("x-message-id", "")
        return [Result(Outcome.SENT, f"sendgrid: HTTP {reply.status}", provider_id=message_id)
                for _ in batch]

    def retry_after(self, reply: HttpReply) -> float | None:
        reset = reply.headers.get("x-ratelimit-reset")
        if reset is not None:
            try:
                return max(0.0, float(reset) - dt.datetime.now(dt.UTC).timestamp())
            except ValueError:
                pass
        return super().retry_after(reply)

    def error_text(self, reply: HttpReply) -> str:
        body = reply.body
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                             for e in body["errors"])[:300]
        return super().error_text(reply)

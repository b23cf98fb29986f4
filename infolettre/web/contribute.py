"""The submission page, ``BASE/contribute/TOKEN``: a centre's contact sends an issue's news.

The link is the contact's only credential (``audience.invitations``): a forged one
or one of another purpose gets a 403, an expired one a 410, each with a page that
says so, and nothing is written. Everything else comes from the invitation the
link opens, never from the request: the issue (hence the one folder written to,
``issues/ISSUE/news/``), the centre, the sender's address. The form is checked as
a file would be (``content.submission``); an accepted item is written atomically
as ``CENTRE-TITLESLUG.md`` (``-2``, ``-3`` when taken) with ``status: submitted``,
its image re-encoded beside it under a name of the server's (``uploads``). The
page then lists the centre's items of the issue; those not approved yet can be
edited, which rewrites the same file. A contact's POSTs are rate-limited per link
and per client. The page works without JavaScript: Preview is a second submit
button that shows the item as the email will, and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..audience.invitations import open_link
from ..content.i18n import Catalogue, catalogue, languages
from ..content.layout import ISSUE_FILE, news_files
from ..content.markup import to_html
from ..content.model import SECTIONS
from ..content.source import header_lang, header_of, read_front_matter
from ..content.submission import (
    FIELDS,
    GENERAL,
    REQUIRED,
    Submission,
    check_submission,
    image_of,
    news_dir,
    scratch_image,
    write_item,
)
from ..delivery.notices import send_notice
from ..errors import InfoLettreError
from ..store import Invitation
from .guard import RateLimit, client, cross_site
from .pages import Service, lang
from .uploads import MAX_IMAGE_BYTES, Refused, WebImage, reencode

__all__ = ["EDITABLE", "PER_CLIENT", "PER_LINK", "UPLOAD_LIMIT", "Contribute"]

log = logging.getLogger("infolettre.serve")

#: The statuses a contact may still edit (``approved`` is the editorial team's).
EDITABLE = ("submitted", "returned")
#: The most a POST to the page may send: the image and the rest of the form.
UPLOAD_LIMIT = MAX_IMAGE_BYTES + 256 * 1024
#: POSTs an hour per link, and per client (an office behind one address has several
#: contacts; a preview is a POST too).
PER_LINK, PER_CLIENT = 30, 60


@dataclass(frozen=True)
class Listed:
    """One of the centre's items of the issue, as the page lists it."""

    name: str
    title: str
    status: str

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE


class Contribute:
    """The page: its endpoint, and the rate limits it keeps per link and per client."""

    def __init__(self, svc: Service, trusted: frozenset[str], form_limit: int,
                 per_token: RateLimit | None = None, per_client: RateLimit | None = None
                 ) -> None:
        self.svc, self.trusted, self.form_limit = svc, trusted, form_limit
        self.per_token = per_token or RateLimit("contribute-link", PER_LINK, 3600.0)
        self.per_client = per_client or RateLimit("contribute-client", PER_CLIENT, 3600.0)

    async def endpoint(self, request: Request) -> Response:
        """The page (GET) or a submission (POST) for the link of the URL."""
        token = request.path_params["token"]
        opened = await run_in_threadpool(open_link, self.svc.store, token)
        if opened.invitation is None:
            t = catalogue(lang(request))
            if opened.expired:
                return self.svc.message(t, t("contribute_expired_title"),
                                        t("contribute_expired_text"), status=410, error=True)
            return self.svc.message(t, t("contribute_refused_title"),
                                    t("contribute_refused_text"), status=403, error=True)
        inv = opened.invitation
        t = catalogue(inv.lang if inv.lang in languages() else "fr")
        news = news_dir(self.svc.config, inv.issue)
        if news is None:
            return self.svc.message(t, t("contribute_closed_title"),
                                    t("contribute_closed_text"), status=404, error=True)
        if request.method in ("GET", "HEAD"):
            edit = request.query_params.get("edit", "")
            listed = await run_in_threadpool(_listed, news, inv.centre)
            values = _blank(inv)
            if edit:
                found = next((i for i in listed if i.name == edit and i.editable), None)
                if found is None:
                    return self._not_editable(t)
                values = await run_in_threadpool(_values_of, news / found.name, inv)
            return self._form(request, t, inv, listed, values)
        if cross_site(request, self.trusted):
            listed = await run_in_threadpool(_listed, news, inv.centre)
            return self._form(request, t, inv, listed, _blank(inv), status=403)
        if not (await self.svc.allowed(self.per_token, token)
                and await self.svc.allowed(self.per_client, client(request))):
            return self.svc.message(t, t("too_many_title"), t("too_many_text"), status=429,
                                    error=True)
        try:
            form = await request.form(max_files=1, max_fields=20,
                                      max_part_size=self.form_limit)
        except HTTPException:
            return self.svc.message(t, t("contribute_bad_form_title"),
                                    t("contribute_bad_form_text"), status=400, error=True)
        try:
            return await self._post(request, t, inv, news, form)
        finally:
            await form.close()  # the upload's spooled file, removed now

    def _centre_name(self, slug: str) -> str:
        """The centre's name in the directory, or its slug when it cannot be read."""
        centre = (self.svc.centres() or {}).get(slug)
        return centre.name if centre is not None else slug

    def _not_editable(self, t: Catalogue) -> Response:
        return self.svc.message(t, t("contribute_locked_title"), t("contribute_locked_text"),
                                status=409, error=True)

    async def _post(self, request: Request, t: Catalogue, inv: Invitation, news: Path,
                    form: Any) -> Response:
        values = {name: str(form.get(name, "") or "") for name in FIELDS if name != "image"}
        values["edit"] = str(form.get("edit", "") or "")
        listed = await run_in_threadpool(_listed, news, inv.centre)
        existing = None
        if values["edit"]:
            existing = next((i for i in listed if i.name == values["edit"] and i.editable),
                            None)
            if existing is None:
                return self._not_editable(t)
        errors: dict[str, list[str]] = {}
        upload = form.get("image")
        image: WebImage | None = None
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            data = await upload.read(MAX_IMAGE_BYTES + 1)
            try:
                image = await run_in_threadpool(reencode, data)
            except Refused as refused:
                errors["image"] = [t(refused.reason)]
        kept = (await run_in_threadpool(image_of, news / existing.name)
                if existing is not None and image is None and "image" not in errors else "")
        preview = "preview" in form
        sub = _submission(inv, values, image_name="image." + image.suffix if image else kept)
        problems = await run_in_threadpool(self._check, sub, news, image, kept)
        for field, said in problems.items():
            errors.setdefault(field, []).extend(_message(t, field, message, key)
                                                for message, key in said)
        if errors or preview:
            shown = (self._preview(inv, sub) if preview else "")
            return self._form(request, t, inv, listed, values, errors=errors, preview=shown,
                              status=422 if errors and not preview else 200)
        name = await run_in_threadpool(write_item, news, sub, image,
                                       existing.name if existing else None)
        log.info("contribution %s of %s for %s (%s)", name, inv.centre, inv.issue, inv.email)
        await run_in_threadpool(self._confirm, t, inv, request.url.path, values, name)
        listed = await run_in_threadpool(_listed, news, inv.centre)
        return self._form(request, t, inv, listed, _blank(inv), saved=name)

    def _check(self, sub: Submission, news: Path, image: WebImage | None,
               kept: str) -> dict[str, list[tuple[str, str]]]:
        centres = self.svc.centres()
        issue_lang = header_lang(news.parent / ISSUE_FILE) or "fr"
        with scratch_image(image) as path:
            source = path if image is not None else (news / kept if kept else None)
            return check_submission(sub, centres, issue_lang, self.svc.config, source)

    def _preview(self, inv: Invitation, sub: Submission) -> str:
        """The item's title and text as the email shows them (sanitised HTML)."""
        return to_html(sub.body, self.svc.config.issue_url(inv.issue))

    def _confirm(self, t: Catalogue, inv: Invitation, path: str, values: dict[str, str],
                 name: str) -> None:
        """The confirmation to the invited contact (the link's address, not the form's),
        with a copy of the text and the link to edit it; a failure is logged only."""
        url = self.svc.base + path  # the public address, not the one a proxy forwarded
        text = f"{values['title'].strip()}\n\n{values['body'].strip()}"
        try:
            transport = self.svc.mail_transport()
            result = send_notice(self.svc.config, transport, inv.email,
                                 t("contribute_mail_subject", issue=inv.issue),
                                 t("contribute_mail_text", url=url, text=text), t.lang)
            if result.outcome.value not in ("sent", "in_doubt"):
                log.error("confirmation of %s to %s: %s", name, inv.email, result.detail)
        except (InfoLettreError, OSError) as exc:
            log.error("confirmation of %s to %s: %s", name, inv.email, exc)

    def _form(self, request: Request, t: Catalogue, inv: Invitation, listed: list[Listed],
              values: dict[str, str], *, errors: dict[str, list[str]] | None = None,
              preview: str = "", saved: str = "", status: int = 200) -> Response:
        errors = errors or {}
        summary = [(field, message) for field in (*FIELDS, GENERAL)
                   for message in errors.get(field, [])]
        return self.svc.page("pages/contribute.html.j2", t, t("contribute_title"), status,
                             action=str(request.url.path), values=values, errors=errors,
                             summary=summary, preview=preview, saved=saved, listed=listed,
                             sections=SECTIONS, invitation=inv, cross_site=status == 403,
                             centre=self._centre_name(inv.centre),
                             max_mb=MAX_IMAGE_BYTES // (1024 * 1024))


def _message(t: Catalogue, field: str, message: str, key: str) -> str:
    """A check's message, or the page's own words when it says "fill this in" or "not an
    address" (the check's words name the file's keys, which the contact never sees)."""
    if key == REQUIRED:
        return t("contribute_alt_required") if field == "image_alt" else t("contribute_required")
    if key == "bad-email" and field == "contact_email":
        return t("invalid_email")
    return message


def _blank(inv: Invitation) -> dict[str, str]:
    """A new item's form: the contact's name, address and language filled in."""
    return {"section": "cdm", "title": "", "body": "", "image_alt": "", "edit": "",
            "contact_name": inv.name, "contact_email": inv.email,
            "lang": inv.lang if inv.lang in languages() else "fr"}


def _submission(inv: Invitation, values: dict[str, str], image_name: str) -> Submission:
    section = values["section"] if values["section"] in SECTIONS else "cdm"
    item_lang = values["lang"] if values["lang"] in languages() else _blank(inv)["lang"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return Submission(centre=inv.centre, section=section, title=values["title"].strip(),
                      body=values["body"], contact_name=values["contact_name"].strip(),
                      contact_email=values["contact_email"].strip(), lang=item_lang,
                      submitted_by=inv.email, submitted_at=now, image=image_name,
                      image_alt=values["image_alt"].strip())



def _listed(news: Path, centre: str) -> list[Listed]:
    """The centre's items of the issue (``cdm: CENTRE``), by file name."""
    out = []
    for path in news_files(news)[0]:
        data = header_of(path)
        if data is None or data.get("cdm") != centre:
            continue
        status = data.get("status") if data.get("status") in ("submitted", "returned") \
            else "approved"
        out.append(Listed(path.name, str(data.get("title") or path.stem), str(status)))
    return out


def _values_of(path: Path, inv: Invitation) -> dict[str, str]:
    """The form of an item to edit, filled from its file."""
    doc = read_front_matter(path)
    data, values = doc.data, _blank(inv)
    contacts = data.get("contacts") or [{}]
    first = contacts[0] if isinstance(contacts, list) and contacts and \
        isinstance(contacts[0], dict) else {}
    image = data.get("image")
    values.update(section=str(data.get("section") or "cdm"), title=str(data.get("title") or ""),
                  body=doc.body, lang=str(data.get("lang") or values["lang"]),
                  contact_name=str(first.get("name") or ""),
                  contact_email=str(first.get("email") or ""), edit=path.name,
                  image_alt=str(image.get("alt") or "") if isinstance(image, dict) else "")
    return values


"""serve: the editorial page, BASE_URL/editorial/, on the running service.

Signing in by a one-time link read from the outbox; the overview of an issue; approving
and returning an item, which changes its file; the doors kept shut (no session, no
CSRF token, another origin, a used, expired or other-purpose link); signing out.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infolettre.audience import tokens
from infolettre.content.source import read_front_matter
from infolettre.store import Store
from infolettre.web.editorial import COOKIE, LINK_TTL, PURPOSE, secure_cookie

from ..conftest import ROOT
from ..service import Service, start_service

NEW = "2019-04"
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
_counter = iter(range(10**6))


@pytest.fixture(scope="module")
def issues(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's issues, and a newer one (a copy) to review."""
    folder = tmp_path_factory.mktemp("issues") / "issues"
    shutil.copytree(ROOT / "issues", folder)
    shutil.copytree(folder / "2018-06", folder / NEW)
    return folder


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, issues: Path) -> Iterator[Service]:
    # Trusting the test's own address as a proxy lets each test be its own client.
    svc = start_service(tmp_path_factory.mktemp("editorial"), issues=issues,
                        args=("--forwarded-allow-ips", "127.0.0.1"))
    yield svc
    svc.stop()


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    n = next(_counter)
    with httpx.Client(base_url=service.url, timeout=60,
                      headers={"X-Forwarded-For": f"192.0.2.{n % 250 + 1}"}) as c:
        yield c


def _editor(service: Service) -> str:
    address = f"editor-{next(_counter)}-{time.monotonic_ns()}@reseau.example"
    with Store(service.db) as store, store.transaction():
        store.add_editor(address)
    return address


def _item(issues: Path, status: str = "submitted") -> Path:
    """A contributed item of the newer issue."""
    path = issues / NEW / "news" / f"charleroi-forum-{next(_counter)}.md"
    path.write_text(f"---\ncdm: charleroi\ntitle: Forum des métiers {path.stem}\n"
                    f"status: {status}\nsubmitted_by: anne@cdm-charleroi.be\n---\n"
                    "Le forum a réuni 300 jeunes.\n", encoding="utf-8")
    return path


def _status(path: Path) -> tuple[str, str]:
    data = read_front_matter(path).data
    return data.get("status", ""), data.get("review_comment", "")


def _mails_to(service: Service, address: str) -> list[email.message.EmailMessage]:
    folder = service.outbox / "new"
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (folder.iterdir() if folder.exists() else [])]
    return [m for m in mails if m["To"] == address]  # type: ignore[misc]


def _ask(client: httpx.Client, address: str) -> httpx.Response:
    return client.post("/editorial/signin", data={"email": address})


def _link(service: Service, client: httpx.Client, address: str) -> str:
    """The path of the sign-in link mailed to ``address``."""
    response = _ask(client, address)
    assert response.status_code == 200, response.text
    [mail] = _mails_to(service, address)
    assert mail["Subject"] == "Votre lien de connexion à la rédaction de l'InfoLettre"
    found = re.search(r"(http://\S+/editorial/signin/\S+)", mail.get_content())
    assert found, mail.get_content()
    return found.group(1).split(service.url)[1]


def _signed_in(service: Service, client: httpx.Client) -> tuple[str, str]:
    """Sign a new editor in with ``client``: their address and the page's CSRF token."""
    address = _editor(service)
    response = client.post(_link(service, client, address))
    assert response.status_code == 303 and response.headers["location"].endswith("/editorial/")
    page = client.get("/editorial/")
    assert page.status_code == 200 and address in page.text
    return address, _csrf(page.text)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_not_signed_in_is_sent_to_the_sign_in_page(service, client, issues) -> None:
    response = client.get("/editorial/")
    assert response.status_code == 303
    assert response.headers["location"] == f"{service.url}/editorial/signin"
    assert client.get("/editorial").status_code == 308
    page = client.get("/editorial/signin")
    assert page.status_code == 200 and '<label for="email">' in page.text
    item = _item(issues)
    posted = client.post("/editorial/approve", data={"issue": NEW, "item": item.name})
    assert posted.status_code == 303 and _status(item) == ("submitted", "")
    client.cookies.set(COOKIE, "not-a-session")
    assert client.get("/editorial/").status_code == 303


def test_an_address_not_an_editor_s_gets_the_same_answer_and_no_mail(service, client) -> None:
    editor, stranger = _editor(service), f"stranger-{time.monotonic_ns()}@evil.example"
    answers = [_ask(client, address) for address in (editor, stranger)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].text == answers[1].text and "20 minutes" in answers[0].text
    assert len(_mails_to(service, editor)) == 1 and _mails_to(service, stranger) == []
    assert _ask(client, "not an address").status_code == 422


def test_the_sign_in_form_is_rate_limited_per_client(service, client) -> None:
    stranger = f"stranger-{time.monotonic_ns()}@evil.example"
    codes = [_ask(client, stranger).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_the_link_signs_in_once(service, client) -> None:
    address = _editor(service)
    path = _link(service, client, address)
    assert client.get(path).status_code == 200  # a GET (a link scanner) uses nothing
    assert client.get(path).status_code == 200
    assert client.post(path, headers=CROSS_SITE).status_code == 403  # nor a forgery
    response = client.post(path)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "Path=/editorial" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # http on loopback: a Secure cookie would never return
    with httpx.Client(base_url=service.url, timeout=60) as other:
        again = other.post(path)
        assert again.status_code == 403 and COOKIE not in again.headers.get("set-cookie", "")
        assert other.get(path).status_code == 403
    with Store(service.db) as store:
        assert ("signed in", address) in [(e.kind, e.editor) for e in store.editorial_events()]


def test_a_forged_expired_or_other_purpose_link_signs_no_one_in(service, client) -> None:
    address = _editor(service)
    with Store(service.db) as store:
        with store.transaction():
            link = store.new_editor_link(address)
        expired = tokens.sign(store.secret, PURPOSE, link, address,
                              expires=int(time.time()) - 1)
        other = tokens.sign(store.secret, "confirm", link, address, LINK_TTL)
        good = tokens.sign(store.secret, PURPOSE, link, address, LINK_TTL)
    for token in (expired, other, good[:-2] + "AA", "1.2.3", "x" * 200):
        response = client.post(f"/editorial/signin/{token}")
        assert response.status_code in (403, 404) and "set-cookie" not in response.headers
    assert client.post(f"/editorial/signin/{good}").status_code == 303  # unused by them


def test_secure_unless_plain_http_on_loopback() -> None:
    assert secure_cookie("https://infolettre.example.org")
    assert secure_cookie("https://127.0.0.1:8000")
    assert secure_cookie("http://infolettre.example.org")
    assert not secure_cookie("http://127.0.0.1:8000")
    assert not secure_cookie("http://localhost:8000")
    assert not secure_cookie("http://[::1]:8000")


def test_the_overview_shows_the_issues_newest_first_and_the_items(
        service, client, issues) -> None:
    item = _item(issues)
    _signed_in(service, client)
    page = client.get("/editorial/").text
    assert page.index(f'<option value="{NEW}"') < page.index('<option value="2018-06"')
    assert f'<option value="{NEW}" selected>' in page
    assert f"Forum des métiers {item.stem}" in page and "À relire" in page
    assert "envoyée par anne@cdm-charleroi.be" in page
    older = client.get("/editorial/", params={"issue": "2018-06"}).text
    assert '<option value="2018-06" selected>' in older and item.stem not in older


def test_approve_and_return_change_the_file_and_say_who_did(service, client, issues) -> None:
    address, csrf = _signed_in(service, client)
    approved, returned = _item(issues), _item(issues)
    response = client.post("/editorial/approve",
                           data={"csrf": csrf, "issue": NEW, "item": approved.name})
    assert response.status_code == 200 and "est approuvée" in response.text
    assert _status(approved) == ("approved", "")
    missing = client.post("/editorial/return",
                          data={"csrf": csrf, "issue": NEW, "item": returned.name})
    assert missing.status_code == 422 and _status(returned) == ("submitted", "")
    with Store(service.db) as store, store.transaction():  # the author was invited
        store.invite(NEW, "charleroi", "anne@cdm-charleroi.be", "Anne", "fr", "2099-01-01")
    response = client.post("/editorial/return", data={
        "csrf": csrf, "issue": NEW, "item": returned.name, "comment": "Une photo ?"})
    assert response.status_code == 200 and _status(returned) == ("returned", "Une photo ?")
    [told] = [m for m in _mails_to(service, "anne@cdm-charleroi.be")
              if returned.stem in m["Subject"]]  # the author learns why, with their link
    text = " ".join(told.get_content().replace("\xa0", " ").split())  # French ties "?"
    assert "Une photo ?" in text and "/contribute/" in text
    with Store(service.db) as store:
        events = [(e.editor, e.kind, e.detail) for e in store.editorial_events()]
    assert (address, "approved", f"{NEW}/news/{approved.name}") in events
    assert (address, "returned", f"{NEW}/news/{returned.name}: Une photo ?") in events


def test_no_path_from_the_form_reaches_the_disk(service, client, issues) -> None:
    _, csrf = _signed_in(service, client)
    outside = issues / "2018-06" / "news" / "marseille-parole-de-parents.md"
    before = outside.read_bytes()
    for issue, item in ((NEW, "../../2018-06/news/marseille-parole-de-parents.md"),
                        ("../issues/2018-06", "marseille-parole-de-parents.md"),
                        (NEW, "album-ce-matin-la.png"), ("2099-01", "x.md")):
        response = client.post("/editorial/approve",
                               data={"csrf": csrf, "issue": issue, "item": item})
        assert response.status_code == 404
    assert outside.read_bytes() == before


def test_a_post_without_the_token_or_from_another_site_changes_nothing(
        service, client, issues) -> None:
    address, csrf = _signed_in(service, client)
    item = _item(issues)
    form = {"issue": NEW, "item": item.name, "comment": "non"}
    for data, headers in (({}, {}), ({"csrf": "wrong"}, {}), ({"csrf": csrf}, CROSS_SITE)):
        for action in ("approve", "return"):
            response = client.post(f"/editorial/{action}", data={**form, **data},
                                   headers=headers)
            assert response.status_code == 403
    assert client.post("/editorial/signout", data={}).status_code == 403
    assert _status(item) == ("submitted", "")
    with Store(service.db) as store:
        assert [e.kind for e in store.editorial_events() if e.editor == address] == \
            ["signed in"]
    assert client.get("/editorial/").status_code == 200  # still signed in


def test_sign_out_ends_the_session(service, client) -> None:
    address, csrf = _signed_in(service, client)
    cookie = client.cookies[COOKIE]
    response = client.post("/editorial/signout", data={"csrf": csrf})
    assert response.status_code == 303
    assert response.headers["location"].endswith("/editorial/signin")
    assert "Max-Age=0" in response.headers["set-cookie"]
    with httpx.Client(base_url=service.url, timeout=60, cookies={COOKIE: cookie}) as other:
        assert other.get("/editorial/").status_code == 303
    with Store(service.db) as store:
        assert store.editor_session(cookie) is None
        assert ("signed out", address) in [(e.kind, e.editor) for e in store.editorial_events()]


def test_the_command_line_adds_lists_and_removes_an_editor_ending_the_session(
        service, client) -> None:
    address = f"cli-{time.monotonic_ns()}@reseau.example"

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "infolettre", "editors", *args],
                              env=service.env, capture_output=True, text=True, check=True)
        return done.stdout

    assert run("add", address.upper()) == f"added: {address}\n"
    assert address in run("list")
    assert client.post(_link(service, client, address)).status_code == 303
    assert client.get("/editorial/").status_code == 200
    assert run("remove", address) == f"removed: {address}\n"
    assert address not in run("list")
    assert client.get("/editorial/").status_code == 303

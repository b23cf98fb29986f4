"""serve: the submission page, BASE/contribute/TOKEN, on the running service.

A centre's contact sends an item through a form checked as a file is; an accepted
item lands in ``issues/ISSUE/news/`` and passes ``infolettre check``. The upload
is untrusted: its name never reaches the file system, its type is what Pillow
decodes, its size is bounded, and what is written is a new encoding of it. A
link that is forged, expired or of another purpose opens nothing and writes
nothing.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from infolettre.audience import consent as sub
from infolettre.audience.invitations import contribute_url
from infolettre.store import Store
from infolettre.web.contribute import PER_CLIENT, PER_LINK

from ..conftest import ROOT
from ..service import Service, start_service, subscriber, token

ISSUE = "2018-06"
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's issues, which the tests write to."""
    folder = tmp_path_factory.mktemp("issues") / "issues"
    shutil.copytree(ROOT / "issues", folder)
    return folder


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("contribute"), issues=shared)
    yield svc
    svc.stop()


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60) as c:
        yield c


_counter = iter(range(10**6))


def _link(service: Service, centre: str = "marseille", deadline: str = "2099-06-15",
          lang: str = "fr") -> str:
    """The path of a new contact's link to contribute to ISSUE for ``centre``."""
    with Store(service.db) as store:
        with store.transaction():
            invitation = store.invite(ISSUE, centre, f"c{next(_counter)}@example.org",
                                      "Anne Contact", lang, deadline)
        return contribute_url(store, service.url, invitation).removeprefix(service.url)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _jpeg(size: tuple[int, int] = (1600, 900), exif: bool = False) -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", size, (200, 80, 30))
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x0132] = "2018:05:24 18:00:00"  # DateTime
        picture.save(out, "JPEG", exif=data.tobytes())
    else:
        picture.save(out, "JPEG")
    return out.getvalue()


def _form(**changes: str) -> dict[str, str]:
    base = {"section": "cdm", "title": "Forum des métiers à Marseille",
            "body": "Plus de **300 visiteurs** sont venus.\n\nÀ l'année prochaine !",
            "image_alt": "", "contact_name": "Anne Contact",
            "contact_email": "anne@example.org", "lang": "fr", "send": "1"}
    return {**base, **changes}


def _error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else None


def _messages(service: Service) -> list[tuple[str, str, str]]:
    """(To, Subject, plain text) of every message in the outbox."""
    import email
    from email import policy

    out = []
    for path in sorted((service.outbox / "new").iterdir()):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(("plain",))
        out.append((str(message["To"]), str(message["Subject"]),
                    body.get_content() if body is not None else ""))
    return out


def _check(service: Service, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infolettre", "check", str(path)],
                          env=service.env, capture_output=True, text=True, timeout=60)


def test_the_whole_flow_from_an_error_to_a_checked_file_and_its_edit(
        service, client, shared) -> None:
    url = _link(service)
    page = client.get(url)
    assert page.status_code == 200
    assert '<label for="title">Titre</label>' in page.text
    assert 'value="Anne Contact"' in page.text and 'enctype="multipart/form-data"' in page.text
    before = _snapshot(shared)

    missing = client.post(url, data=_form(title=""))
    assert missing.status_code == 422
    assert _error_of(missing.text, "title") == "Ce champ est obligatoire."
    assert 'aria-describedby="title-error"' in missing.text
    assert "(Cité des métiers de Marseille et de Provence" in html.unescape(missing.text)
    assert '<a href="#title">Titre</a>' in missing.text  # the summary links to the field
    assert _error_of(missing.text, "body") is None
    assert _snapshot(shared) == before

    preview = client.post(url, data={**_form(), "preview": "1"})
    assert preview.status_code == 200
    assert "<strong>300 visiteurs</strong>" in preview.text and _snapshot(shared) == before

    bad = client.post(url, data=_form(contact_email="anne.example.org"))
    assert _error_of(bad.text, "contact_email") == \
        "Cette adresse e-mail n'est pas valable : vérifiez-la."
    assert bad.status_code == 422 and _snapshot(shared) == before

    no_alt = client.post(url, data=_form(), files={"image": ("photo.jpg", _jpeg(), "image/jpeg")})
    assert no_alt.status_code == 422 and _error_of(no_alt.text, "image_alt")
    assert _snapshot(shared) == before

    done = client.post(url, data=_form(image_alt="Le stand de la Cité des métiers"),
                       files={"image": ("IMG_0001.JPG", _jpeg(exif=True), "image/jpeg")})
    assert done.status_code == 200, done.text
    news = shared / ISSUE / "news"
    item = news / "marseille-forum-des-metiers-a-marseille.md"
    text = item.read_text(encoding="utf-8")
    assert "status: submitted" in text and "submitted_by: \"c" in text
    assert "submitted_at:" in text and 'src: "marseille-forum-des-metiers-a-marseille.jpg"' in text
    with Image.open(news / "marseille-forum-des-metiers-a-marseille.jpg") as written:
        assert written.format == "JPEG" and written.width == 1200
        assert not written.getexif()  # the phone's metadata is not kept
    checked = _check(service, item)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Forum des métiers à Marseille" in done.text  # the centre's list
    assert f'{url}?edit=marseille-forum-des-metiers-a-marseille.md' in done.text
    confirmations = [m for m in _messages(service) if "est reçue" in m[1]]
    assert len(confirmations) == 1
    to, _, said = confirmations[0]
    assert to.startswith("c") and to.endswith("@example.org")  # the invited address
    assert "Forum des métiers à Marseille" in said and f"{service.url}{url}" in said

    again = client.post(url, data=_form())  # the same title: a new file, -2
    assert again.status_code == 200
    assert (news / "marseille-forum-des-metiers-a-marseille-2.md").is_file()

    edit = client.get(f"{url}?edit=marseille-forum-des-metiers-a-marseille.md")
    assert edit.status_code == 200 and 'name="edit"' in edit.text
    edited = client.post(url, data=_form(edit="marseille-forum-des-metiers-a-marseille.md",
                                         title="Forum des métiers : le bilan",
                                         image_alt="Le stand"))
    assert edited.status_code == 200, edited.text
    text = item.read_text(encoding="utf-8")
    assert "Forum des métiers : le bilan" in text and 'alt: "Le stand"' in text
    assert not (news / "marseille-forum-des-metiers-le-bilan.md").exists()
    assert (news / "marseille-forum-des-metiers-a-marseille.jpg").is_file()  # kept

    out = io.BytesIO()
    Image.new("RGB", (40, 40)).save(out, "PNG")
    replaced = client.post(url, data=_form(edit="marseille-forum-des-metiers-a-marseille.md",
                                           image_alt="Le logo"),
                           files={"image": ("logo.png", out.getvalue(), "image/png")})
    assert replaced.status_code == 200, replaced.text
    assert (news / "marseille-forum-des-metiers-a-marseille.png").is_file()
    assert not (news / "marseille-forum-des-metiers-a-marseille.jpg").exists()
    assert _check(service, item).returncode == 0


def test_an_approved_item_or_another_centre_s_cannot_be_edited(service, client, shared) -> None:
    url = _link(service)
    before = _snapshot(shared)
    for name in ("marseille-parole-de-parents.md", "charleroi-album-jeunesse.md",
                 "../issue.md", "../../cdms.yaml"):
        assert client.get(url, params={"edit": name}).status_code == 409
        assert client.post(url, data=_form(edit=name)).status_code == 409
    assert _snapshot(shared) == before


@pytest.mark.parametrize("how", ["forged", "other purpose", "expired", "altered"])
def test_a_link_that_opens_nothing_is_refused_and_writes_nothing(
        service, client, shared, how) -> None:
    if how == "forged":
        url, status = "/contribute/not-a-token", 403
    elif how == "other purpose":
        url = f"/contribute/{token(service, sub.PREFERENCES, subscriber(service))}"
        status = 403
    elif how == "expired":
        url, status = _link(service, deadline="2020-01-15"), 410
    else:
        good = _link(service)
        url, status = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"), 403
    before = _snapshot(shared)
    assert client.get(url).status_code == status
    answer = client.post(url, data=_form(), files={"image": ("a.jpg", _jpeg(), "image/jpeg")})
    assert answer.status_code == status
    said = html.unescape(answer.text)
    assert ("expiré" if status == 410 else "pas un lien d'envoi valable") in said
    assert _snapshot(shared) == before


def test_a_path_in_the_upload_s_name_never_reaches_the_file_system(
        service, client, shared, tmp_path) -> None:
    url = _link(service, centre="normandie")
    evil = "../../../../evil-" + tmp_path.name + ".jpg"
    answer = client.post(url, data=_form(title="Une photo", image_alt="Une photo"),
                         files={"image": (evil, _jpeg((300, 200)), "image/jpeg")})
    assert answer.status_code == 200, answer.text
    news = shared / ISSUE / "news"
    assert (news / "normandie-une-photo.jpg").is_file()
    everywhere = [shared.parent, ROOT, Path("/tmp"), tmp_path]
    for place in everywhere:
        assert not list(place.rglob(f"evil-{tmp_path.name}*")), place
    assert "evil" not in (news / "normandie-une-photo.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("data", [b"just some text, not a picture\n" * 10,
                                  b"\xff\xd8\xff\xe0" + b"\0" * 500,  # a JPEG's start only
                                  b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"])
def test_what_is_not_a_jpeg_or_png_is_refused_whatever_its_name(
        service, client, shared, data) -> None:
    url = _link(service)
    before = _snapshot(shared)
    answer = client.post(url, data=_form(title="Pas une image", image_alt="x"),
                         files={"image": ("photo.jpg", data, "image/jpeg")})
    assert answer.status_code == 422
    assert _error_of(answer.text, "image") == "Ce fichier n'est pas une image JPEG ou PNG lisible."
    assert _snapshot(shared) == before


def test_a_png_stays_a_png_and_a_picture_too_large_to_decode_is_refused(
        service, client, shared) -> None:
    url = _link(service, centre="geneve")
    out = io.BytesIO()
    Image.new("RGBA", (64, 32), (0, 0, 0, 0)).save(out, "PNG")
    answer = client.post(url, data=_form(title="Un logo", image_alt="Le logo"),
                         files={"image": ("logo.jpg", out.getvalue(), "image/jpeg")})
    assert answer.status_code == 200, answer.text
    with Image.open(shared / ISSUE / "news" / "geneve-un-logo.png") as written:
        assert written.format == "PNG" and written.mode == "RGBA"
    before = _snapshot(shared)
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")  # 64 megapixels in a few kB
    assert len(bomb.getvalue()) < 100_000
    answer = client.post(url, data=_form(title="Une bombe", image_alt="x"),
                         files={"image": ("bomb.png", bomb.getvalue(), "image/png")})
    assert answer.status_code == 422
    assert _error_of(answer.text, "image") == "L'image est trop grande : 10 Mo au plus."
    assert _snapshot(shared) == before


def test_an_image_over_10_mb_is_refused(service, client, shared) -> None:
    url = _link(service)
    before = _snapshot(shared)
    just_over = _jpeg((200, 200)) + b"\0" * (10 * 1024 * 1024)  # Pillow would read it
    answer = client.post(url, data=_form(title="Trop lourde", image_alt="x"),
                         files={"image": ("photo.jpg", just_over, "image/jpeg")})
    assert answer.status_code == 422
    assert _error_of(answer.text, "image") == "L'image est trop grande : 10 Mo au plus."
    far_over = b"\0" * (11 * 1024 * 1024)
    answer = client.post(url, data=_form(title="Bien trop lourde", image_alt="x"),
                         files={"image": ("photo.jpg", far_over, "image/jpeg")})
    assert answer.status_code == 413  # refused on its Content-Length, before reading it
    assert _snapshot(shared) == before


def test_a_cross_site_post_writes_nothing(service, client, shared) -> None:
    url = _link(service)
    before = _snapshot(shared)
    answer = client.post(url, data=_form(title="Venue d'ailleurs"), headers=CROSS_SITE)
    assert answer.status_code == 403 and "rien n'a été enregistré" in html.unescape(answer.text)
    assert _snapshot(shared) == before


def test_the_page_speaks_the_contact_s_language(service, client) -> None:
    page = client.get(_link(service, lang="pt")).text
    assert '<html lang="pt">' in page and '<label for="title">Título</label>' in page
    assert client.get(_link(service, lang="xx")).text.count('<html lang="fr">') == 1


def test_posts_are_limited_per_link_and_per_client(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "issues", tmp_path / "issues")
    own = start_service(tmp_path, issues=tmp_path / "issues")  # its own counts
    try:
        with httpx.Client(base_url=own.url, timeout=60) as c:
            def codes(url: str, n: int) -> list[int]:
                return [c.post(url, data=_form(title="")).status_code for _ in range(n)]

            assert codes(_link(own), PER_LINK + 1) == [422] * PER_LINK + [429]
            assert codes(_link(own), PER_CLIENT - PER_LINK) == [422] * (PER_CLIENT - PER_LINK)
            assert codes(_link(own), 1) == [429]  # a new link, the same client
            assert c.get(_link(own)).status_code == 200  # reading is not limited
    finally:
        own.stop()

def _call_link(service: Service, issue: Path) -> str:
    """The link in the call's message to the contact, as the outbox holds it."""
    called = subprocess.run([sys.executable, "-m", "infolettre", "call", str(issue),
                             "--deadline", "2099-06-15", "--centre", "marseille", "--yes"],
                            env=service.env, capture_output=True, text=True, timeout=60)
    assert called.returncode == 0, called.stdout + called.stderr
    for to, _, text in _messages(service):
        if "anne.browser@example.org" in to:
            found = re.search(r"(https?://\S+/contribute/\S+)", text)
            assert found, text
            return found.group(1)
    raise AssertionError("no call message to the contact in the outbox")


def _build_has(service: Service, issue: Path, out: Path, title: str) -> bool:
    built = subprocess.run([sys.executable, "-m", "infolettre", "build", str(issue),
                            "--out", str(out), "--no-pdf"], env=service.env, capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    return title in html.unescape((out / "fr" / "email.html").read_text(encoding="utf-8"))


def test_a_contact_sends_an_item_from_the_call_s_link_in_a_browser(
        chromium, tmp_path: Path, issues: Path) -> None:
    centres = issues / "cdms.yaml"
    centres.write_text(centres.read_text(encoding="utf-8").replace(
        "\nmarseille:\n", "\nmarseille:\n  contacts:\n    - name: Anne Contact\n"
        "      email: anne.browser@example.org\n      lang: fr\n", 1), encoding="utf-8")
    service = start_service(tmp_path, issues=issues)
    issue = issues / ISSUE
    photo = tmp_path / "stand.jpg"
    photo.write_bytes(_jpeg())
    page = chromium.new_page(viewport={"width": 375, "height": 900}, locale="fr-FR")
    try:
        page.goto(_call_link(service, issue))
        assert page.get_by_label("Votre adresse e-mail").input_value() == \
            "anne.browser@example.org"
        page.get_by_label("Texte").fill("Plus de **300 visiteurs** au forum.")
        with page.expect_navigation():
            page.get_by_role("button", name="Envoyer la nouvelle").click()
        described = page.evaluate("""() => document.getElementById(document
            .getElementById('title').getAttribute('aria-describedby')).textContent""")
        assert described == "Ce champ est obligatoire."
        assert "Titre" in page.get_by_role("alert").inner_text()  # the summary
        assert not list((issue / "news").glob("marseille-forum*"))
        page.get_by_label("Titre").fill("Forum de l'alternance")
        page.get_by_label("Image (facultative)").set_input_files(str(photo))
        page.get_by_label("Description de l'image").fill("Le stand de la Cité des métiers")
        with page.expect_navigation():
            page.get_by_role("button", name="Envoyer la nouvelle").click()
        assert page.get_by_role("status").inner_text().startswith("Merci")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        item = issue / "news" / "marseille-forum-de-l-alternance.md"
        assert (issue / "news" / "marseille-forum-de-l-alternance.jpg").is_file()
        checked = _check(service, item)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert not _build_has(service, issue, tmp_path / "before", "Forum de l'alternance")
        approved = subprocess.run([sys.executable, "-m", "infolettre", "approve", str(item)],
                                  env=service.env, capture_output=True, text=True, timeout=60)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert _build_has(service, issue, tmp_path / "after", "Forum de l'alternance")
    finally:
        page.close()
        service.stop()

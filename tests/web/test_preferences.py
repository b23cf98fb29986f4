"""serve: the preferences page's centre field, on the running service.

The centre a subscriber chooses is stored as a slug of ``cdms.yaml``, as an
import or ``subscribers add --centre`` stores it, so that ``send --centre``
reaches everyone of a centre; an unknown one is refused and nothing is stored.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infolettre.audience import consent as sub
from infolettre.store import Store, Subscriber

from ..service import Service, start_service, subscriber, token

CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("prefs"))  # the repository's issues/cdms.yaml
    yield svc
    svc.stop()


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


def _with_centre(service: Service, centre: str, lang: str = "fr") -> Subscriber:
    who = subscriber(service, lang=lang)
    with Store(service.db) as store, store.transaction():
        store.update(who.id, centre=centre)
    return who


def _stored(service: Service, who: Subscriber) -> tuple[str, str]:
    with Store(service.db) as store:
        found = store.get(who.email)
        assert found is not None
        return found.lang, found.centre


def _url(service: Service, who: Subscriber) -> str:
    return f"/preferences/{token(service, sub.PREFERENCES, who)}"


def _centre_select(page: str) -> tuple[str, list[tuple[str, str]], str | None]:
    """The centre ``<select>`` tag, its options (value, text), the selected value."""
    found = re.search(r'(<select id="centre"[^>]*>)(.*?)</select>', page, re.S)
    assert found, page
    options = [(html.unescape(v), html.unescape(text)) for v, text in
               re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(2))]
    selected = re.search(r'<option value="([^"]*)" selected>', found.group(2))
    return found.group(1), options, selected.group(1) if selected else None


def test_the_page_offers_the_directory_s_centres_with_the_current_one_selected(
        service, client) -> None:
    who = _with_centre(service, "normandie")
    page = client.get(_url(service, who)).text
    assert '<label for="centre">Votre Cité des métiers</label>' in page
    tag, options, selected = _centre_select(page)
    assert options[0] == ("", "Aucune") and len(options) == 11
    assert ("normandie", "Cité des métiers de Normandie (Rouen)") in options
    assert ("marseille", "Cité des métiers de Marseille et de Provence-Alpes-Côte d'Azur "
            "(Marseille)") in options
    assert selected == "normandie" and "aria-invalid" not in tag
    assert _centre_select(client.get(_url(service, subscriber(service))).text)[2] == ""


def test_a_centre_chosen_is_stored_as_its_slug(service, client) -> None:
    who = _with_centre(service, "", lang="en")
    response = client.post(_url(service, who), data={"lang": "en", "centre": "paris"})
    assert response.status_code == 200 and "Your preferences are saved" in response.text
    assert _stored(service, who) == ("en", "paris")
    assert _centre_select(response.text)[2] == "paris"
    # Matched as an import matches it: a city, a name, whatever the case and accents.
    client.post(_url(service, who), data={"lang": "fr", "centre": "GENEVE"})
    assert _stored(service, who) == ("fr", "geneve")
    client.post(_url(service, who), data={"lang": "fr", "centre": ""})  # "None"
    assert _stored(service, who) == ("fr", "")
    with Store(service.db) as store:
        details = [d for _, kind, d in store.events(who.email) if kind == "preferences"]
    assert details == ["lang=en, centre=paris", "lang=fr, centre=geneve", "lang=fr, centre="]


def test_an_unknown_centre_is_refused_next_to_the_field_and_nothing_is_stored(
        service, client) -> None:
    who = _with_centre(service, "bruxelles")
    response = client.post(_url(service, who), data={"lang": "en", "centre": "marseile"})
    assert response.status_code == 422
    assert _stored(service, who) == ("fr", "bruxelles")  # the language neither
    assert "enregistrées" not in response.text and '<html lang="fr">' in response.text
    error = re.search(r'<p class="error" role="alert" id="centre-error">([^<]*)</p>',
                      response.text)
    assert error and "ne fait pas partie de la liste" in html.unescape(error.group(1))
    tag, _, selected = _centre_select(response.text)
    assert 'aria-invalid="true"' in tag and 'aria-describedby="centre-error"' in tag
    assert selected == "bruxelles"
    # The label, the error, then the field: the message is next to what it is about.
    assert (response.text.index('for="centre"') < response.text.index('id="centre-error"')
            < response.text.index('<select id="centre"'))


def test_a_cross_site_post_stores_no_centre(service, client) -> None:
    who = _with_centre(service, "paris")
    response = client.post(_url(service, who), data={"lang": "fr", "centre": "cascais"},
                           headers=CROSS_SITE)
    assert response.status_code == 403 and _stored(service, who) == ("fr", "paris")


def test_a_centre_stored_before_slugs_is_shown_and_kept(service, client) -> None:
    """A city stored by an older import selects its centre, and saving stores the slug;
    a value no centre has stays offered as it is, so saving the language keeps it."""
    by_city = _with_centre(service, "Marseille")
    assert _centre_select(client.get(_url(service, by_city)).text)[2] == "marseille"
    client.post(_url(service, by_city), data={"lang": "fr", "centre": "Marseille"})
    assert _stored(service, by_city) == ("fr", "marseille")
    typo = _with_centre(service, "marseile")
    _, options, selected = _centre_select(client.get(_url(service, typo)).text)
    assert selected == "marseile" and ("marseile", "marseile") in options
    response = client.post(_url(service, typo), data={"lang": "en", "centre": "marseile"})
    assert response.status_code == 200 and _stored(service, typo) == ("en", "marseile")


@pytest.mark.parametrize("directory", [None, "paris: [not, a, mapping]\n"])
def test_without_a_directory_of_centres_there_is_no_centre_field(tmp_path: Path,
                                                                 directory: str | None) -> None:
    """No cdms.yaml, or one that does not read: no field, rather than a wrong list."""
    issues = tmp_path / "issues"
    issues.mkdir()
    if directory is not None:
        (issues / "cdms.yaml").write_text(directory, encoding="utf-8")
    svc = start_service(tmp_path, issues=issues)
    try:
        who = _with_centre(svc, "paris")
        with httpx.Client(base_url=svc.url, timeout=30) as c:
            page = c.get(_url(svc, who)).text
            assert 'id="lang"' in page and 'name="centre"' not in page
            response = c.post(_url(svc, who), data={"lang": "en", "centre": "anything"})
        assert response.status_code == 200 and "Your preferences are saved" in response.text
        assert _stored(svc, who) == ("en", "paris")  # nothing to check a centre against
    finally:
        svc.stop()
    if directory is not None:
        assert "no centre field on the preferences page" in (tmp_path / "serve.log").read_text()

"""serve in a real browser: the subscription form, the preferences page and the archive,
in headless Chromium."""

from __future__ import annotations

from pathlib import Path

from infolettre.audience import consent as sub
from infolettre.store import Store

from ..service import start_service, subscriber, token


def test_fill_and_submit_the_subscription_form(chromium, tmp_path: Path) -> None:
    service = start_service(tmp_path)
    page = chromium.new_page(viewport={"width": 375, "height": 800}, locale="fr-FR")
    try:
        page.goto(f"{service.url}/subscribe")
        assert page.title().startswith("Recevoir l'InfoLettre")
        page.get_by_label("Adresse e-mail").fill("lectrice@example.org")
        page.get_by_label("Nom (facultatif)").fill("Lectrice Assidue")
        page.get_by_label("Langue des messages").select_option("en")
        page.get_by_role("button", name="M'inscrire").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(tmp_path / "subscribed.png"), full_page=True)
        with Store(service.db) as store:
            who = store.get("lectrice@example.org")
            assert (who.status, who.name, who.lang) == ("pending", "Lectrice Assidue", "en")
        assert len(list((service.outbox / "new").iterdir())) == 1
        # The form says what is wrong, in place, for a bad address.
        page.goto(f"{service.url}/subscribe")
        page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
        page.get_by_role("button", name="M'inscrire").click()
        page.wait_for_load_state()
        assert page.get_by_role("alert").inner_text().startswith("Cette adresse")
    finally:
        page.close()
        service.stop()


def test_archive_page_screenshot(chromium, tmp_path: Path) -> None:
    service = start_service(tmp_path, publish=("2018-06",))
    page = chromium.new_page(viewport={"width": 1000, "height": 700})
    try:
        page.goto(f"{service.url}/")
        link = page.get_by_role("link", name="InfoLettre — juin 2018")
        assert link.is_visible()
        shot = tmp_path / "archive.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
        link.click()
        page.wait_for_load_state()
        assert page.url == f"{service.url}/fr/2018-06/"  # sent on to the source's edition
        assert page.get_by_role("heading", level=1).inner_text() == "InfoLettre — juin 2018"
    finally:
        page.close()
        service.stop()


def test_choose_a_centre_on_the_preferences_page(chromium, tmp_path: Path) -> None:
    service = start_service(tmp_path)  # the repository's issues/cdms.yaml
    who = subscriber(service)
    url = f"{service.url}/preferences/{token(service, sub.PREFERENCES, who)}"
    page = chromium.new_page(viewport={"width": 375, "height": 800}, locale="fr-FR")
    try:
        page.goto(url)
        field = page.get_by_label("Votre Cité des métiers")
        assert field.input_value() == ""  # "Aucune", as nothing is stored
        field.select_option(label="Cité des métiers de Normandie (Rouen)")
        with page.expect_navigation():  # the POST's answer, not the page still shown
            page.get_by_role("button", name="Enregistrer").click()
        assert page.get_by_role("status").inner_text() == "Vos préférences sont enregistrées."
        assert page.get_by_label("Votre Cité des métiers").input_value() == "normandie"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        # A value the list does not hold (a forged form) is refused, said at the field.
        page.evaluate("""() => { const o = document.createElement('option');
            o.value = 'atlantis'; o.textContent = 'Atlantis';
            document.getElementById('centre').append(o); }""")
        page.get_by_label("Votre Cité des métiers").select_option("atlantis")
        with page.expect_navigation():  # the POST's answer, not the page still shown
            page.get_by_role("button", name="Enregistrer").click()
        described = page.evaluate("""() => document.getElementById(document
            .getElementById('centre').getAttribute('aria-describedby')).textContent""")
        assert described.startswith("Ce centre ne fait pas partie de la liste")
        assert page.get_by_role("alert").inner_text() == described
        with Store(service.db) as store:
            assert store.get(who.email).centre == "normandie"
    finally:
        page.close()
        service.stop()


def test_the_email_fits_a_phone_with_and_without_its_style_block(chromium, tmp_path: Path,
                                                                   config) -> None:
    """At 375 and 320 px the email, in full and digest layout, is no wider than the
    screen, with its <style> block and without it, as the Gmail apps show it for other
    accounts: the layout is fluid by its inline styles, not by the @media rules alone."""
    import re
    import shutil

    from infolettre.edition.build import build_issue

    from ..conftest import SAMPLE

    build_issue(SAMPLE, tmp_path / "out", config)
    digest = tmp_path / "digest"
    shutil.copytree(SAMPLE.parent, digest)
    meta = digest / SAMPLE.name / "issue.md"
    meta.write_text(meta.read_text(encoding="utf-8").replace("lang: fr\n", "lang: fr\n"
                                                             "layout: digest\n", 1),
                    encoding="utf-8")
    build_issue(digest / SAMPLE.name, tmp_path / "digest-out", config)
    for layout, out in (("full", tmp_path / "out"), ("digest", tmp_path / "digest-out")):
        html = (out / "fr" / "email.html").read_text(encoding="utf-8")
        stripped = re.sub(r"<style\b.*?</style>", "", html, flags=re.S)
        assert "@media" in html and "@media" not in stripped
        for viewport in (375, 320):
            page = chromium.new_page(viewport={"width": viewport, "height": 800})
            try:
                for name, text in (("styled", html), ("unstyled", stripped)):
                    page.set_content(text)
                    width = page.evaluate("document.documentElement.scrollWidth")
                    page.screenshot(path=str(tmp_path / f"email-{layout}-{viewport}-{name}.png"),
                                    full_page=True)
                    assert width <= viewport, (layout, viewport, name, width)
            finally:
                page.close()


def test_the_web_edition_never_scrolls_sideways_on_a_phone(chromium, sample: Path,
                                                           tmp_path: Path) -> None:
    """At 320 px, the narrowest phone, long words and links wrap: the page is no wider
    than the screen (a long link made it 516 px at 375 px)."""
    from infolettre.config import Config
    from infolettre.content.i18n import catalogue
    from infolettre.edition.build import build_issue

    item = sample / "news" / "en-poche-ton-job.md"
    long_link = "https://www.example.org/" + "telechargements-du-guide-" * 4 + "2018.pdf"
    item.write_text(item.read_text(encoding="utf-8") + f"\nLe guide : <{long_link}>\n\n"
                    "Un mot sans fin : " + "intercompréhensibilité" * 4 + ".\n",
                    encoding="utf-8")
    build_issue(sample, tmp_path / "out", Config(cache_dir=tmp_path / "cache"))
    page = chromium.new_page(viewport={"width": 320, "height": 640})
    try:
        for lang in ("fr", "en", "es"):
            page.goto((tmp_path / "out" / lang / "index.html").as_uri())
            page.wait_for_load_state()
            assert page.evaluate("document.documentElement.scrollWidth") <= 320, lang
        switch = page.get_by_role("navigation", name=catalogue("es")("editions_label"))
        assert switch.is_visible()
        page.emulate_media(media="print")  # the print stylesheet: no language switch
        assert not switch.is_visible()
    finally:
        page.close()

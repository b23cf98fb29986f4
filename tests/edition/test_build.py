"""build: golden files, the sample's content in all three outputs, the quality bars.

Regenerate the golden files after an intended change of output with:
    pytest tests/edition/test_build.py --update-golden
"""

from __future__ import annotations

import email
import re
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.edition import placeholders
from infolettre.edition.build import build_edition, build_issue, load_publishable
from infolettre.edition.quality import email_warnings

from ..conftest import CORPUS, GOLDEN, SAMPLE

OUTPUTS = ("email.html", "email.txt", "index.html")


@pytest.fixture
def built(tmp_path: Path, config: Config) -> Path:
    """The sample's source-language (French) edition, among its editions."""
    build_issue(SAMPLE, tmp_path / "out", config)
    return tmp_path / "out" / "fr"


def _one_edition(sample: Path, lang: str = "fr") -> None:
    """Make the sample an issue of one edition (no ``editions:``) in ``lang``."""
    meta = sample / "issue.md"
    text = re.sub(r"(?m)^editions: .*\n", "", meta.read_text(encoding="utf-8"))
    meta.write_text(text.replace("lang: fr", f"lang: {lang}"), encoding="utf-8")


@pytest.fixture
def one_edition(sample: Path, tmp_path: Path, config: Config) -> Path:
    """The sample as an issue of one edition, as before editions."""
    _one_edition(sample)
    build_issue(sample, tmp_path / "one", config)
    return tmp_path / "one"


def _golden(produced: str, golden: Path, update_golden: bool) -> None:
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced, encoding="utf-8")
    assert produced == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs from {golden}; if the change is intended, run "
        "pytest tests/edition/test_build.py --update-golden")


@pytest.mark.parametrize("name", OUTPUTS)
def test_golden(one_edition: Path, name: str, update_golden: bool) -> None:
    """An issue of one edition: OUT/email.html… as before editions, byte for byte."""
    assert not (one_edition / "fr").exists()
    _golden((one_edition / name).read_text(encoding="utf-8"), GOLDEN / "2018-06" / name,
            update_golden)


@pytest.mark.parametrize("lang", ["fr", "en", "es"])
@pytest.mark.parametrize("name", OUTPUTS)
def test_golden_editions(tmp_path: Path, config: Config, lang: str, name: str,
                         update_golden: bool) -> None:
    """The sample's three editions, each in OUT/LANG/."""
    build_issue(SAMPLE, tmp_path / "out", config)
    _golden((tmp_path / "out" / lang / name).read_text(encoding="utf-8"),
            GOLDEN / "2018-06" / lang / name, update_golden)


# What the June 2018 InfoLettre holds (the reference text), in every output.
TITLES = [
    "Assemblée Générale", "Conseil d'administration Effervescence",
    "Réunion du Comité de projet CDM21", "Réunion du Comité exécutif",
    "Conférence finale du projet européen Netme-In",
    "Formation à la reconnaissance des compétences du métier de conseil en lieux intégrés",
    "Visite d'études du Réseau européen des services publics de l'emploi",
    "Conférence annuelle de la LLL Platform",
    "Promouvoir les métiers du développement durable et de la croissance verte",
    "Création d'un album jeunesse à la Cité des métiers de Charleroi",
    "Les Rencontres du numérique à la Cité des métiers de Seine-et-Marne",
    "Développement d'outils pour l'employabilité à la Cité des métiers de Cascais",
    "Parole de parents", "SUMMIT CDM 21 à Rouen", "Netme-In", "conférence finale",
    "COCADE", "En poche ton job en Europe", "Raquel Castello-Branco", "Présidente du Réseau",
    "Sylvie Sesma", "Ludovic Collin", "Maud Bois-Gallou", "Christel Lafitte-Mayer",
    "Emmanuelle Luttenauer", "Cité des métiers de la région mulhousienne",
]
DATES = ["31 mai 2018", "1 juin 2018", "13 juin 2018", "14 juin 2018", "3 juillet 2018",
         "12 juin 2018", "25-27 juin 2018", "5-6 juillet 2018"]
LINKS = ["http://www.reseaucitesdesmetiers.com/44-news.php", "https://vimeo.com/258241883",
         "https://www.calameo.com/read/0040164891573024bea4f", "http://www.emplay.eu",
         "http://www.citedesmetiers.fr/nos-videos-103.html", "http://www.jcemarseille.org",
         "http://www.reseaucitesdesmetiers.com"]
EMAILS = ["annie.bordier@citedesmetiers.re", "accueil@cdmcharleroi.be",
          "patricia.dorigo@seineetmarne.cci.fr", "claudia.meireles@cm-cascais.pt",
          "info@emplay.eu", "clecardonnelvidal@citedesmetiers.fr",
          "lcollin@reseaucitesdesmetiers.com", "Hamid.metadjer@universcience.fr",
          "mboisgallou@reseaucitesdesmetiers.com", "eluttenauer@semaphore.asso.fr",
          "delegationexecutive@citedesmetiers.fr"]


def _plain(text: str) -> str:
    """Text with entities, tags and line breaks folded, to search for phrases."""
    text = re.sub(r"<[^>]+>", " ", text).replace("&#39;", "'").replace("&amp;", "&")
    return " ".join(text.replace("\u00a0", " ").split())


@pytest.mark.parametrize("name", OUTPUTS)
def test_every_title_date_link_and_email_is_present(built: Path, name: str) -> None:
    raw = (built / name).read_text(encoding="utf-8")
    plain = _plain(raw)
    for phrase in TITLES + DATES:
        assert phrase.lower() in plain.lower(), phrase
    for value in LINKS + EMAILS:
        assert value in raw, value


def test_sections_are_in_the_order_of_the_infolettre(built: Path) -> None:
    for name in OUTPUTS:
        plain = _plain((built / name).read_text(encoding="utf-8")).lower()
        order = ["agenda", "édito", "nouvelles des cdm", "nouvelles du réseau",
                 "arrivées / départs", "adresse de contact", "l'équipe rédactionnelle"]
        positions = [plain.rindex(s) for s in order]
        assert positions == sorted(positions), (name, positions)


def test_html_bars(built: Path) -> None:
    html = (built / "email.html").read_text(encoding="utf-8")
    assert email_warnings(html) == []  # H2, A1: size, headings, alt, px, contrast
    assert len(html.encode()) <= 90 * 1024
    assert "<!--[if mso]>" in html and "<![endif]-->" in html           # H1
    for table in re.findall(r"<table\b[^>]*>", html):
        assert 'role="presentation"' in table, table
    assert re.search(r"@media screen and \(max-width: 599px\)[^@]*!important", html)  # H3
    assert re.search(r"@media \(prefers-color-scheme: dark\)[^@]*!important", html)
    assert '<html lang="fr"' in html and "<title>" in html
    preheader = re.search(r'<div class="preheader"[^>]*>', html).group(0)
    assert "display:none" in preheader and "max-height:0" in preheader
    assert "mso-hide:all" in preheader and "transparent" not in preheader


def test_text_part_lines_fit_78_columns(one_edition: Path, built: Path) -> None:
    text = (one_edition / "email.txt").read_text(encoding="utf-8")
    long = [line for line in text.splitlines() if len(line) > 78]
    assert long == []
    assert "<https://vimeo.com/258241883>" in text
    # An edition's preview links (BASE_URL/fr/ISSUE/#unsubscribe-preview) cannot wrap.
    text = (built / "email.txt").read_text(encoding="utf-8")
    long = [line for line in text.splitlines()
            if len(line) > 78 and not re.fullmatch(r"https://\S+-preview", line)]
    assert long == []


def test_web_version_links_a_stylesheet_and_holds_no_recipient_value(built: Path) -> None:
    web = (built / "index.html").read_text(encoding="utf-8")
    assert '<link rel="stylesheet" href="style.css">' in web
    assert (built / "style.css").is_file()
    assert "%%" not in web and "unsubscribe" not in web


def test_local_image_is_published_and_linked_absolutely(built: Path, config: Config) -> None:
    assert (built.parent / "news" / "album-ce-matin-la.png").is_file()  # once, for all
    assert not (built / "news").exists()
    html = (built / "email.html").read_text(encoding="utf-8")
    assert f'src="{config.base_url}/2018-06/news/album-ce-matin-la.png"' in html
    assert 'width="480"' in html  # read from the PNG header


def test_placeholders_survive_inlining_and_are_filled_per_recipient(config: Config) -> None:
    edition = build_edition(load_publishable(SAMPLE, config), config)
    for token in (placeholders.UNSUBSCRIBE_URL, placeholders.PREFERENCES_URL,
                  placeholders.WEB_URL):
        assert f'href="{token}"' in edition.html
        assert token in edition.text
    personal = placeholders.fill(edition.html, {
        "unsubscribe_url": "https://x.org/u/abc?t=1", "web_url": "https://x.org/w",
        "preferences_url": "https://x.org/p/abc"})
    assert 'href="https://x.org/u/abc?t=1"' in personal and "%%" not in personal


def test_keep_placeholders_flag(tmp_path: Path, config: Config) -> None:
    build_issue(SAMPLE, tmp_path, config, keep_placeholders=True)
    for lang in ("fr", "en", "es"):
        html = (tmp_path / lang / "email.html").read_text(encoding="utf-8")
        assert "%%unsubscribe_url%%" in html, lang


def test_english_issue_uses_the_english_catalogue(sample: Path, tmp_path: Path,
                                                  config: Config) -> None:
    _one_edition(sample, "en")
    build_issue(sample, tmp_path / "en", config)
    html = (tmp_path / "en" / "email.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in html
    assert "Unsubscribe" in html and "News from the centres" in html
    assert "June 25-27, 2018" in html


@pytest.mark.parametrize(("lang", "sentence"), [
    ("fr", "Emmanuelle Luttenauer rejoint l'équipe en tant que Directrice de Sémaphore"),
    ("en", "Emmanuelle Luttenauer joins the team as Directrice de Sémaphore"),
])
def test_an_arrival_without_departure_keeps_its_role(sample: Path, tmp_path: Path,
                                                     config: Config, lang: str,
                                                     sentence: str) -> None:
    (sample / "movements.yaml").write_text(
        "- cdm: mulhouse\n  role: Directrice de Sémaphore\n"
        "  arrived: Emmanuelle Luttenauer\n  email: eluttenauer@semaphore.asso.fr\n",
        encoding="utf-8")
    _one_edition(sample, lang)
    build_issue(sample, tmp_path / "out", config)
    for name in OUTPUTS:
        plain = _plain((tmp_path / "out" / name).read_text(encoding="utf-8"))
        assert sentence in plain, name
        assert "Christel" not in plain, name


def _active_parts(html: str) -> list[str]:
    """Everything in a document that a browser or mail client could run or fetch."""
    found = []
    doc = lxml.html.document_fromstring(html)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("script", "iframe", "object", "embed", "form", "input", "svg", "math",
                      "base", "link", "meta") and el.getparent().tag != "head":
            found.append(el.tag)
        for name, value in el.attrib.items():
            if name.startswith("on"):
                found.append(f"{el.tag}[{name}]")
            if name in ("href", "src", "action", "xlink:href") and re.match(
                    r"\s*(javascript|vbscript|data):", value, re.I):
                found.append(f"{el.tag}[{name}={value}]")
            if "evil.example" in value:
                found.append(f"{el.tag}[{name}={value}]")
    return found


def test_hostile_markdown_builds_clean(tmp_path: Path, config: Config) -> None:
    build_issue(CORPUS / "hostile", tmp_path, config)
    for name in ("email.html", "index.html"):
        out = (tmp_path / name).read_text(encoding="utf-8")
        assert _active_parts(out) == [], name
        assert "position:fixed" not in out and "evil.example" not in out
    text = (tmp_path / "email.txt").read_text(encoding="utf-8")
    assert not re.search(r"<(javascript|vbscript|data):", text, re.I)
    assert "alert('block')" not in text and "alert('inline')" not in text
    html = (tmp_path / "email.html").read_text(encoding="utf-8")
    assert "<strong>du gras</strong>" in html and '<a href="https://example.org/ok"' in html
    assert "hostile/news/programme.pdf" in html  # relative link made absolute
    assert re.search(r"<li[^>]*>une liste</li>", html)


def test_build_refuses_an_issue_with_problems(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["build", str(CORPUS / "bad-issue"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "agenda.yaml:2:" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_build(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["build", str(SAMPLE), "--out", str(tmp_path / "b"),
                                      "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert "email.html" in result.output
    for lang in ("fr", "en", "es"):  # the sample's editions, each in its folder
        assert {p.name for p in (tmp_path / "b" / lang).iterdir()} >= set(OUTPUTS), lang


def test_an_issue_given_as_dot_keeps_its_slug(sample: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``infolettre send .`` inside an issue folder: the slug is the folder's name.

    It was ``Path(".").name``, the empty string: ``Message-ID: <.1.…>`` and web
    addresses ending in ``/infolettre//``.
    """
    from infolettre import send_campaign
    from infolettre.delivery.transports import from_dsn
    from infolettre.edition.build import edition_to_send

    from ..sending import populate, sending_config

    config = sending_config(tmp_path)
    populate(config, 1)
    monkeypatch.chdir(sample)
    issue = load_publishable(Path("."), config)
    assert issue.slug == "2018-06"
    build_issue(Path("."), tmp_path / "out", config)
    html = (tmp_path / "out" / "fr" / "email.html").read_text(encoding="utf-8")
    assert f'src="{config.base_url}/2018-06/news/album-ce-matin-la.png"' in html
    assert f'href="{config.base_url}/fr/2018-06/"' in html and "/infolettre//" not in html
    for edition in (edition_to_send(Path("."), config),  # taken from the build's cache
                    edition_to_send(Path("news/.."), replace(config, cache_dir=tmp_path))):
        assert edition.slug == "2018-06"
    send_campaign(edition_to_send(Path("."), config), config, from_dsn(config.transport))
    [sent] = (tmp_path / "outbox" / "new").iterdir()
    message = email.message_from_bytes(sent.read_bytes())
    assert message["Message-ID"].startswith("<2018-06.")
    for part in message.walk():
        if part.get_content_maintype() == "text":
            body = part.get_payload(decode=True).decode("utf-8")
            assert f"{config.base_url}/fr/2018-06/" in body and "/infolettre//" not in body


def test_reference_and_raw_html_images_are_published(sample: Path, tmp_path: Path,
                                                     config: Config) -> None:
    """Every image of the parse tree is copied beside the build and linked absolutely.

    An ``<img>`` whose quoted alt text holds a ``>``, or with a ``data-src`` before
    its ``src``, was rendered but not published: a broken image in every inbox.
    """
    news = sample / "news"
    for name in ("reference.png", "quoted.png", "second.png"):
        (news / name).write_bytes((news / "album-ce-matin-la.png").read_bytes())
    (news / "images.md").write_text(
        "---\ncdm: charleroi\ntitle: Images\ncontacts: [{name: A, email: a@example.org}]\n"
        "---\nTexte.\n\n![Par référence][photo]\n\n"
        '<p><img alt="a > b" src="quoted.png"></p>\n\n'
        '<img data-src="nowhere.png" src="second.png" alt="Deux">\n\n'
        "[photo]: reference.png\n", encoding="utf-8")
    build_issue(sample, tmp_path / "out", config)
    html = (tmp_path / "out" / "fr" / "email.html").read_text(encoding="utf-8")
    for name in ("reference.png", "quoted.png", "second.png"):
        assert (tmp_path / "out" / "news" / name).is_file(), name
        assert f'src="{config.base_url}/2018-06/news/{name}"' in html


def test_an_english_edition_has_the_english_edito_subject_and_footer(
        tmp_path: Path, config: Config) -> None:
    build_issue(SAMPLE, tmp_path, config)
    html = (tmp_path / "en" / "email.html").read_text(encoding="utf-8")
    text = (tmp_path / "en" / "email.txt").read_text(encoding="utf-8")
    web = (tmp_path / "en" / "index.html").read_text(encoding="utf-8")
    edito = (SAMPLE / "issue.en.md").read_text(encoding="utf-8").split("---\n", 2)[2]
    first = _plain(edito.strip().split("\n\n")[0])
    subject = load_publishable(SAMPLE, config).translations["en"].texts["subject"]
    assert f"<title>{subject}</title>" in html and "juin" not in subject
    for out in (html, text, web):
        assert first[:60] in _plain(out)
        assert "Cher(e)s membres" not in out and "Nouvelles des CDM" not in out
    assert '<html lang="en"' in html and '<html lang="en"' in web
    assert '<div lang="fr">' not in html and '<div lang="fr">' not in web
    assert "Unsubscribe" in html and "Manage my preferences" in html
    assert "President of the Network" in _plain(html) and "June 29, 2018" in text
    assert "Se désinscrire" not in html and "Unsubscribe" in text
    assert f'href="{config.base_url}/en/2018-06/"' in html
    assert f'<link rel="canonical" href="{config.base_url}/en/2018-06/">' in web
    for lang in ("fr", "en", "es"):
        assert (f'<link rel="alternate" hreflang="{lang}" '
                f'href="{config.base_url}/{lang}/2018-06/">') in web
    assert f'<a href="{config.base_url}/fr/2018-06/" hreflang="fr" lang="fr">Français</a>' \
        in web


def test_a_spanish_edition_shows_french_items_marked_with_a_note(
        tmp_path: Path, config: Config) -> None:
    build_issue(SAMPLE, tmp_path, config)
    html = (tmp_path / "es" / "email.html").read_text(encoding="utf-8")
    text = (tmp_path / "es" / "email.txt").read_text(encoding="utf-8")
    web = (tmp_path / "es" / "index.html").read_text(encoding="utf-8")
    items = len(load_publishable(SAMPLE, config).news)
    assert len(re.findall(r'<div class="item" id="[^"]+" lang="fr"', web)) == items
    # The email's items are table cells, the language on the table around each.
    assert len(re.findall(r'<table [^>]*lang="fr"[^>]*>\s*<tr><td class="item"', html)) == items
    for out in (html, web):
        assert out.startswith("<!DOCTYPE html>\n<html lang=\"es\"")
        assert len(re.findall(r'<p class="lang-note role" lang="es"[^>]*>'
                              r"Esta noticia está en francés\.</p>", out)) == items
        assert "Noticias de las Ciudades de los Oficios" in out and "Nouvelles des" not in out
        assert "29 de junio de 2018" in out and "29 juin 2018" not in out
        edito = out.index("Cher(e)s membres")  # the edito, untranslated, is marked too
        assert out.rindex('<div lang="fr">', 0, edito) > out.rindex("Editorial</h2>", 0, edito)
    assert text.count("[Esta noticia está en francés.]") == items
    assert "Darse de baja" in html and "Ver la versión en línea" in text
    assert "Se désinscrire" not in html and "Voir la version en ligne" not in html

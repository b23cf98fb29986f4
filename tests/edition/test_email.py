"""The email's design: digest layout, brand mark, footer, short links, fluid images."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from infolettre.config import Config, ConfigError, load_config
from infolettre.content.check import load_checked
from infolettre.edition.build import build_issue
from infolettre.edition.inline import inline_css
from infolettre.edition.quality import email_warnings
from infolettre.edition.render import first_paragraph, fluid_images, short_links, short_url

from ..conftest import BASE_URL


def _one_edition(sample: Path, extra: str = "") -> None:
    """The sample as one French edition, with ``extra`` lines in its header."""
    meta = sample / "issue.md"
    text = re.sub(r"(?m)^editions: .*\n", "", meta.read_text(encoding="utf-8"))
    meta.write_text(text.replace("lang: fr\n", "lang: fr\n" + extra, 1), encoding="utf-8")


def _built(sample: Path, out: Path, config: Config) -> tuple[str, str]:
    build_issue(sample, out, config)
    return ((out / "email.html").read_text(encoding="utf-8"),
            (out / "email.txt").read_text(encoding="utf-8"))


def test_short_url_keeps_host_and_path_and_ellipsises() -> None:
    assert short_url("http://www.reseaucitesdesmetiers.com/") == "reseaucitesdesmetiers.com"
    assert short_url("https://vimeo.com/258241883?autoplay=1") == "vimeo.com/258241883"
    long = "https://www.example.org/" + "a-very-long-path/" * 6
    shown = short_url(long)
    assert len(shown) <= 40 and shown.endswith("…") and shown.startswith("example.org/a-very")


def test_short_links_shortens_only_a_bare_address() -> None:
    url = "https://www.calameo.com/read/0040164891573024bea4f0123456789"
    html = (f'<p><a href="{url}">{url}</a> and <a href="{url}">the album</a></p>')
    out = short_links(html)
    assert f'<a href="{url}">calameo.com/read/0040164891573024bea4f0…</a>' in out
    assert f'<a href="{url}">the album</a>' in out
    amp = "https://example.org/?a=1&amp;b=2"
    assert short_links(f'<a href="{amp}">{amp}</a>') == f'<a href="{amp}">example.org</a>'


def test_bare_links_are_short_in_the_html_and_whole_in_the_text(sample: Path,
                                                                 tmp_path: Path,
                                                                 config: Config) -> None:
    url = "https://www.example.org/programme/2018/rencontres-internationales-des-cites"
    item = sample / "news" / "cocade-formation-sofia.md"
    item.write_text(item.read_text(encoding="utf-8") + f"\nLe programme : <{url}>\n",
                    encoding="utf-8")
    _one_edition(sample)
    html, text = _built(sample, tmp_path / "out", config)
    assert re.search(rf'<a href="{re.escape(url)}"[^>]*>example\.org/programme/2018/renc[^<]*…</a>',
                     html)
    assert url in text


def test_first_paragraph_passes_over_an_image_alone() -> None:
    html = '<p><img src="a.png" alt="x"></p>\n<p>First <em>words</em>.</p><p>Then.</p>'
    assert first_paragraph(html) == "<p>First <em>words</em>.</p>"
    assert first_paragraph("<ul><li>no paragraph</li></ul>") == ""


def test_fluid_images_keep_their_pixels_for_outlook() -> None:
    out = fluid_images('<p><img src="a.png" alt="x" width="300" height="200"></p>')
    assert 'style="width:100%;max-width:300px;height:auto"' in out
    assert 'width="300"' in out and 'height="200"' in out
    styled = '<img style="float:left" src="a.png" width="300">'
    assert fluid_images(styled) == styled


def test_inlining_keeps_the_width_attribute_of_a_fluid_image() -> None:
    html = ('<html><head><style>img { height: auto; } .i { width: 100%; }</style></head>'
            '<body><img class="i" src="a.png" alt="" width="480" height="300"></body></html>')
    out = inline_css(html)
    assert 'width="480"' in out and 'width="100%"' not in out and 'height="300"' in out


def test_digest_shows_summaries_and_read_more_buttons(sample: Path, tmp_path: Path,
                                                      config: Config) -> None:
    _one_edition(sample, "layout: digest\n")
    item = sample / "news" / "cascais-employabilite.md"
    item.write_text(item.read_text(encoding="utf-8").replace(
        "order: 4\n", "order: 4\nsummary: Quatre outils EMPLAY pour l'employabilité.\n"),
        encoding="utf-8")
    html, text = _built(sample, tmp_path / "out", config)
    web = f"{BASE_URL}/2018-06/"
    anchors = re.findall(rf'<a class="button-link" href="{re.escape(web)}#(item-[^"]+)"', html)
    news = sorted(p.stem for p in (sample / "news").glob("*.md") if p.suffixes == [".md"])
    assert sorted(a.removeprefix("item-") for a in anchors) == news
    assert len(re.findall(r'<v:roundrect [^>]*href="' + re.escape(web) + "#item-", html)) \
        == len(news)  # Outlook's button
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert all(f'id="{a}"' in index for a in anchors)  # the web page has the anchors
    assert "Quatre outils EMPLAY pour l'employabilité." in html
    assert "Un groupe de formateurs" not in html  # not the whole item
    assert "La Mairie de Cascais" not in html  # the summary, not its first paragraph
    assert "Lire la suite" in html and "claudia.meireles@cm-cascais.pt" not in html
    # An item without summary: its first paragraph.
    assert "un album jeunesse sur les préjugés" in html
    assert "La Cité des métiers de Charleroi, attentive" not in html
    assert email_warnings(html) == []
    assert "Un groupe de formateurs" in text  # the text part stays whole


def test_full_is_the_default_layout(sample: Path, tmp_path: Path, config: Config) -> None:
    _one_edition(sample)
    html, _ = _built(sample, tmp_path / "out", config)
    assert "button-link" in html  # the subscription's button, not a digest's
    assert "Lire la suite" not in html and "Un groupe de formateurs" in html
    assert len(html.encode()) <= 90 * 1024


def test_an_unknown_layout_is_a_problem(sample: Path, config: Config) -> None:
    _one_edition(sample, "layout: compact\n")
    problems = load_checked(sample, config).problems
    assert any("compact" in str(p) and "digest" in str(p) for p in problems), problems


def test_check_warns_when_the_postal_address_is_missing(sample: Path, config: Config) -> None:
    warnings: list = []
    load_checked(sample, config, warnings)
    assert [w.code for w in warnings if w.code == "W011"] == ["W011"]
    assert "postal_address" in str(next(w for w in warnings if w.code == "W011"))
    warnings = []
    load_checked(sample, replace(config, postal_address="1 rue X\n75000 Paris"), warnings)
    assert "W011" not in [w.code for w in warnings]


def test_footer_shows_the_postal_address_and_links(sample: Path, tmp_path: Path,
                                                   config: Config) -> None:
    _one_edition(sample)
    config = replace(config, postal_address="Cité des sciences\n30 avenue Corentin-Cariou\n"
                     "75019 Paris", social_links=(("Mastodon", "https://mastodon.example/@cdm"),))
    html, text = _built(sample, tmp_path / "out", config)
    assert "\n--\nCité des sciences\n30 avenue Corentin-Cariou\n75019 Paris\n\n" \
           "Mastodon: https://mastodon.example/@cdm\n\nVous recevez" in text
    footer = html[html.index('class="footer"'):]
    assert re.search(r"Cité des sciences<br>30 avenue Corentin-Cariou<br>75019 Paris", footer)
    assert re.search(r'<a href="https://mastodon.example/@cdm"[^>]*>Mastodon</a>', footer)
    assert re.search(r'<a href="http://www.reseaucitesdesmetiers.com"[^>]*>'
                     r"reseaucitesdesmetiers.com</a>", footer)


def test_the_logo_is_published_with_alt_text_and_its_size(sample: Path, tmp_path: Path,
                                                          config: Config) -> None:
    _one_edition(sample)
    html, _ = _built(sample, tmp_path / "plain", config)
    assert '<p class="brand"' in html and "<img class=\"logo\"" not in html  # text mark
    logo = tmp_path / "logo.png"
    Image.new("RGB", (600, 100), "#17375e").save(logo)
    config = replace(config, logo=logo, logo_alt="Réseau des Cités des métiers")
    html, _ = _built(sample, tmp_path / "out", config)
    img = re.search(r'<img class="logo"[^>]*>', html).group(0)
    assert f'src="{BASE_URL}/2018-06/brand/logo.png"' in img
    assert 'alt="Réseau des Cités des métiers"' in img
    assert 'width="240" height="40"' in img  # within 240 x 80, in proportion
    assert (tmp_path / "out" / "brand" / "logo.png").is_file()
    assert email_warnings(html) == []


@pytest.mark.parametrize(("text", "message"), [
    ('logo = "logo.svg"', "must be a .png"),
    ('logo = "missing.png"', "no such file"),
    ('[social_links]\nMastodon = "mastodon.example/@cdm"', "table of web addresses"),
])
def test_bad_brand_settings(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "logo.svg").write_text("<svg/>", encoding="utf-8")
    path = tmp_path / "infolettre.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})


def test_brand_settings_are_read(tmp_path: Path) -> None:
    Image.new("RGB", (10, 10)).save(tmp_path / "logo.png")
    path = tmp_path / "infolettre.toml"
    path.write_text('logo = "logo.png"\nlogo_alt = "CDM"\npostal_address = "1 rue X"\n'
                    '[social_links]\nMastodon = "https://m.example/@a"\n'
                    'LinkedIn = "https://l.example/a"\n', encoding="utf-8")
    config = load_config(path, env={})
    assert config.logo == (tmp_path / "logo.png").resolve() and config.logo_alt == "CDM"
    assert config.social_links == (("Mastodon", "https://m.example/@a"),
                                   ("LinkedIn", "https://l.example/a"))

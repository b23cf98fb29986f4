"""markup: sanitised HTML and plain text from the same Markdown."""

from __future__ import annotations

from infolettre.content.images import body_images as images
from infolettre.content.markup import (
    public_url,
    tie_punctuation,
    to_html,
    to_text,
    top_heading,
    word_bullets,
    wrap,
)

BASE = "https://example.org/2018-06/news/"


def test_links_lists_emphasis_and_images_survive() -> None:
    html = to_html("Un **gras**, *italique*, [lien](https://a.org/x).\n\n- un\n- deux\n\n"
                   "![Une photo](https://a.org/p.jpg)", BASE)
    assert "<strong>gras</strong>" in html and "<em>italique</em>" in html
    assert '<a href="https://a.org/x">lien</a>' in html
    assert "<ul>\n<li>un</li>" in html
    assert '<img alt="Une photo" src="https://a.org/p.jpg">' in html


def test_relative_links_and_images_become_absolute() -> None:
    html = to_html("[programme](programme.pdf) ![plan](plan.png) [site](/accueil) "
                   '<a href="raw.html">raw</a>', BASE)
    assert 'href="https://example.org/2018-06/news/programme.pdf"' in html
    assert 'src="https://example.org/2018-06/news/plan.png"' in html
    assert 'href="https://example.org/accueil"' in html
    assert 'href="https://example.org/2018-06/news/raw.html"' in html
    text = to_text("[programme](programme.pdf)", BASE)
    assert text == "programme <https://example.org/2018-06/news/programme.pdf>"


def test_an_image_beside_the_text_is_at_its_public_url_and_sized() -> None:
    """A file name with spaces or accents was joined as written: the space ended the
    address in the text part. Images had no ``width``/``height`` (Outlook needs them)."""
    html = to_html("![plan](<plan du site.png>) ![été](été.png) ![loin](https://a.org/x.png)",
                   BASE, image_sizes={"plan du site.png": (552, 276)})
    assert ('<img alt="plan" height="276" src="https://example.org/2018-06/news/'
            'plan%20du%20site.png" width="552">') in html
    assert '<img alt="été" src="https://example.org/2018-06/news/%C3%A9t%C3%A9.png">' in html
    assert '<img alt="loin" src="https://a.org/x.png">' in html
    assert to_text("![plan](<plan du site.png>)", BASE) == (
        "[plan <https://example.org/2018-06/news/plan%20du%20site.png>]")
    assert public_url(BASE, "../à b.png") == "https://example.org/2018-06/%C3%A0%20b.png"


def test_nothing_active_survives() -> None:
    source = ("<script>alert(1)</script>\n\n<p onclick='x()' style='color:red'>p</p>"
              "<iframe src='https://e.org'></iframe>[a](javascript:alert(2)) "
              "<a href='vbscript:x'>v</a> <img src=x onerror=alert(3) alt=i>")
    html = to_html(source, BASE)
    for bad in ("<script", "alert(1)", "onclick", "style=", "<iframe", "javascript:",
                "vbscript:", "onerror"):
        assert bad not in html, bad
    text = to_text(source, BASE)
    for bad in ("alert(1)", "javascript:", "vbscript:"):
        assert bad not in text, bad


def test_headings_are_pushed_below_the_item_title() -> None:
    assert to_html("# Titre\n\n## Sous-titre", BASE).startswith("<h4>Titre</h4>\n<h5>")


def test_a_text_starting_at_two_hashes_starts_right_below_the_title() -> None:
    """``##`` first (as most contributors write) was ``h5`` under the item's ``h3``:
    a skipped level for screen readers. The highest heading is the first level below
    the title, the others keep their distance from it."""
    assert to_html("## Programme\n\n### Matin\n\n## Bilan", BASE) == (
        "<h4>Programme</h4>\n<h5>Matin</h5>\n<h4>Bilan</h4>")
    assert to_html("### Seul", BASE) == "<h4>Seul</h4>"
    assert to_html("## Au programme\n\n#### Détails", BASE, heading_offset=2) == (
        "<h3>Au programme</h3>\n<h5>Détails</h5>")  # a skip in the text stays one
    assert to_html("Para\n\n> ## Cité", BASE).endswith(
        "<blockquote>\n<h4>Cité</h4>\n</blockquote>")
    assert "<h6>" in to_html("# Haut\n\n###### Très bas", BASE)


def test_top_heading_is_the_highest_as_written() -> None:
    assert top_heading("Texte\n\n### Un\n\n## Deux") == 2
    assert top_heading("Titre\n=====") == 1
    assert top_heading("Pas de titre, `# pas un titre`") is None


def test_text_wraps_at_78_and_keeps_links() -> None:
    source = ("Un paragraphe " * 20 + "[lien](https://example.org/une/adresse/assez/longue)"
              "\n\n- " + "élément de liste " * 10)
    text = to_text(source, BASE)
    assert all(len(line) <= 78 for line in text.splitlines())
    assert "<https://example.org/une/adresse/assez/longue>" in text
    assert "\n  élément" in text  # hanging indent under the bullet


def test_soft_line_breaks_are_spaces_and_br_is_a_line_break() -> None:
    assert to_text("une\nphrase", BASE) == "une phrase"
    assert to_text("une  \nligne", BASE) == "une\nligne"


def test_numbered_lists_quotes_and_autolinks() -> None:
    text = to_text("1. un\n2. deux\n\n> cité\n\n<https://a.org> <info@emplay.eu>", BASE)
    assert "1. un\n2. deux" in text
    assert "> cité" in text
    assert "<https://a.org> <info@emplay.eu>" in text
    assert 'href="mailto:info@emplay.eu">info@emplay.eu</a>' in to_html("<info@emplay.eu>", BASE)


def test_french_punctuation_never_starts_a_line() -> None:
    assert tie_punctuation("« Ce matin-là » : oui ; non ! quoi ?") == \
        "«\u00a0Ce matin-là\u00a0»\u00a0: oui\u00a0; non\u00a0! quoi\u00a0?"
    lines = wrap("x" * 70 + " « Demain »", 78).splitlines()
    assert lines[1] == "«\u00a0Demain\u00a0»"


def test_images_lists_every_image_with_its_line() -> None:
    body = "texte\n![](a.png) ![b](b.png)\n<img src='c.png'>"
    assert images(body) == [(1, "a.png", ""), (1, "b.png", "b"), (2, "c.png", "")]


def test_word_pasted_bullets_are_a_list() -> None:
    # Pasted from Word: "•" + tab, "◦" for the second level, "–" + tab, "•" + spaces,
    # right under the paragraph that announces them and right above the next one.
    source = ("Au programme :\n•\tatelier CV\n◦\tsur inscription\n–\tvisite\n"
              "•   forum\nMerci à tous.")
    assert word_bullets(source).count("\n") == source.count("\n")
    html = to_html(source, BASE)
    assert html == ("<p>Au programme&nbsp;:</p>\n<ul>\n<li>atelier CV<ul>\n"
                    "<li>sur inscription</li>\n</ul>\n</li>\n<li>visite</li>\n"
                    "<li>forum</li>\n</ul>\n<p>Merci à tous.</p>")
    assert to_text(source, BASE) == ("Au programme\u00a0:\n\n- atelier CV\n  - sur inscription\n"
                                     "- visite\n- forum\n\nMerci à tous.")


def test_a_bullet_inside_a_line_or_a_dash_and_space_are_left_alone() -> None:
    source = "Prix : 5 € • 3 € réduit\n– un tiret de dialogue\n- déjà une liste"
    assert word_bullets(source) == source

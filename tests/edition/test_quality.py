"""quality: the static checks of an email catch what they are meant to catch."""

from __future__ import annotations

import pytest

from infolettre.edition.quality import MAX_HTML_BYTES, contrast, email_warnings

GOOD = ('<html lang="fr"><head><title>t</title></head><body>'
        '<h1 style="font-size:28px">Titre</h1><h2>Section</h2>'
        '<p style="font-size:16px;color:#1f2933">Texte</p></body></html>')


def test_a_good_email_passes() -> None:
    assert email_warnings(GOOD) == []


@pytest.mark.parametrize(("change", "expected"), [
    (('lang="fr"', ""), "no lang attribute"),
    (("<title>t</title>", ""), "no <title>"),
    (("<h2>Section</h2>", "<h1>Encore</h1>"), "2 h1 headings"),
    (("<h2>Section</h2>", "<h3>Section</h3>"), "h1 followed by h3"),
    (("</body>", '<img src="x.png"></body>'), "has no alt attribute"),
    (("font-size:16px", "font-size:11px"), "is 11px, under 14px"),
    (("color:#1f2933", "color:#bbbbbb"), "contrast of 1.9"),
    (("</body>", '<div style="background-color:#17375e"><p>bleu</p></div></body>'),
     "#000000 on #17375e"),
])
def test_each_bar_fails_when_broken(change: tuple[str, str], expected: str) -> None:
    html = GOOD.replace(*change)
    assert any(expected in w for w in email_warnings(html)), email_warnings(html)


def test_hidden_preheader_is_not_held_to_the_bars() -> None:
    html = GOOD.replace("</body>", '<div style="display:none;font-size:1px;color:#fff">'
                        "pré-en-tête</div></body>")
    assert email_warnings(html) == []


def test_size_limit() -> None:
    big = GOOD.replace("Texte", "x" * MAX_HTML_BYTES)
    assert "Gmail clips" in email_warnings(big)[0]


def test_contrast_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)
    assert contrast("#1a56a0", "#ffffff") >= 4.5  # the email's link colour
    with pytest.raises(ValueError):
        contrast("teal", "#fff")


def test_a_skipped_level_reported_at_its_source_is_left_out() -> None:
    """``build`` reports an item's skipped heading on its FILE:LINE; not twice."""
    html = GOOD.replace("<h2>Section</h2>", "<h3>Section</h3>")
    assert email_warnings(html, headings=False) == []

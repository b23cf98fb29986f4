"""premailer's inlining, as ``edition.inline`` runs it."""

from __future__ import annotations

from infolettre.edition.inline import inline_css

_PAGE = ("<html><head><style>.pic {{ {rule} }}</style></head><body>"
         '<img class="pic" src="a.png" alt="" width="10" height="10"></body></html>')


def test_a_floated_image_gets_the_align_outlook_reads() -> None:
    html = inline_css(_PAGE.format(rule="float: left; margin: 0"))
    assert 'align="left"' in html


def test_an_image_without_float_gets_no_align() -> None:
    html = inline_css(_PAGE.format(rule="margin: 0"))
    assert "align=" not in html and 'style="margin:0"' in html

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


def test_premailer_comes_without_requests_until_something_uses_it() -> None:
    """premailer's import of requests (120 ms of a cold build's imports) is put off:
    nothing of it is loaded by inlining, and the first use loads the real module."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from infolettre.edition.inline import inline_css\n"
            "inline_css('<html><head><style>p{color:red}</style></head>"
            "<body><p>x</p></body></html>')\n"
            "print('urllib3' in sys.modules)\n"
            "import requests\n"
            "print(requests.get.__module__, type(sys.modules['requests']).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split("\n")
    assert out[:2] == ["False", "requests.api module"]

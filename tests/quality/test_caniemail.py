"""caniemail's data, with caniemail's own checker (the npm package, pinned in
``package-lock.json``), on the sample's email: nothing it uses is unsupported in the
clients most of the readers have, but what ``FALLBACKS`` lists with the reason the
email still reads there. A new finding fails until it is fixed or justified here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import HERE

CLIENTS = ("gmail.desktop-webmail", "gmail.ios", "gmail.android",
           "outlook.windows", "outlook.macos",
           "apple-mail.macos", "apple-mail.ios",
           "yahoo.desktop-webmail", "yahoo.ios", "yahoo.android")
GMAIL = frozenset(CLIENTS[:3])
YAHOO = frozenset(CLIENTS[-3:])
OUTLOOK = frozenset({"outlook.windows"})

#: caniemail's title of a feature -> the clients where it is unsupported but the email
#: does without it, and why.
FALLBACKS: dict[str, tuple[frozenset[str], str]] = {
    "@media": (OUTLOOK, "the layout is fluid without it (max-width containers); "
                        "Outlook gets its own 600 px mso table"),
    "<body> element": (frozenset({"outlook.macos", "yahoo.ios", "yahoo.android"}),
                       "the background colour is repeated on the outer table cell "
                       "(bgcolor), the body's own margin is all that is lost"),
    "Local anchors": (frozenset({"gmail.ios", "yahoo.ios", "yahoo.android"}),
                      "the contents links do nothing there; the contents still names "
                      "the sections, which follow in its order"),
    "aria-hidden attribute": (YAHOO, "the preheader it hides from screen readers is "
                                     "display:none as well, which hides it from them too"),
    "aria-label attribute": (YAHOO, "it names the email's wrapper (role=article) by its subject; "
                                    "the h1 still names the issue"),
    "border-radius": (OUTLOOK, "square corners on the button's cell; Outlook draws "
                               "the VML roundrect instead"),
    "color-scheme meta tag": (frozenset(CLIENTS) - {"apple-mail.macos"},
                              "a hint that the email is ready for dark mode; clients "
                              "that ignore it apply their own dark mode, and the colours "
                              "keep their contrast either way (the dark proof)"),
    "height property": (YAHOO, "height:auto on the image keeps its ratio when scaled; "
                               "the numeric height attribute from the file stands instead"),
    "max-height property": (OUTLOOK, "on the preheader, which mso-hide:all hides in Outlook"),
    "outline": (OUTLOOK, "outline:none is a reset on images, which Outlook does not outline"),
    "overflow": (OUTLOOK, "overflow:hidden on the preheader, hidden by mso-hide:all; "
                          "caniemail also counts overflow-wrap as overflow (below)"),
    "overflow-wrap": (GMAIL | YAHOO | OUTLOOK,
                      "long words and links wrap by word-break:break-word where "
                      "overflow-wrap is unsupported, and bare addresses are shown short "
                      "(host and path), so no long string widens the layout"),
    "word-break": (YAHOO, "as overflow-wrap: bare addresses are shown short; the text "
                          "is words of the issue, which wrap at spaces"),
}


def unsupported(node: str, email: Path) -> dict[str, set[str]]:
    """caniemail's findings of support "none": feature title -> the clients."""
    done = subprocess.run([node, str(HERE / "caniemail-check.mjs"), str(email), *CLIENTS],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    found: dict[str, set[str]] = {}
    for client, features in report["errors"].items():
        for feature in features:
            found.setdefault(feature["title"], set()).add(client)
    return found


@pytest.mark.parametrize(("layout", "lang"), [("full", "fr"), ("full", "en"), ("digest", "fr")])
def test_the_email_uses_nothing_the_main_clients_lack_without_a_fallback(
        node: str, caniemail: Path, built: Path, digest: Path, layout: str, lang: str) -> None:
    found = unsupported(node, (built if layout == "full" else digest) / lang / "email.html")
    assert "outlook.windows" in found["@media"]  # the checker did look: the hybrid's media query
    unexpected = {title: sorted(clients - FALLBACKS.get(title, (frozenset(), ""))[0])
                  for title, clients in found.items()}
    assert {title: c for title, c in unexpected.items() if c} == {}

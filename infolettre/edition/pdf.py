"""The PDF edition: the web page of an edition printed to A4 by WeasyPrint.

The InfoLettre was always published as a PDF too, which members print and forward.
It is made from the web edition (``index.html``) with its print stylesheet
(``print.css``, in ``style.css``) and the PDF's own (``pdf.css``: page size, page
numbers in the footer, the issue's title in the header), so it shows what the page
shows: the cover header with the title and date, agenda, edito, sections, contacts.
Links stay clickable; images are read from the files ``build`` published beside
the page, never fetched from the network.

WeasyPrint is an optional extra (``pip install 'infolettre[pdf]'``): it needs
Pango, which Debian ships (``libpango-1.0-0 libpangoft2-1.0-0``). Without it,
:func:`available` says why and ``build`` writes everything else.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.html

from ..config import Config
from ..errors import InfoLettreError
from ..fsutil import atomic_write
from ..theme import environment

__all__ = ["INSTALL_HINT", "available", "pdf_name", "write_pdf"]

INSTALL_HINT = ("the PDF edition needs WeasyPrint: pip install 'infolettre[pdf]' "
                "(on Debian, with Pango: apt-get install libpango-1.0-0 libpangoft2-1.0-0)")


def pdf_name(slug: str, lang: str) -> str:
    """The PDF's file name, which says what it is once downloaded and forwarded."""
    return f"infolettre-{slug}-{lang}.pdf"


def available() -> str:
    """"" when WeasyPrint can be used, else why not and how to install it.

    Importing it also loads Pango: a missing system library is an OSError.
    """
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"{INSTALL_HINT} ({type(exc).__name__}: {exc})"
    return ""


def _prepared(page: str, issue_url: str, images: Path) -> str:
    """The page as WeasyPrint is given it.

    An image at the issue's own address is read from the file published under
    ``images``; any other (on another site) is replaced by its alt text, so that
    building never waits on the network. A link whose text is its own address is
    marked ``url-shown``, so that the print stylesheet does not print the address
    a second time after it.
    """
    tree = lxml.html.document_fromstring(page)
    root = images.resolve()
    for img in list(tree.iter("img")):
        src = img.get("src") or ""
        path = (root / unquote(urlsplit(src[len(issue_url):]).path)).resolve() \
            if issue_url and src.startswith(issue_url) else None
        if path is not None and path.is_relative_to(root) and path.is_file():
            img.set("src", path.as_uri())
        elif not src.startswith("data:"):
            alt = lxml.html.Element("span", {"class": "image-alt"})
            alt.text, alt.tail = img.get("alt") or "", img.tail
            img.getparent().replace(img, alt)
    for link in tree.iter("a"):
        href = (link.get("href") or "").removeprefix("mailto:").rstrip("/")
        if href and link.text_content().strip().rstrip("/") == href:
            link.set("class", " ".join(filter(None, (link.get("class"), "url-shown"))))
    return lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>")


def render_pdf(page: str, folder: Path, config: Config, issue_url: str,
               images: Path) -> bytes:
    """The PDF of the web page ``page`` written in ``folder`` (its ``style.css`` beside
    it), its images published under ``images`` at ``issue_url``."""
    import weasyprint

    # WeasyPrint logs every CSS property it does not know (the web stylesheet's
    # screen-only ones) as a warning: noise for whoever builds the issue.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    extra = environment(config.templates_dir).get_template("pdf.css").render()
    html = weasyprint.HTML(string=_prepared(page, issue_url, images),
                           base_url=folder.resolve().as_uri() + "/")
    try:
        return html.write_pdf(stylesheets=[weasyprint.CSS(string=extra)])
    except RecursionError:  # WeasyPrint lays boxes out recursively: a text nested deep
        raise InfoLettreError("the PDF cannot be laid out: a text nests lists or quotes "
                              "too deeply for it (the email and the web page are written)"
                              ) from None


def write_pdf(page: str, target: Path, config: Config, issue_url: str,
              images: Path) -> Path:
    """Write the PDF of ``page`` (see :func:`render_pdf`) to ``target``, atomically."""
    data = render_pdf(page, target.parent, config, issue_url, images)
    try:
        atomic_write(target, data)
    except OSError as exc:
        raise InfoLettreError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return target

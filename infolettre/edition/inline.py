"""Inline the email's CSS with premailer, once per edition.

premailer costs tens of milliseconds a call: it runs on the rendered edition,
never per recipient. ``!important`` is kept (``strip_important=False``) so that
the @media and dark-mode rules left in the <style> block still win over the
inlined declarations; classes are kept because those rules select them. The
``height`` attribute premailer would copy from the CSS is not written: the
theme's ``height: auto`` (which keeps a narrowed image in proportion) became
``height="auto"``, which is not valid HTML and overrode the template's pixels.
"""

from __future__ import annotations

import logging

import premailer

__all__ = ["inline_css"]


def inline_css(html: str) -> str:
    """The same document with every plain CSS rule moved into ``style`` attributes."""
    return premailer.Premailer(
        html,
        strip_important=False,
        remove_classes=False,
        keep_style_tags=False,
        disable_validation=True,
        disable_basic_attributes=["height"],
        allow_network=False,
        exclude_pseudoclasses=True,
        cssutils_logging_level=logging.CRITICAL,
        cache_css_parsing=True,  # the same stylesheet in every edition: parsed once
    ).transform(pretty_print=False)

"""Inline the email's CSS with premailer, once per edition.

premailer costs tens of milliseconds a call: it runs on the rendered edition,
never per recipient. ``!important`` is kept (``strip_important=False``) so that
the @media and dark-mode rules left in the <style> block still win over the
inlined declarations; classes are kept because those rules select them. The
``height`` attribute premailer would copy from the CSS is not written: the
theme's ``height: auto`` (which keeps a narrowed image in proportion) became
``height="auto"``, which is not valid HTML and overrode the template's pixels; nor
the ``width``, which made a fluid image's ``width: 100%`` ``width="100%"`` in place
of the pixels Outlook for Windows lays it out by (the templates write every width).

Every edition of an issue has the same stylesheet: the rules premailer draws from
it, and the @media rules it writes back, are worked out once (``_Premailer``), not
once per edition.
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from typing import ClassVar


class _OnFirstUse(types.ModuleType):
    """A stand-in for a module not imported yet: the first attribute read imports the
    real one, which takes the stand-in's place in ``sys.modules``. (The standard
    library's ``LazyLoader`` does not do here: an ``import`` statement of the module
    reads its ``__spec__``, which loads it.)"""

    def __getattr__(self, attr: str) -> object:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


# premailer imports requests at its top, for the external stylesheets it fetches only
# when allowed to (``allow_network``, False here): requests, urllib3 and chardet were a
# fifth of the imports of a cold build (120 ms), for nothing.
sys.modules.setdefault("requests", _OnFirstUse("requests"))
import premailer  # noqa: E402

__all__ = ["inline_css"]


_KEPT = 8  # stylesheets remembered: a theme's, and a few edits of it in ``preview``


class _Premailer(premailer.Premailer):
    """premailer, remembering what it makes of a stylesheet it has seen.

    Its rules are plain tuples; its leftover @media rules are kept with them (so
    their ids stay theirs) and their text, which premailer gives every time the
    same, is remembered by those ids.
    """

    _rules: ClassVar[dict[tuple[str, int], tuple[list, list]]] = {}
    _texts: ClassVar[dict[tuple[int, ...], tuple[list, str]]] = {}

    def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list, list]:
        key = (css_body, ruleset_index)
        if key not in self._rules:
            if len(self._rules) >= _KEPT:
                self._rules.clear()
                self._texts.clear()
            self._rules[key] = super()._parse_style_rules(css_body, ruleset_index)
        rules, leftover = self._rules[key]
        return list(rules), list(leftover)

    def _css_rules_to_string(self, rules: list) -> str:
        key = tuple(map(id, rules))
        if key not in self._texts:
            self._texts[key] = (rules, super()._css_rules_to_string(rules))
        return self._texts[key][1]


def inline_css(html: str) -> str:
    """The same document with every plain CSS rule moved into ``style`` attributes."""
    return _Premailer(
        html,
        strip_important=False,
        remove_classes=False,
        keep_style_tags=False,
        disable_validation=True,
        disable_basic_attributes=["height", "width"],
        allow_network=False,
        exclude_pseudoclasses=True,
        cssutils_logging_level=logging.CRITICAL,
        cache_css_parsing=True,  # the same stylesheet in every edition: parsed once
        # An image floated left or right gets the align attribute Outlook reads; premailer
        # finds them by parsing every image's style with validation, whose first use
        # compiles cssutils' grammar (a quarter of a cold build). Without a float in the
        # document there is nothing to find.
        align_floating_images="float" in html,
    ).transform(pretty_print=False)

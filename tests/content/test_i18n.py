"""i18n: every catalogue has every key, and templates use only existing keys."""

from __future__ import annotations

import re

from infolettre.content.i18n import catalogue, languages
from infolettre.theme import default_dir


def test_fr_and_en_are_provided() -> None:
    assert {"fr", "en"} <= set(languages())


def test_catalogues_have_the_same_keys() -> None:
    keys = {lang: set(catalogue(lang).strings) for lang in languages()}
    reference = keys["fr"]
    for lang, own in keys.items():
        assert own == reference, (lang, own ^ reference)


def test_templates_use_only_catalogue_keys() -> None:
    used = set()
    for path in default_dir().glob("*.j2"):
        used |= set(re.findall(r"\bt\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
        for a, b in re.findall(r"\bt\(\s*\"([a-z_]+)\" if [^)]* else \"([a-z_]+)\"",
                               path.read_text(encoding="utf-8")):
            used |= {a, b}
    assert used, "no key found: the pattern is wrong"
    assert used <= set(catalogue("fr").strings), used - set(catalogue("fr").strings)

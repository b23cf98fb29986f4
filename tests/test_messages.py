"""messages: every message in English and French under a stable code, said in the
reader's language with that language's numbers, lists and plurals."""

from __future__ import annotations

import pickle
import re
import string
from pathlib import Path

import pytest

from infolettre import messages
from infolettre.messages import Count, MonthName, Number, Or, code_of, codes, keys, say

PACKAGE = Path(__file__).resolve().parent.parent / "infolettre"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _top(lang: str) -> set[str]:
    return {k for k in keys(lang) if "." not in k}


def test_french_has_every_message_of_english_and_no_other() -> None:
    assert keys("fr") == keys("en")


@pytest.mark.parametrize("lang", messages.languages())
def test_each_translation_fills_the_same_fields(lang: str) -> None:
    """A translation that drops or misspells a {field} would raise, or say less."""
    assert keys(lang) <= keys("en"), keys(lang) - keys("en")
    for key in keys(lang):
        assert _fields(messages.text(key, lang)) == _fields(messages.text(key, "en")), key


def test_every_message_has_one_code_and_every_code_a_message() -> None:
    assert set(codes()) == _top("en")
    assert len(set(codes().values())) == len(codes())
    assert all(re.fullmatch(r"[EW]\d{3}", code) for code in codes().values())
    assert code_of("unknown-centre") == "E012"  # quoted in the issue and the guide
    assert code_of("part.did-you-mean") == ""


def test_every_message_the_code_says_exists() -> None:
    """``say("a-key")`` with a key no catalogue has fails at once, not in front of a user."""
    said = set()
    for path in PACKAGE.rglob("*.py"):
        said |= set(re.findall(r"""\bsay\(\s*["']([a-z][a-z0-9.-]*)["']""",
                               path.read_text(encoding="utf-8")))
    assert said and said <= keys("en"), said - keys("en")


def test_a_message_is_its_english_text_and_can_be_said_in_french() -> None:
    message = say("unknown-centre", slug="charleroy",
                  hint=say("part.did-you-mean", options=Or(["'charleroi'", "'chartres'"])))
    assert message == "unknown centre 'charleroy': did you mean 'charleroi' or 'chartres'?"
    assert message.code == "E012" and message.key == "unknown-centre"
    assert message.said_in("fr") == \
        "Cité inconnue « charleroy » : vouliez-vous dire 'charleroi' ou 'chartres' ?"
    assert pickle.loads(pickle.dumps(message)).said_in("fr") == message.said_in("fr")


def test_numbers_months_and_plurals_as_each_language_writes_them() -> None:
    length = say("text-too-long", length=Number(7500), limit=Number(6000))
    assert "7,500" in length and "7\u202f500" in length.said_in("fr")
    day = say("no-such-day", value="2019-02-30", name="date", day=30,
              month=MonthName(2), year=2019)
    assert day.endswith("there is no 30 February 2019")
    assert day.said_in("fr").endswith("il n'y a pas de 30 février 2019")

    def count(problems: int, files: int, lang: str) -> str:
        return say("report.count", problems=Count(problems, "report.problems"),
                   files=Count(files, "report.files")).said_in(lang)

    assert count(1, 1, "en") == "1 problem in 1 file"
    assert count(0, 2, "en") == "0 problems in 2 files"
    assert count(0, 1, "fr") == "0 problème dans 1 fichier"  # French: 0 is singular
    assert count(1500, 3, "fr") == "1\u202f500 problèmes dans 3 fichiers"


def test_a_language_without_the_message_says_all_of_it_in_the_fallback() -> None:
    """One sentence never mixes two languages: its parts (the month here) follow it."""
    message = say("no-such-day", value="2019-02-30", name="date", day=30,
                  month=MonthName(2), year=2019)
    assert "de" not in messages.languages()
    assert message.said_in("de") == message.said_in("fr")  # French, then English
    assert messages.text("unknown-centre", "de") == messages.text("unknown-centre", "fr")


@pytest.mark.parametrize(("environ", "lang"), [
    ({"LANG": "fr_BE.UTF-8"}, "fr"),
    ({"LANG": "en_GB.UTF-8", "LC_ALL": "fr_CH.UTF-8"}, "fr"),
    ({"LC_MESSAGES": "en_US", "LANG": "fr_FR"}, "en"),
    ({"LANG": "C.UTF-8"}, None),
    ({"LANG": "POSIX"}, None),
    ({"LANG": "de_DE.UTF-8"}, None),
    ({}, None),
])
def test_the_locale_names_a_language_with_a_catalogue(environ: dict[str, str],
                                                      lang: str | None) -> None:
    assert messages.locale_language(environ) == lang


# -- the contributors' guide lists every message ---------------------------------------

GUIDE = PACKAGE.parent / "docs" / "contributeurs.md"
START, END = "<!-- messages: start -->", "<!-- messages: end -->"

#: What to do, for the guide's "que faire" column, where the message does not say it
#: all. Keyed by code, so that the advice outlives a change of wording.
TO_DO: dict[str, str] = {
    "E001": "Bloc-notes : Fichier → Enregistrer sous → Encodage : UTF-8 ; "
            "TextEdit : Format → Convertir au format texte, puis UTF-8",
    "E002": "un dossier ou un raccourci porte le nom d'une nouvelle : mettez à sa place "
            "le fichier lui-même",
    "E003": "une nouvelle fait quelques Ko : c'est sans doute une image ou un document "
            "renommé en `.md`",
    "E004": "fermez le fichier s'il est ouvert ailleurs, vérifiez que vous pouvez le lire ; "
            "sinon, écrivez à l'équipe rédactionnelle",
    "E005": "c'est un document (Word, PDF…) renommé en `.md` : recopiez son texte dans "
            "une nouvelle créée par `infolettre new-item`",
    "E008": "souvent une valeur sur plusieurs lignes, ou d'un champ qui n'est pas du texte "
            "(nom, `alt`…), qui contient `: ` : mettez-la entre guillemets ; ou une ligne "
            "mal alignée : indentez avec des espaces",
    "E011": "ajoutez une ligne `---` tout en haut, avant `cdm:`",
    "E012": "corrigez l'identifiant de votre Cité ; une Cité qui manque est ajoutée à "
            "`cdms.yaml` par l'équipe rédactionnelle",
    "E016": "corrigez la faute de frappe : les clés s'écrivent en anglais "
            "(`title`, `contacts`, `image`…)",
    "E019": "mettez la valeur entre guillemets : `title: \"[Report] Forum\"`",
    "E020": "retapez la valeur à la main, sans la coller depuis un autre logiciel",
    "E031": "chaque entrée commence par `- `, les lignes qui la suivent sont alignées "
            "sous son premier mot",
    "E034": "concerne `cdms.yaml` : signalez-le à l'équipe rédactionnelle",
    "E035": "concerne `cdms.yaml` (les identifiants des Cités) : signalez-le à l'équipe "
            "rédactionnelle",
    "E036": "concerne `cdms.yaml` : signalez-le à l'équipe rédactionnelle",
    "E040": "concerne `agenda.yaml`, tenu par l'équipe rédactionnelle",
    "E042": "concerne le `lang:` de `issue.md` : l'équipe rédactionnelle choisit une "
            "langue qui a un catalogue",
    "E043": "lancez `check` sur le dossier du numéro (`issues/2018-06`) ou sur un fichier "
            "de son dossier `news/`",
    "E044": "lancez `check` sur le dossier du numéro lui-même, pas sur un dossier voisin",
    "E045": "lancez `check` sur le numéro là où l'équipe rédactionnelle l'a rangé, "
            "à côté de `cdms.yaml`",
    "E046": "concerne l'édito (`issue.md`), écrit par l'équipe rédactionnelle",
    "E047": "concerne l'édito (`issue.md`), écrit par l'équipe rédactionnelle",
    "E048": "vérifiez le chemin donné à `check` (glisser le fichier dans le terminal "
            "l'écrit sans faute)",
    "E049": "puis retirez le document du dossier `news/`",
    "E050": "puis retirez le document du dossier `news/`",
    "E051": "puis retirez le PDF du dossier `news/`",
    "E052": "une photo d'iPhone (`.heic`) : Réglages → Appareil photo → Formats → "
            "« Le plus compatible », ou exportez-la en JPEG",
    "E059": "vérifiez que l'image est dans le même dossier que la nouvelle et que son nom "
            "est écrit à l'identique",
    "E062": "concerne `infolettre new-item`, lancé par l'équipe rédactionnelle",
    "E063": "concerne `infolettre new-item`, lancé par l'équipe rédactionnelle",
    "E064": "concerne `infolettre new-item`, lancé par l'équipe rédactionnelle",
    "W001": "n'empêche pas la publication",
    "W002": "n'empêche pas la publication : `#` pour le premier titre du texte, `##` pour "
            "ses sous-titres",
    "E068": "concerne `editions:` dans `issue.md`, tenu par l'équipe rédactionnelle",
    "E069": "concerne `infolettre new-translation`",
    "E070": "concerne `infolettre new-translation` : choisissez une autre langue avec `--lang`",
    "W003": "n'empêche pas la publication ; `infolettre new-translation` écrit le fichier "
            "à traduire",
    "W004": "n'empêche pas la publication ; `translated_from` se recopie depuis le message",
    "W005": "n'empêche pas la publication ; `translated_from` se recopie depuis le message",
    "W006": "n'empêche pas la publication",
    "W007": "n'empêche pas la publication ; les éditions sont choisies par l'équipe "
            "rédactionnelle",
    "W008": "n'empêche pas la publication",
}

#: Values shown for fields that read badly as "…" (a heading's levels, a day).
FIELD_EXAMPLES = {"level": "5", "above": "3", "top": "3", "marks": "####",
                  "day": "30", "month": "février", "year": "2019"}


def _groups(lang: str) -> list[tuple[str, list[str]]]:
    """The messages of a catalogue as its ``# -- title ---`` comments group them (the
    tables such as ``[part]`` are pieces of messages, not messages)."""
    groups: list[tuple[str, list[str]]] = []
    path = PACKAGE / "messages" / f"{lang}.toml"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            break
        if heading := re.fullmatch(r"# -- (.+?) -*", line):
            groups.append((heading.group(1), []))
        elif (entry := re.match(r"([a-z][a-z0-9-]*) = ", line)) and groups:
            groups[-1][1].append(entry.group(1))
    return [(title, group) for title, group in groups if group]


def _shown(template: str) -> str:
    """A message's text with its fields as "…" (or an example value), one "…" for
    fields that follow each other."""
    shown = "".join(literal + ("" if field is None else FIELD_EXAMPLES.get(field, "…"))
                    for literal, field, _, _ in string.Formatter().parse(template))
    return re.sub("…+", "…", shown)


def render_messages_section() -> str:
    """The guide's list of messages: a table per group of ``en.toml`` under its French
    title, each message with its code, its French text and what to do."""
    french = {group[0]: title for title, group in _groups("fr")}
    out: list[str] = []
    for title, group in _groups("en"):
        name = french.get(group[0], title)
        command = re.fullmatch(r"[a-z]+(-[a-z]+)+", name)  # new-item
        name = f"`{name}`" if command else f"{name[0].upper()}{name[1:]}"
        out += [f"### {name}", "", "| code | message | que faire |", "|---|---|---|"]
        for key in group:
            said = _shown(messages.text(key, "fr")).replace("|", "\\|")
            out.append(f"| {code_of(key)} | `` {said} `` | {TO_DO.get(code_of(key), '')} |")
        out.append("")
    return "\n".join(out)


def test_the_contributors_guide_lists_every_message(update_golden: bool) -> None:
    """docs/contributeurs.md shows every coded message in French, as rendered here: a
    message added without its place in the guide fails. After a change of the
    catalogues, ``pytest tests/test_messages.py --update-golden`` rewrites the section
    between the markers; review the diff."""
    listed = [key for _, group in _groups("en") for key in group]
    assert sorted(listed) == sorted(codes()), set(listed) ^ set(codes())
    assert [set(g) for _, g in _groups("fr")] == [set(g) for _, g in _groups("en")]
    assert set(TO_DO) <= set(codes().values()), set(TO_DO) - set(codes().values())
    guide = GUIDE.read_text(encoding="utf-8")
    assert guide.count(START) == 1 and guide.count(END) == 1, "markers missing in the guide"
    before, rest = guide.split(START, 1)
    written, after = rest.split(END, 1)
    section = f"\n{render_messages_section()}\n"
    if update_golden:
        GUIDE.write_text(f"{before}{START}{section}{END}{after}", encoding="utf-8")
        written = section
    assert written == section, "run pytest tests/test_messages.py --update-golden"


def test_spanish_portuguese_and_italian_are_complete_and_spanish_is_all_spanish() -> None:
    """The centres of Spain, Portugal and Italy read every message in their language,
    with its parts, numbers, months and plurals: no English left in a sentence."""
    for lang in ("es", "pt", "it"):
        assert keys(lang) == keys("en"), (lang, keys(lang) ^ keys("en"))
    centre = say("unknown-centre", slug="charleroy",
                 hint=say("part.did-you-mean", options=Or(["'charleroi'", "'chartres'"])))
    assert centre.said_in("es") == \
        "«charleroy» no es una Ciudad de los Oficios conocida: " \
        "¿quiso decir 'charleroi' o 'chartres'?"
    day = say("no-such-day", value="2019-02-30", name="date", day=30,
              month=MonthName(2), year=2019)
    assert day.said_in("es") == \
        "«2019-02-30» en «date» no es una fecha: no existe el 30 de febrero de 2019"
    count = say("report.count", problems=Count(0, "report.problems"),
                files=Count(1, "report.files"))
    assert count.said_in("es") == "0 problemas en 1 archivo"  # Spanish: 0 is plural

"""A subscriber list's columns and languages as people write them in a spreadsheet.

The network's contacts keep their lists in French, Spanish, Portuguese, Italian
or English: ``Prénom;Nom;Courriel;Langue;Cité des métiers`` is as much a header
as ``email,name,lang,centre``, and ``Anglais`` or ``pt_BR`` as much a language as
``en`` or ``pt``. Everything here is compared with ``fold``: case, accents,
spaces and punctuation ignored, so that ``E-Mail`` and ``adresse e-mail`` meet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..content.model import Centre
from ..errors import InfoLettreError
from ..words import without_accents

__all__ = ["COLUMNS", "Header", "blank", "centre_slug", "column", "delimiter", "file_encoding",
           "fold", "language_code", "read_header"]

#: The columns an import reads; every other column is ignored (with one warning).
COLUMNS = frozenset({"email", "name", "lang", "centre", "country", "consent_source",
                     "consent_date"})
#: Internal columns joined as ``name`` (first name, then last name).
FIRST_NAME, LAST_NAME = "first_name", "last_name"

_ALIASES = {
    "email": ("email", "e-mail", "mail", "courriel", "adresse e-mail", "adresse email",
              "adresse mail", "adresse electronique", "correo", "correo electronico",
              "e-mail address", "email address", "posta elettronica", "indirizzo email"),
    "name": ("name", "nom", "nombre", "nome", "full name", "nom complet", "nom prénom",
             "prénom nom",
             "nombre completo", "nome completo"),
    FIRST_NAME: ("first name", "firstname", "prenom", "given name", "nombre de pila",
                 "primeiro nome", "nome proprio"),
    LAST_NAME: ("last name", "lastname", "surname", "family name", "nom de famille",
                "apellido", "apellidos", "sobrenome", "cognome"),
    "lang": ("lang", "language", "langue", "idioma", "lingua", "língua"),
    "centre": ("centre", "center", "cdm", "cite des metiers", "cité des métiers",
               "ciudad de los oficios", "cidade das profissoes", "citta dei mestieri"),
    "country": ("country", "pays", "pais", "paese"),
    "consent_source": ("consent_source", "consent source"),
    "consent_date": ("consent_date", "consent date"),
}

_LANGUAGES = {
    "fr": ("français", "french", "francés", "francês", "francese"),
    "en": ("anglais", "english", "inglés", "inglês", "inglese"),
    "es": ("espagnol", "español", "spanish", "castellano", "spagnolo", "espanhol"),
    "pt": ("portugais", "português", "portuguese", "portugués", "portoghese"),
    "it": ("italien", "italiano", "italian"),
    "de": ("allemand", "deutsch", "german", "alemán", "alemão", "tedesco"),
    "ar": ("arabe", "arabic", "árabe", "arabo"),
}

_REGIONAL = re.compile(r"^([a-z]{2,3})[-_][a-z0-9]{2,8}\Z", re.IGNORECASE)


def fold(text: str) -> str:
    """``text`` as it is compared: lower case, without accents, spaces or punctuation."""
    return "".join(c for c in without_accents(text) if c.isalnum())


_BY_FOLD = {fold(alias): key for key, aliases in _ALIASES.items() for alias in aliases}
_LANG_BY_FOLD = {fold(name): code for code, names in _LANGUAGES.items() for name in names}


def column(header: str) -> str | None:
    """The column a header cell names (``Courriel`` is ``email``), or None if unknown."""
    return _BY_FOLD.get(fold(header))


def language_code(value: str) -> str:
    """The code of a language as written in a list: ``Anglais`` → ``en``, ``pt_BR`` → ``pt``.

    A value this does not know is returned in lower case, for the import to
    accept as a code or to refuse with its line.
    """
    value = value.strip()
    regional = _REGIONAL.match(value)
    if regional:
        return regional.group(1).lower()
    return _LANG_BY_FOLD.get(fold(value), value.lower())


def file_encoding(path: Path) -> str:
    """The encoding the whole file decodes in: UTF-8 (with or without BOM), else cp1252.

    Read once in blocks before the import, so memory does not grow with the
    file. French Excel saves "CSV (;)" in cp1252; the five bytes cp1252 leaves
    undefined are read as Latin-1, which decodes anything.
    """
    import codecs

    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as binary:
                while block := binary.read(1 << 16):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        except OSError as exc:
            raise InfoLettreError(f"{path}: cannot read: {exc.strerror}") from None
        return encoding
    return "latin-1"


def delimiter(line: str) -> str:
    """The delimiter of a header line: the most frequent of ``,`` ``;`` tab outside quotes.

    Counted on the whole line, so ``Nom;Prénom, initiale;E-mail`` is ``;``; a
    one-column header has none of them and reads as ``,``.
    """
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in ",;\t"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def blank(values: list[str]) -> bool:
    """A blank or separator-only row (``;;;;``, as a spreadsheet writes an empty line)."""
    return not any(v.strip() for v in values)


@dataclass
class Header:
    """The columns of a list as read, and what its header said that no column is."""

    cells: list[str]  # as written, for messages
    names: list[str | None]
    ignored: list[str]
    joined: bool  # first name and last name columns, joined as the name

    def row(self, values: list[str]) -> dict[str, str]:
        """A row as the import reads it: known columns only, name joined, language coded."""
        row: dict[str, str] = {}
        for name, value in zip(self.names, values, strict=False):
            if name is not None:  # of two columns with one name, the last wins
                row[name] = value.strip()
        if self.joined:
            parts = (row.pop(FIRST_NAME, ""), row.pop(LAST_NAME, ""))
            row["name"] = " ".join(p for p in parts if p)
        if row.get("lang"):
            row["lang"] = language_code(row["lang"])
        return row


def read_header(cells: list[str]) -> Header:
    """Read a header row: aliases in the network's languages, unknown columns ignored.

    ``Prénom`` with ``Nom`` makes ``Nom`` the last name; the two are joined as
    the subscriber's name.
    """
    cells = [c.strip() for c in cells]
    names = [column(c) for c in cells]
    ignored = [c for c, n in zip(cells, names, strict=True) if n is None and c]
    if FIRST_NAME in names and LAST_NAME not in names and "name" in names:
        names = [LAST_NAME if n == "name" else n for n in names]
    if LAST_NAME in names and FIRST_NAME not in names and "name" not in names:
        names = ["name" if n == LAST_NAME else n for n in names]
    if FIRST_NAME in names and "name" not in names:
        return Header(cells, names, ignored, joined=True)
    return Header(cells, [None if n in (FIRST_NAME, LAST_NAME) else n for n in names],
                  ignored, joined=False)


def centre_slug(value: str, centres: dict[str, Centre]) -> str | None:
    """The slug of the centre a list names by slug, name or city, or None if none is.

    ``Marseille``, ``marseille`` and ``Cité des Métiers de Marseille`` are one
    centre, so that ``send --centre marseille`` reaches everyone of it.
    """
    wanted = fold(value)
    for slug, centre in centres.items():
        if wanted in (fold(slug), fold(centre.name), fold(centre.city)) and wanted:
            return slug
    return None

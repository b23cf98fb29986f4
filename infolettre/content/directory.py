"""Change the directory of centres (``cdms.yaml``) from the command line.

Nobody should have to edit the YAML by hand to add a centre or one of its contacts.
The file is read and written back with ruamel.yaml's round-trip mode, which keeps
its comments, the order of its keys and its quoting, so that a change shows in a diff
as the lines it changed and nothing else. Every change is checked as ``check`` checks
the file before anything is written, and the file is replaced atomically: a refused
change leaves it as it was.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..errors import InfoLettreError, Problem, ProblemsFound
from ..fsutil import atomic_write
from ..messages import say
from ..words import is_email
from .load import centre_hint, is_slug, load_centres
from .model import Centre
from .source import read_text

__all__ = ["CENTRE_FIELDS", "add_centre", "edit_centre", "read_centres"]

#: The fields of a centre the commands set, in the order a new entry is written.
CENTRE_FIELDS = ("name", "city", "country", "website")


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quotes kept
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def read_centres(path: Path) -> dict[str, Centre]:
    """The centres of the directory, or ProblemsFound naming what is wrong in it."""
    problems: list[Problem] = []
    centres = load_centres(path, problems)
    if problems:
        raise ProblemsFound(problems)
    return centres


def _load(path: Path) -> CommentedMap:
    read_centres(path)  # a directory with problems is fixed first, by check's messages
    data = _yaml().load(read_text(path))
    return data if data is not None else CommentedMap()


def _save(path: Path, data: CommentedMap) -> None:
    """Write ``data`` over ``path`` once the result passes the directory's checks."""
    out = io.StringIO()
    _yaml().dump(data, out)
    text = out.getvalue()
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        candidate = Path(tmp) / path.name
        candidate.write_text(text, encoding="utf-8")
        problems: list[Problem] = []
        load_centres(candidate, problems)
    if problems:
        raise ProblemsFound([Problem(path, p.line, p.message, p.column) for p in problems])
    atomic_write(path, text)


def add_centre(path: Path, slug: str, **fields: str) -> None:
    """Add the centre ``slug`` with ``fields`` (``name`` at least) at the directory's end."""
    data = _load(path)
    if not is_slug(slug):
        raise InfoLettreError(say("bad-slug", slug=slug))
    if slug in data:
        raise InfoLettreError(say("centre-exists", slug=slug))
    data[slug] = CommentedMap((k, fields[k]) for k in CENTRE_FIELDS if fields.get(k))
    _save(path, data)


def edit_centre(path: Path, slug: str, *, add_contact: tuple[str, str, str] | None = None,
                remove_contact: str | None = None, **fields: str | None) -> None:
    """Change the fields given (an empty text deletes the field), add a contact
    ``(name, email, lang)`` or remove the contact of an email address."""
    data = _load(path)
    if slug not in data:
        raise InfoLettreError(say("unknown-centre", slug=slug,
                                  hint=centre_hint(slug, set(data))))
    entry: Any = data[slug]
    for key, value in fields.items():
        if value is None:
            continue
        if value:
            entry[key] = value
        elif key in entry:
            del entry[key]
    contacts = entry.get("contacts")
    if add_contact is not None:
        name, email, lang = add_contact
        if not is_email(email):
            raise InfoLettreError(say("bad-email", value=email, name="--add-contact"))
        if contacts is None:
            contacts = entry["contacts"] = CommentedSeq()
        if any(str(c.get("email", "")).lower() == email.lower() for c in contacts):
            raise InfoLettreError(say("contact-exists", email=email, slug=slug))
        person = CommentedMap([("name", name), ("email", email)])
        if lang:
            person["lang"] = lang
        contacts.append(person)
    if remove_contact is not None:
        kept = [c for c in contacts or () if str(c.get("email", "")).lower()
                != remove_contact.lower()]
        if contacts is None or len(kept) == len(contacts):
            raise InfoLettreError(say("no-such-contact", email=remove_contact, slug=slug))
        contacts[:] = kept
        if not kept:
            del entry["contacts"]
    _save(path, data)

"""An IMAP mailbox over TLS, as ``bounces fetch`` and ``replies fetch`` read theirs.

Both commands do the same with a mailbox: connect over IMAPS with the certificate
verified (against ``cafile`` when one is given, else the system's authorities), log
in, read every mail of a folder without marking it read, move the mails they dealt
with to another folder (created when missing), and log out whatever happened. What
the mails mean is theirs; this module is only the conversation with the server,
whose failures are each an ``InfoLettreError`` that names the server.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InfoLettreError

__all__ = ["Folder", "Mailbox", "open_folder"]


@dataclass(frozen=True)
class Mailbox:
    """Where mails are read: an IMAP server over TLS, and the account's login."""

    host: str
    port: int
    user: str
    password: str
    cafile: Path | None = None

    @property
    def where(self) -> str:
        """``host:port``, as the errors name the server."""
        return f"{self.host}:{self.port}"


def _ok(result: tuple[str, list], what: str) -> list:
    """The data of a command the server answered OK; else an InfoLettreError."""
    if result[0] != "OK":
        raise InfoLettreError(f"IMAP {what} failed: {result[1]}")
    return result[1]


class Folder:
    """A selected folder of a logged-in connection: its mails, and moving them."""

    def __init__(self, imap: imaplib.IMAP4_SSL, uids: Sequence[str]) -> None:
        self._imap, self._uids = imap, list(uids)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        """Each mail of the folder as it was when selected, (uid, raw bytes), fetched one
        at a time without marking it read (``BODY.PEEK``)."""
        for uid in self._uids:
            data = _ok(self._imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetch {uid}")
            raw = next((part[1] for part in data if isinstance(part, tuple)), b"")
            yield uid, raw

    def move(self, moves: Sequence[tuple[Sequence[str], str]]) -> None:
        """Move each group of mails (by uid) to its folder, created when missing; then
        expunge them from this folder, once, if any moved."""
        moved = False
        for ids, target in moves:
            if not ids:
                continue
            self._imap.create(f'"{target}"')  # fails harmlessly when it exists
            _ok(self._imap.uid("COPY", ",".join(ids), f'"{target}"'), f"copy to {target}")
            _ok(self._imap.uid("STORE", ",".join(ids), "+FLAGS.SILENT", r"(\Deleted)"),
                "flag")
            moved = True
        if moved:
            _ok(self._imap.expunge(), "expunge")


@contextmanager
def open_folder(mailbox: Mailbox, folder: str = "INBOX") -> Iterator[Folder]:
    """The folder ``folder`` of the mailbox, selected over a verified TLS connection
    that is logged out on leaving, whatever happened."""
    context = ssl.create_default_context(cafile=str(mailbox.cafile) if mailbox.cafile else None)
    where = mailbox.where
    try:
        imap = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=60)
    except ssl.SSLCertVerificationError as exc:
        raise InfoLettreError(f"{where} failed TLS verification: {exc.verify_message}") from None
    except OSError as exc:
        raise InfoLettreError(f"{where} failed to connect: {exc}") from None
    try:
        try:
            imap.login(mailbox.user, mailbox.password)
        except imaplib.IMAP4.error as exc:
            raise InfoLettreError(f"{where} refused the login of {mailbox.user}: {exc}") from None
        _ok(imap.select(f'"{folder}"'), f"select {folder}")
        uids = _ok(imap.uid("SEARCH", "ALL"), "search")[0].split()
        yield Folder(imap, [uid.decode() for uid in uids])
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()

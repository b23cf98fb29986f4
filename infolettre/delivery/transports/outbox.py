"""The outbox: each message written to a local Maildir, the default transport.

The main job runs with nothing installed and nothing sent: open the Maildir in
any mail client (mutt -f outbox/) or look at the files. Each file is written
in ``tmp/`` and renamed into ``new/``, so a reader never sees half a message.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from pathlib import Path

from .base import Envelope, Outcome, Result, Session, Transport, TransportError

__all__ = ["OutboxTransport"]

_counter = itertools.count()
_lock = threading.Lock()


class _OutboxSession(Session):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = socket.gethostname().replace("/", "_").replace(":", "_")

    def send(self, envelope: Envelope) -> Result:
        with _lock:
            n = next(_counter)
        name = f"{time.time_ns()}.P{os.getpid()}Q{n}.{self.host}"
        tmp, new = self.root / "tmp" / name, self.root / "new" / name
        data = (f"Return-Path: <{envelope.sender}>\r\nDelivered-To: {envelope.recipient}\r\n"
                .encode() + envelope.data).replace(b"\r\n", b"\n")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, new)
        except OSError as exc:
            return Result(Outcome.RETRY, f"cannot write {new}: {exc.strerror}")
        return Result(Outcome.SENT, f"written to {new}", provider_id=name)


class OutboxTransport(Transport):
    """Writes messages into the Maildir at ``root`` (created if needed)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self) -> Session:
        try:
            for sub in ("tmp", "new", "cur"):
                (self.root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise TransportError(f"{self.root}: cannot create the outbox: {exc.strerror}"
                                 ) from None
        return _OutboxSession(self.root)

    def describe(self) -> str:
        return f"outbox://{self.root} (one file per message in {self.root / 'new'}/)"

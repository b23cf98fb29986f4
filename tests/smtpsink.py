"""A loopback SMTP sink that answers each message's final dot after a delay, as a
distant MTA does, and counts the messages per recipient so duplicates show.

Raw asyncio (a ``Protocol``, no aiosmtpd): the commands InfoLettre speaks (EHLO,
HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) answered from a line buffer, PIPELINING
and SMTPUTF8 offered, the data scanned for its end without being kept. One
process, one thread: the benchmarks measure its CPU so that it can be shown not
to be the bottleneck; the tests of many messages use it where aiosmtpd, which
reads the data line by line (some 6 ms for a message of 70 KB), would be what
they wait for.

    python tests/smtpsink.py [--delay 0.02] [--port 0] [--all]

Prints the port it listens on (127.0.0.1), then runs until SIGTERM or SIGINT and
prints one line of JSON: messages, distinct recipients, the duplicated ones (up
to 20, with their counts), connections, the most open at once, its CPU seconds;
with ``--all``, every recipient's count too (``received``). ``SmtpSink`` runs it
from a test or a benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter

EHLO = (b"250-sink.invalid\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
        b"250 SIZE 104857600\r\n")
END = b"\r\n.\r\n"


class Tally:
    """What every connection of the sink took."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.messages = 0
        self.connections = 0
        self.open = 0
        self.most_open = 0

    def report(self, every: bool = False) -> dict[str, object]:
        """The counts, and the sink's own CPU time (user + system, seconds); with
        ``every``, each recipient's count."""
        times = os.times()
        twice = {rcpt: n for rcpt, n in self.received.items() if n > 1}
        return {"messages": self.messages, "recipients": len(self.received),
                "duplicated": len(twice), "duplicates": dict(list(twice.items())[:20]),
                "connections": self.connections, "most_open": self.most_open,
                "cpu": round(times.user + times.system, 3),
                **({"received": dict(self.received)} if every else {})}


class SinkProtocol(asyncio.BufferedProtocol):
    """One SMTP connection: commands line by line, then data until its final dot.

    The data is read into one buffer per connection and searched there, never
    copied: messages of 100 KB at a thousand a second must cost the sink little.
    """

    def __init__(self, tally: Tally, delay: float) -> None:
        self.tally, self.delay = tally, delay
        self.transport: asyncio.Transport | None = None
        self.read = bytearray(256 * 1024)
        self.buffer = b""  # commands received, not yet answered
        self.recipients: list[str] = []
        self.in_data = False
        self.tail = b""  # the last bytes of the data so far: its end may straddle reads
        self.held = False  # the final dot's reply is due: later commands wait for it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.tally.connections += 1
        self.tally.open += 1
        self.tally.most_open = max(self.tally.most_open, self.tally.open)
        transport.write(b"220 sink.invalid ESMTP\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.tally.open -= 1
        self.transport = None

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.read)

    def buffer_updated(self, nbytes: int) -> None:
        if self.in_data:
            self._data(self.read, nbytes)
        else:
            self.buffer += self.read[:nbytes]
        self._commands()

    def _data(self, data: bytes | bytearray, size: int) -> None:
        """Look for the end of the data in ``data[:size]``; what follows it is commands."""
        end = -1
        if self.tail:
            across = self.tail + bytes(data[:min(size, len(END) - 1)])
            at = across.find(END)
            if at >= 0:
                end = at + len(END) - len(self.tail)
        if end < 0:
            at = data.find(END, 0, size)
            if at < 0:
                self.tail = (self.tail + bytes(data[max(0, size - len(END) + 1):size])
                             )[-(len(END) - 1):]
                return
            end = at + len(END)
        self.in_data, self.tail, self.held = False, b"", True
        self.buffer += data[end:size]
        asyncio.get_running_loop().call_later(self.delay, self._accept)

    def _accept(self) -> None:
        """The final dot's reply, a delay after the dot: every recipient took one."""
        for rcpt in self.recipients:
            self.tally.received[rcpt] += 1
        self.tally.messages += 1
        self.recipients = []
        self.held = False
        if self.transport is not None:
            self.transport.write(f"250 2.0.0 Ok: queued as {self.tally.messages}\r\n".encode())
            self._commands()

    def _commands(self) -> None:
        """Answer the whole commands received, in one write: a pipelined MAIL, RCPT
        and DATA cost the sink one system call, not three."""
        replies: list[bytes] = []
        while not self.in_data and not self.held and self.transport is not None:
            line, found, rest = self.buffer.partition(b"\r\n")
            if not found:
                break
            self.buffer = rest
            replies.append(self._command(line))
            if self.in_data and self.buffer:  # the data came with the commands
                pending, self.buffer = self.buffer, b""
                self._data(pending, len(pending))
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))
            if replies[-1].startswith(b"221"):
                self.transport.close()

    def _command(self, line: bytes) -> bytes:
        """The reply to one command line."""
        verb = line[:4].upper()
        if verb == b"EHLO":
            return EHLO
        if verb == b"HELO":
            return b"250 sink.invalid\r\n"
        if verb == b"MAIL":
            self.recipients = []
            return b"250 2.1.0 Ok\r\n"
        if verb == b"RCPT":
            address = line.partition(b"<")[2].partition(b">")[0]
            self.recipients.append(address.decode("utf-8", "replace").lower())
            return b"250 2.1.5 Ok\r\n"
        if verb == b"DATA":
            if not self.recipients:
                return b"503 5.5.1 RCPT first\r\n"
            self.in_data, self.tail = True, b"\r\n"  # the data's first line starts a line
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb in (b"RSET", b"NOOP"):
            if verb == b"RSET":
                self.recipients = []
            return b"250 2.0.0 Ok\r\n"
        if verb == b"QUIT":
            self.held = True  # nothing after QUIT is answered
            return b"221 2.0.0 Bye\r\n"
        return b"502 5.5.2 Command not recognised\r\n"


async def serve(port: int, delay: float) -> Tally:
    """Listen until SIGTERM or SIGINT; what was received."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    server = await loop.create_server(lambda: SinkProtocol(tally, delay), "127.0.0.1", port,
                                      backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    return tally


class SmtpSink:
    """``with SmtpSink(delay) as sink:`` this file as its own process, listening on
    127.0.0.1:``sink.port``; ``sink.stop()`` (or the block's end) stops it and
    returns its report, with every recipient's count (``received``)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.report: dict = {}

    def __enter__(self) -> SmtpSink:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--delay", str(self.delay), "--all"],
            stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        self.port = int(line)
        return self

    def dsn(self, **options: object) -> str:
        """The transport of InfoLettre that sends to this sink."""
        query = "".join(f"&{k}={v}" for k, v in options.items())
        return f"smtp://127.0.0.1:{self.port}?security=none{query}"

    def stop(self) -> dict:
        """Stop the sink; what it received."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            out, _ = self.process.communicate(timeout=30)
            self.process = None
            self.report = json.loads(out.strip().splitlines()[-1])
        return self.report

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.02,
                        help="seconds before answering each message's final dot")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--all", action="store_true",
                        help="report every recipient's count, not only the duplicated")
    args = parser.parse_args()
    if args.delay < 0:
        sys.exit("tests/smtpsink.py: --delay must be 0 or more seconds")
    tally = asyncio.run(serve(args.port, args.delay))
    print(json.dumps(tally.report(args.all)), flush=True)


if __name__ == "__main__":
    main()

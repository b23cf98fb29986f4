"""Machine-translation drafts through a LibreTranslate server (open source, self-hostable).

Off unless asked for: ``infolettre new-translation … --engine
libretranslate+https://HOST?api_key_env=VAR`` fills the translation's draft through
the server's ``POST /translate`` (JSON ``{q, source, target, format, api_key}``,
answer ``{"translatedText": …}``, errors ``{"error": …}`` with 400, 403, 429 or 500),
and marks the file ``status: machine`` so that ``check`` keeps warning until a person
has read it. The API key, when the server wants one, comes from the environment
variable the engine names, never from a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from ..errors import InfoLettreError
from ..messages import say

__all__ = ["ENGINE_PREFIX", "LibreTranslate", "engine"]

ENGINE_PREFIX = "libretranslate+"
#: Texts sent in one request: LibreTranslate's default ``--batch-limit`` is unlimited,
#: public instances set a few dozen.
BATCH = 20


@dataclass
class LibreTranslate:
    """A LibreTranslate server at ``url`` (``https://host[:port][/prefix]``)."""

    url: str
    api_key: str = ""
    timeout: float = 60.0

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        """Each of ``texts`` in ``target``; empty texts are not sent."""
        out = list(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        with httpx.Client(timeout=self.timeout) as client:
            for start in range(0, len(todo), BATCH):
                part = todo[start:start + BATCH]
                for i, text in zip(part, self._post(client, [texts[i] for i in part],
                                                    source, target), strict=True):
                    out[i] = text
        return out

    def _post(self, client: httpx.Client, q: list[str], source: str, target: str
              ) -> list[str]:
        body: dict[str, object] = {"q": q, "source": source, "target": target,
                                   "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        where = self.url.rstrip("/") + "/translate"
        try:
            answer = client.post(where, json=body)
        except httpx.HTTPError as exc:
            raise InfoLettreError(say("engine-unreachable", url=self.url, why=exc)) from None
        try:
            data = answer.json()
        except ValueError:
            data = {}
        if answer.status_code != 200:
            why = data.get("error") if isinstance(data, dict) else None
            raise InfoLettreError(say("engine-refused", url=self.url,
                                      status=answer.status_code, why=why or answer.reason_phrase))
        result = data.get("translatedText") if isinstance(data, dict) else None
        if not isinstance(result, list) or len(result) != len(q) \
                or not all(isinstance(t, str) for t in result):
            raise InfoLettreError(say("engine-refused", url=self.url, status=answer.status_code,
                                      why="no translatedText list of the texts sent"))
        return result


def engine(spec: str, environ: Mapping[str, str] | None = None) -> LibreTranslate:
    """The engine ``libretranslate+https://HOST[:PORT][/PATH]?api_key_env=VAR`` names."""
    env = os.environ if environ is None else environ
    if not spec.startswith(ENGINE_PREFIX):
        raise InfoLettreError(say("bad-engine", spec=spec))
    parts = urlsplit(spec[len(ENGINE_PREFIX):])
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InfoLettreError(say("bad-engine", spec=spec))
    query = parse_qs(parts.query)
    unknown = set(query) - {"api_key_env"}
    if unknown or parts.username or parts.password:  # secrets come from the environment
        raise InfoLettreError(say("bad-engine", spec=spec))
    key = ""
    if "api_key_env" in query:
        name = query["api_key_env"][0]
        key = env.get(name, "")
        if not key:
            raise InfoLettreError(say("engine-key-missing", name=name))
    return LibreTranslate(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), key)

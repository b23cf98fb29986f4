"""Configuration: ``infolettre.toml`` with environment overrides.

Looked up in this order: ``--config PATH``, ``$INFOLETTRE_CONFIG``,
``./infolettre.toml``; without any file the embedded defaults apply, so the tool
runs on a fresh clone. Paths in the file are relative to the file itself.
Secrets never live here: they come from the environment.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import InfoLettreError
from .words import closest

__all__ = ["SECRET_VARS", "TOKEN_FIELD", "Config", "ConfigError", "Database", "PostgresURL",
           "database", "load_config", "proxies_ok"]

CONFIG_NAME = "infolettre.toml"


class ConfigError(InfoLettreError):
    """The configuration file is missing, malformed or holds a bad value."""


class PostgresURL(str):
    """The address of a PostgreSQL database (``postgresql://USER@HOST:PORT/DB``).

    A ``str``, so that it prints and compares as written; its own type, so that the
    store knows a server from a file without parsing it again.
    """

    def password(self) -> str | None:
        """The password the address holds (``USER:PASSWORD@`` or ``?password=``), if any."""
        parts = urlsplit(self)
        if parts.password is not None:
            return parts.password
        found = [v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k == "password"]
        return found[0] if found else None

    def shown(self) -> str:
        """The address with any password replaced by ``***``, for messages and logs."""
        parts = urlsplit(self)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = parts.query if all(k != "password" for k, _ in pairs) else "&".join(
            f"{k}=***" if k == "password" else f"{k}={v}" for k, v in pairs)
        return parts._replace(netloc=netloc, query=query).geturl()


#: Where subscribers and the journal live: a SQLite file, or a PostgreSQL server.
Database = Path | PostgresURL


def database(value: str, base: Path | None = None) -> Database:
    """``value`` as a database: ``postgresql://…`` (or ``postgres://…``) names a
    server; ``sqlite:///PATH`` or a bare path a SQLite file, relative to ``base``."""
    if value.startswith(("postgresql://", "postgres://")):
        return PostgresURL(value)
    if value.startswith("sqlite://"):
        rest = value[len("sqlite://"):]
        if not rest.startswith("/"):
            raise ConfigError(f"{value}: a SQLite address is sqlite:///PATH (three slashes "
                              "for a relative path, four for an absolute one)")
        value = rest[1:]
    elif "://" in value:
        raise ConfigError(f"{value}: not a database; give a file path, sqlite:///PATH or "
                          "postgresql://USER@HOST:PORT/DB")
    path = Path(value)
    return (base / path).resolve() if base is not None and not path.is_absolute() else path


@dataclass(frozen=True)
class Config:
    """Settings every command reads; defaults work for a local trial run."""

    #: Public address of the web archive; issue N is published at BASE_URL/N/.
    base_url: str = "http://127.0.0.1:8000"
    #: Folder holding the issues and the directory of centres (cdms.yaml).
    issues_dir: Path = Path("issues")
    #: Folder of templates overriding the default ones, file by file.
    templates_dir: Path | None = None
    #: Longest body a news item may have, in characters of Markdown.
    max_body_chars: int = 6000
    #: Where built editions are kept between ``build`` and ``send`` (safe to delete).
    cache_dir: Path = Path("build/.cache")
    #: The From of every message ("Name <address>").
    sender: str = "InfoLettre <infolettre@example.org>"
    #: Where replies go (empty: to the sender).
    reply_to: str = ""
    #: The Reply-To of the call for contributions, an address whose ``{token}`` is the
    #: contact's link token (``"infolettre+{token}@example.org"``), so that a reply
    #: becomes their submission (``replies fetch``); empty: ``reply_to``, as any notice.
    contribute_reply_to: str = ""
    #: The List-Id (RFC 2919): a domain-like name unique to this list.
    list_id: str = "infolettre.example.org"
    #: Envelope sender (Return-Path) that receives bounces (empty: the sender's address).
    bounce_address: str = ""
    #: Address of the mailto: in List-Unsubscribe (empty: the bounce address).
    unsubscribe_email: str = ""
    #: Database of subscribers and sending journal ($INFOLETTRE_DB overrides): a SQLite
    #: file (a path, or sqlite:///PATH) or postgresql://USER@HOST:PORT/DB.
    db: Database = Path("infolettre.db")
    #: Transport DSN ($INFOLETTRE_TRANSPORT overrides): outbox://PATH or smtp://HOST:PORT?…
    transport: str = "outbox://outbox"
    #: Environment variable holding the API key of an HTTP transport without one in its DSN.
    api_key_env: str = "INFOLETTRE_API_KEY"
    #: DKIM signing domain and selector; the key comes from $INFOLETTRE_DKIM_KEY(_FILE).
    dkim_domain: str = ""
    dkim_selector: str = ""
    #: Reverse proxies (addresses or networks) whose X-Forwarded-For names the client.
    forwarded_allow_ips: tuple[str, ...] = ()
    #: Other sites (scheme://host[:port]) whose forms may post to the service's pages.
    trusted_origins: tuple[str, ...] = ()
    #: Largest request body the service reads, in bytes: webhooks, and forms.
    webhook_body_limit: int = 5 * 1024 * 1024
    form_body_limit: int = 64 * 1024
    #: The editions of an issue that declares none (``editions:`` in issue.md), as
    #: language codes; empty: the issue's own language alone.
    languages: tuple[str, ...] = ()
    #: For an edition's language, the languages to show an untranslated text in, in
    #: order, before the issue's own (``[fallback]`` then ``es = ["fr"]``).
    fallback: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The network's logo at the top of the email (a PNG, JPEG or GIF file; None: the
    #: network's name as text), published with the issue's images, and its alt text
    #: (empty: the network's name).
    logo: Path | None = None
    logo_alt: str = ""
    #: The sender's postal address, in the email's footer (bulk-sender rules and some
    #: laws expect it; ``check`` warns when it is empty). Lines may be split by "\n".
    postal_address: str = ""
    #: Links in the email's footer, by label: ``[social_links]`` then
    #: ``Mastodon = "https://…"``, in the order written.
    social_links: tuple[tuple[str, str], ...] = ()
    #: The file these settings came from (None for the embedded defaults).
    source: Path | None = None
    #: Secrets, from the environment only (never printed).
    secrets: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sender_address(self) -> str:
        """The bare address of the sender."""
        return parseaddr(self.sender)[1]

    @property
    def envelope_from(self) -> str:
        """The SMTP MAIL FROM: where bounces go."""
        return self.bounce_address or self.sender_address

    @property
    def unsubscribe_address(self) -> str:
        """The address of the List-Unsubscribe mailto: link."""
        return self.unsubscribe_email or self.envelope_from

    def issue_url(self, slug: str) -> str:
        """Public address of an issue's web version."""
        return f"{self.base_url.rstrip('/')}/{slug}/"


_TYPES: dict[str, type] = {
    "base_url": str, "issues_dir": Path, "templates_dir": Path, "max_body_chars": int,
    "cache_dir": Path,
    "sender": str, "reply_to": str, "contribute_reply_to": str, "list_id": str,
    "bounce_address": str, "unsubscribe_email": str, "db": PostgresURL, "transport": str,
    "api_key_env": str, "dkim_domain": str,
    "dkim_selector": str, "forwarded_allow_ips": tuple, "trusted_origins": tuple,
    "webhook_body_limit": int, "form_body_limit": int, "languages": tuple, "fallback": dict,
    "logo": Path, "logo_alt": str, "postal_address": str, "social_links": list,
}
#: The image files a logo may be (what every mail client shows).
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
#: Environment variables holding secrets, and what each is for.
SECRET_VARS = {
    "INFOLETTRE_SECRET": "key that signs unsubscribe links (else one kept in the database)",
    "INFOLETTRE_SMTP_PASSWORD": "SMTP password, when the transport DSN has none",
    "INFOLETTRE_DKIM_KEY": "DKIM private key (PEM text)",
    "INFOLETTRE_DKIM_KEY_FILE": "path of the DKIM private key (PEM file)",
    "INFOLETTRE_WEBHOOK_SECRET": "shared secret of the Postmark and Brevo webhooks",
    "INFOLETTRE_MAILGUN_SIGNING_KEY": "Mailgun's webhook signing key",
    "INFOLETTRE_SENDGRID_PUBLIC_KEY": "SendGrid's event webhook verification key",
    "INFOLETTRE_IMAP_PASSWORD": "password of the bounce mailbox",
}


def _coerce(path: Path, key: str, value: Any) -> Any:
    want = _TYPES[key]
    if want is list:  # [social_links]: label = "https://…"
        if not isinstance(value, dict) or not all(
                isinstance(v, str) and v.startswith(("http://", "https://"))
                for v in value.values()):
            raise ConfigError(f"{path}: '{key}' must be a table of web addresses, such as "
                              f"[{key}] then Mastodon = \"https://…\", not {value!r}")
        return tuple((str(k), v) for k, v in value.items())
    if want is PostgresURL:  # db: a path or an address
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a path or an address in quotes")
        where = database(value, path.parent if path.name else None)
        if isinstance(where, PostgresURL) and where.password():
            raise ConfigError(f"{path}: the database address holds a password; secrets "
                              "belong in the environment: PGPASSWORD, a ~/.pgpass file, or "
                              "INFOLETTRE_DB")
        return where
    if want is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a path in quotes")
        return (path.parent / value).resolve() if path.name else Path(value)
    if want is dict:  # [fallback]: each language's list of languages
        if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(x, str) for x in v)
                for v in value.values()):
            raise ConfigError(f"{path}: '{key}' must be a table of lists, such as "
                              f"[{key}] then es = [\"fr\"], not {value!r}")
        return {str(k): tuple(v) for k, v in value.items()}
    if want is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: '{key}' must be a list of texts in quotes, "
                              f"such as [\"127.0.0.1\"], not {value!r}")
        return tuple(value)
    if not isinstance(value, want) or isinstance(value, bool):
        kind = "a whole number" if want is int else "text in quotes"
        raise ConfigError(f"{path}: '{key}' must be {kind}, not {value!r}")
    return value


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the configuration, apply environment overrides and validate it."""
    env = dict(os.environ) if env is None else env
    if path is None and env.get("INFOLETTRE_CONFIG"):
        path = Path(env["INFOLETTRE_CONFIG"])
    if path is None and Path(CONFIG_NAME).is_file():
        path = Path(CONFIG_NAME)
    config = Config()
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: configuration file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        values = {}
        for key, value in data.items():
            if key not in _TYPES:
                near = closest(key, set(_TYPES), n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                raise ConfigError(f"{path}: unknown setting '{key}'{hint}")
            values[key] = _coerce(path, key, value)
        config = replace(config, source=path, **values)
    if env.get("INFOLETTRE_BASE_URL"):
        config = replace(config, base_url=env["INFOLETTRE_BASE_URL"])
    if config.source is not None and urlsplit(config.transport).password:
        raise ConfigError(f"{path}: the transport holds a password; secrets belong in the "
                          "environment: set INFOLETTRE_TRANSPORT or INFOLETTRE_SMTP_PASSWORD")
    if env.get("INFOLETTRE_TRANSPORT"):
        config = replace(config, transport=env["INFOLETTRE_TRANSPORT"])
    if env.get("INFOLETTRE_DB"):
        config = replace(config, db=database(env["INFOLETTRE_DB"]))
    secrets = {k: env[k] for k in SECRET_VARS if env.get(k)}
    if env.get(config.api_key_env):
        secrets["api_key"] = env[config.api_key_env]
    config = replace(config, secrets=secrets)
    for key in ("sender", "reply_to", "bounce_address", "unsubscribe_email"):
        value = getattr(config, key)
        if value and "@" not in parseaddr(value)[1]:
            raise ConfigError(f"{key} must be an email address, not {value!r}")
    if config.contribute_reply_to:
        _token_address_ok(config.contribute_reply_to)
    if not config.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"base_url must start with http:// or https://, "
                          f"not {config.base_url!r}")
    if config.logo is not None:
        if config.logo.suffix.lower() not in LOGO_SUFFIXES:
            raise ConfigError(f"logo must be a {', '.join(LOGO_SUFFIXES)} file (what every "
                              f"mail client shows), not {str(config.logo)!r}")
        if not config.logo.is_file():
            raise ConfigError(f"logo: no such file {str(config.logo)!r}")
    if config.max_body_chars < 1:
        raise ConfigError("max_body_chars must be at least 1")
    for key in ("webhook_body_limit", "form_body_limit"):
        if getattr(config, key) < 1024:
            raise ConfigError(f"{key} must be at least 1024 (bytes)")
    proxies_ok(config.forwarded_allow_ips, f"{config.source or 'forwarded_allow_ips'}")
    for origin in config.trusted_origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path \
                or parts.query or parts.fragment:
            raise ConfigError(f"trusted_origins: {origin!r} is not an origin; write it as "
                              "scheme://host[:port], such as \"https://www.example.org\"")
    return config


#: The token in ``contribute_reply_to``, and the longest a link token is in practice
#: (an invitation id of 7 digits, an expiry of 10, a signature of 22).
TOKEN_FIELD = "{token}"
_LONGEST_TOKEN = "1234567.1234567890." + "A" * 22
#: The longest local part (before the @) of an address, RFC 5321.
_MAX_LOCAL_PART = 64


def _token_address_ok(value: str) -> None:
    """``contribute_reply_to`` names one address with ``{token}`` once in its local part,
    short enough for a link token to fit there."""
    hint = 'such as "infolettre+{token}@example.org"'
    if value.count(TOKEN_FIELD) != 1:
        raise ConfigError(f"contribute_reply_to must hold {TOKEN_FIELD} once, {hint}, "
                          f"not {value!r}")
    address = parseaddr(value.replace(TOKEN_FIELD, _LONGEST_TOKEN))[1]
    local, at, domain = address.rpartition("@")
    if not at or not domain or _LONGEST_TOKEN not in local:
        raise ConfigError(f"contribute_reply_to must be an address with {TOKEN_FIELD} before "
                          f"its @, {hint}, not {value!r}")
    if len(local) > _MAX_LOCAL_PART:
        raise ConfigError(f"contribute_reply_to: the part before the @ would be longer than "
                          f"{_MAX_LOCAL_PART} characters with a token in it; shorten "
                          f"{value.partition(TOKEN_FIELD)[0]!r}")


def proxies_ok(proxies: tuple[str, ...] | list[str], where: str) -> tuple[str, ...]:
    """The proxies, each an IP address or network; anything else is a ConfigError.

    "*" (trust any peer) is refused: it would let every client choose its own address.
    """
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"{where}: forwarded_allow_ips: {proxy!r} is not an IP address "
                              "or network (such as 127.0.0.1 or 10.0.0.0/8); a proxy's "
                              "X-Forwarded-For is trusted only from addresses named here"
                              ) from None
    return tuple(p.strip() for p in proxies)



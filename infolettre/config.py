"""Configuration: ``infolettre.toml`` with environment overrides.

Looked up in this order: ``--config PATH``, ``$INFOLETTRE_CONFIG``,
``./infolettre.toml``; without any file the embedded defaults apply, so the tool
runs on a fresh clone. Paths in the file are relative to the file itself.
Secrets never live here: they come from the environment.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import InfoLettreError
from .fields import closest

__all__ = ["Config", "ConfigError", "load_config"]

CONFIG_NAME = "infolettre.toml"


class ConfigError(InfoLettreError):
    """The configuration file is missing, malformed or holds a bad value."""


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
    #: The file these settings came from (None for the embedded defaults).
    source: Path | None = None

    def issue_url(self, slug: str) -> str:
        """Public address of an issue's web version."""
        return f"{self.base_url.rstrip('/')}/{slug}/"


_TYPES: dict[str, type] = {"base_url": str, "issues_dir": Path, "templates_dir": Path,
                           "max_body_chars": int}


def _coerce(path: Path, key: str, value: Any) -> Any:
    want = _TYPES[key]
    if want is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a path in quotes")
        return (path.parent / value).resolve() if path.name else Path(value)
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
    if not config.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"base_url must start with http:// or https://, "
                          f"not {config.base_url!r}")
    if config.max_body_chars < 1:
        raise ConfigError("max_body_chars must be at least 1")
    return config



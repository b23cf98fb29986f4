"""The default theme: the Jinja2 templates and stylesheets shipped with InfoLettre.

Every stage that writes a file from a template (the email and web page, the
service's pages, the archive, the scaffolded items) takes its environment from
:func:`environment`, so that a user's ``templates_dir`` overrides the theme file
by file everywhere alike.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from ..typography import wrap

__all__ = ["default_dir", "environment"]


def default_dir() -> Path:
    """The folder of the shipped theme (this package)."""
    return Path(__file__).resolve().parent


def environment(templates_dir: Path | None) -> jinja2.Environment:
    """Jinja2 environment over ``templates_dir`` (overrides) then the default theme."""
    dirs = [str(templates_dir)] if templates_dir else []
    dirs.append(str(default_dir()))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        autoescape=jinja2.select_autoescape(["html.j2"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap
    return env

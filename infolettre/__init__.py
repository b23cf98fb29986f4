"""InfoLettre: author, check, build and send the newsletter of the Réseau
international des Cités des métiers.

The public API is the pipeline, one module per concern: ``load`` reads an issue
folder, ``check`` says what is wrong and where, ``render`` and ``inline`` produce
the email and the web page, ``build`` ties them together, ``send`` delivers a
campaign through a transport, ``serve`` closes the loop. The names below are
imported on first use, so that ``infolettre check`` does not pay for premailer.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Config", "InfoLettreError", "Problem", "ProblemsFound", "__version__", "build_edition",
    "build_issue", "check_path", "load_config", "load_publishable", "send_campaign",
]

__version__ = "0.1.0"

_WHERE = {
    "Config": "config", "load_config": "config", "InfoLettreError": "errors",
    "Problem": "errors", "ProblemsFound": "errors", "build_edition": "edition.build",
    "build_issue": "edition.build", "load_publishable": "edition.build",
    "check_path": "content.check", "send_campaign": "delivery.send",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'infolettre' has no attribute {name!r}")

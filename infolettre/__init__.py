"""InfoLettre: author, check, build and send the newsletter of the Réseau
international des Cités des métiers.

The public API is the pipeline, one module per concern: ``load`` reads an issue
folder, ``check`` says what is wrong and where, ``render`` and ``inline`` produce
the email and the web page, ``build`` ties them together.
"""

from __future__ import annotations

from .build import build_edition, build_issue, load_publishable
from .check import check_path
from .config import Config, load_config
from .errors import InfoLettreError, Problem, ProblemsFound

__all__ = [
    "Config", "InfoLettreError", "Problem", "ProblemsFound", "__version__", "build_edition",
    "build_issue", "check_path", "load_config", "load_publishable",
]

__version__ = "0.1.0"

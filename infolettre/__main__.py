"""``python -m infolettre``: the same as the ``infolettre`` command."""

from .cli import main

main()

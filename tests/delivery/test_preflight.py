"""preflight: the addresses ``send`` checks are those the email shows its images at."""

from __future__ import annotations

import re
from pathlib import Path

from infolettre.config import Config
from infolettre.delivery.preflight import image_urls
from infolettre.edition.build import build_edition, load_publishable


def test_the_urls_checked_are_those_of_the_email_for_spaces_and_accents(
        sample: Path, config: Config) -> None:
    """The email joined the written address to the item's folder, preflight added the
    asset's path to the issue's address: two computations, and neither encoded the
    spaces, which end an address in the text part and in some mail clients."""
    news = sample / "news"
    png = (news / "album-ce-matin-la.png").read_bytes()
    (news / "Équipe à Marseille.png").write_bytes(png)
    (news / "photo de l'été.png").write_bytes(png)
    item = news / "charleroi-album-jeunesse.md"
    item.write_text(item.read_text(encoding="utf-8").replace(
        "src: album-ce-matin-la.png", "src: Équipe à Marseille.png")
        + "\n![Le groupe](<photo de l'été.png>)\n", encoding="utf-8")
    edition = build_edition(load_publishable(sample, config), config)
    shown = set(re.findall(r'<img[^>]* src="([^"]+)"', edition.html))
    checked = image_urls(edition, config)
    base = config.issue_url(edition.slug)
    assert sorted(checked) == [base + "news/%C3%89quipe%20%C3%A0%20Marseille.png",
                               base + "news/photo%20de%20l%27%C3%A9t%C3%A9.png"]
    assert set(checked) <= shown
    assert set(checked) <= set(re.findall(r'<img[^>]* src="([^"]+)"', edition.web))
    assert base + "news/photo%20de%20l%27%C3%A9t%C3%A9.png" in edition.text

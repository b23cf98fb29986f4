"""links: the public addresses and token purposes that messages, pages and mailboxes share."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from infolettre.audience import consent, links
from infolettre.store import Store


def test_a_token_url_is_the_route_of_its_purpose() -> None:
    for purpose in links.PURPOSES:
        url = links.token_url("https://news.example.org/", purpose, "42.abc_-")
        pattern = links.route(purpose).replace("{token}", "([^/]+)")
        path = urlsplit(url).path
        assert url.startswith("https://news.example.org/")
        assert re.fullmatch(pattern, path), (url, pattern)
        assert re.fullmatch(pattern, path).group(1) == "42.abc_-"  # type: ignore[union-attr]
    assert links.token_url("https://x.example", links.CONFIRM, "t") == "https://x.example/confirm/t"


def test_unknown_purposes_are_refused() -> None:
    with pytest.raises(ValueError):
        links.route("subscribe")
    with pytest.raises(ValueError):
        links.token_url("https://x.example", "erase", "t")


def test_the_subscription_form() -> None:
    assert links.subscribe_url("https://x.example/", "en") == "https://x.example/subscribe?lang=en"
    assert urlsplit(links.subscribe_url("https://x.example", "fr")).path == links.SUBSCRIBE_PATH


def test_the_mailto_a_message_offers_is_the_mail_the_mailbox_understands() -> None:
    mailto = links.unsubscribe_mailto("bounces@example.org", "42.AbC-_9")
    parts = urlsplit(mailto)
    assert (parts.scheme, parts.path) == ("mailto", "bounces@example.org")
    subject = parse_qs(parts.query)["subject"][0]  # what a mail client puts in the Subject
    assert links.unsubscribe_mail_token(subject) == "42.AbC-_9"


@pytest.mark.parametrize(("subject", "token"), [
    ("unsubscribe 42.abc", "42.abc"), ("  UNSUBSCRIBE\t42.abc  ", "42.abc"),
    ("Unsubscribe 7.x", "7.x"), ("unsubscribe", None), ("unsubscribe 1 2", None),
    ("Re: unsubscribe 42.abc", None), ("", None), ("subscribe 42.abc", None),
])
def test_unsubscribe_mail_subjects(subject: str, token: str | None) -> None:
    assert links.unsubscribe_mail_token(subject) == token


def test_signed_urls_carry_tokens_the_service_accepts_for_their_purpose_only(
        tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        with store.transaction():
            sid = store.insert("a@example.org")
        subscriber = store.by_id(sid)
        assert subscriber is not None
        for purpose in (links.UNSUBSCRIBE, links.PREFERENCES):
            url = links.signed_url(store.secret, "https://x.example", purpose, sid,
                                   subscriber.email)
            assert url.startswith(f"https://x.example/{purpose}/")
            token = url.rpartition("/")[2]
            assert consent.by_token(store, purpose, token) == subscriber
            assert consent.by_token(store, links.CONFIRM, token) is None
        link = consent.link_for(store, "https://x.example/", links.CONFIRM, subscriber)
        assert link.startswith("https://x.example/confirm/")
        assert consent.by_token(store, links.CONFIRM, link.rpartition("/")[2]) == subscriber

"""invitations: a contact's link opens their invitation, and only theirs, until it expires."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from infolettre.audience import tokens
from infolettre.audience.invitations import GRACE_DAYS, contribute_url, open_link
from infolettre.audience.links import CONTRIBUTE, UNSUBSCRIBE
from infolettre.store import Store

BASE = "https://www.example.org/infolettre"


def _token(url: str) -> str:
    assert url.startswith(f"{BASE}/{CONTRIBUTE}/")
    return url.rsplit("/", 1)[1]


def test_the_link_opens_its_invitation_until_a_week_after_the_deadline(tmp_path: Path) -> None:
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    past = (dt.date.today() - dt.timedelta(days=GRACE_DAYS + 2)).isoformat()
    with Store(tmp_path / "db.sqlite") as store:
        with store.transaction():
            anne = store.invite("2019-04", "charleroi", "anne@cdm.be", "Anne", "fr", soon)
            late = store.invite("2019-03", "charleroi", "anne@cdm.be", "Anne", "fr", past)
        url = contribute_url(store, BASE, anne)
        assert url == contribute_url(store, BASE, anne)  # the same link every time
        assert open_link(store, _token(url)).invitation == anne
        expired = open_link(store, _token(contribute_url(store, BASE, late)))
        assert expired.invitation is None and expired.expired
        forged = _token(url)[:-2] + ("AA" if not _token(url).endswith("AA") else "BB")
        assert open_link(store, forged) == open_link(store, "1.x") == open_link(store, "")
        assert not open_link(store, forged).expired
        other = tokens.sign(store.secret, UNSUBSCRIBE, anne.id, anne.email)
        assert open_link(store, other).invitation is None  # another purpose's token
        assert open_link(store, "99999." + _token(url).split(".", 1)[1]).invitation is None

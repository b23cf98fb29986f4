"""Audience: who receives the newsletter, and what each person agreed to.

Takes subscriber lists (CSV), subscription and unsubscription requests, provider
webhooks and bounce messages; gives subscriber rows and events in the
:mod:`~infolettre.store`. Nothing here renders or sends an issue.

``lists`` imports, exports, adds and removes subscribers, ``consent`` carries the
confirmed-subscription and one-click unsubscribe flows, ``tokens`` signs the
per-purpose links they use, ``links`` names those purposes and writes the public
addresses (pages, List-Unsubscribe ``mailto:``) that messages and pages share,
``bounces`` reads delivery-status reports over IMAP, ``webhooks`` authenticates
and applies the providers' events.
"""

"""Delivery: sending a ready edition to its audience, once per person.

Takes a :class:`~infolettre.edition.ready.ReadyEdition`, subscribers from the
store and a transport address (DSN); gives messages accepted by the transport,
each recorded in the journal so that a campaign resumes after a crash and never
sends twice.

``message`` assembles a personal MIME message (with DKIM), ``journal`` is the
per-recipient ledger, ``loop`` is the sending engine, ``send`` orchestrates a
campaign, ``report`` tells where a campaign stands, ``notices`` sends single
transactional emails (confirmations), ``transports/`` holds the outbox, SMTP and
the providers' HTTP APIs.
"""

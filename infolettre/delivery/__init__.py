"""Delivery: sending a ready edition to its audience, once per person.

Takes a :class:`~infolettre.edition.ready.ReadyEdition`, subscribers from the
store and a transport address (DSN); gives messages accepted by the transport,
each recorded in the journal so that a campaign resumes after a crash and never
sends twice.

``message`` makes each person's message (placeholders filled, personal links)
from ``headers`` (header lines and addresses), ``mime`` (quoted-printable
assembly) and ``dkim`` (signing); ``journal`` is the per-recipient ledger;
``engine`` is the one sending cycle over it (claim, skip, build, send, record),
driven by threads (``engine_threads``: batch and API transports) or by one event
loop (``loop``: SMTP channels); ``send`` orchestrates a campaign; ``report`` tells
where a campaign stands; ``notices`` sends single transactional emails
(confirmations) through the same assembly; ``transports/`` holds the outbox, the
SMTP client (``smtpwire``, ``smtp_client``, ``smtp``) and the providers' HTTP APIs.
"""

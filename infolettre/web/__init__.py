"""Web: the service that closes the loop.

Takes HTTP requests (subscription form, confirmation and one-click unsubscribe
links, provider webhooks, the archive); gives pages and changes to the audience,
through :mod:`~infolettre.audience` and :mod:`~infolettre.delivery.notices`.
"""

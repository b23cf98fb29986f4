"""Web: the service that closes the loop.

Takes HTTP requests (subscription form, confirmation and one-click unsubscribe
links, provider webhooks, the archive); gives pages and changes to the audience,
through :mod:`~infolettre.audience` and :mod:`~infolettre.delivery.notices`.

``app`` builds the application and its routes, ``guard`` keeps the doors every
request goes through (body limits, security headers, cross-site posts, the rate
limit), ``pages`` renders the service's pages, ``archive`` serves the archive and
rebuilds it when an issue is sent or published.
"""

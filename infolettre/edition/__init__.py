"""Edition: turning a checked issue into what is published.

Takes a :class:`~infolettre.content.model.Issue` and the configuration; gives a
:class:`ready.ReadyEdition` (inlined HTML email, plain text, web page, the assets
they link to, personal placeholders still unfilled) and the files of the build
folder.

``render`` fills the Jinja2 theme, ``inline`` inlines its CSS, ``quality`` checks
the result (size, clipping, accessibility), ``placeholders`` marks and fills the
personal parts, ``cache`` reuses an unchanged build, ``build`` ties them
together, ``archive`` publishes past issues on the web, ``proof`` screenshots the
email in Chromium, ``preview`` serves a build that rebuilds on change.
"""

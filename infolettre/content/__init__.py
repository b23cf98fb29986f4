"""Content: reading and checking what contributors write.

Takes an issue folder (``issue.md``, ``news/*.md``, ``agenda.yaml``,
``movements.yaml``, the network's ``cdms.yaml``, images) and gives either the
content model (:class:`model.Issue`) or every problem found, each with its
``FILE:LINE``. Nothing here renders or sends.

``source`` reads files as numbered lines and front matter, ``fields`` reads typed
fields from them, ``layout`` knows where files sit in an issue folder, ``load``
turns a folder into an ``Issue``, ``markup`` turns Markdown into safe HTML and
text, ``images`` lists the pictures a text uses, ``check`` reports problems,
``scaffold`` writes new issues and items, ``dates`` and ``i18n`` (with
``catalogues/``) give the fixed strings and dates of each language.
"""

"""A reply's own words: its text without the quoted history and the signature, as
Markdown, its title from its subject, and its attachments.

A contact answers the call for contributions from whatever mail client their centre
uses, in their language: the quoted call below the reply is introduced by an
attribution line ("Le … a écrit :", "On … wrote:", "El … escribió:"…, which some
clients wrap over two lines), a separator ("-----Original Message-----") or
Outlook's header block ("De : …" then "Envoyé : …"); everything from there is cut,
as are lines quoted with ``>`` and the signature after a ``-- `` line. An HTML-only
reply is converted to Markdown with markdownify (links, emphasis and lists kept),
then stripped the same way. What is left is checked as any item is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

__all__ = ["attachments", "body_text", "strip_reply", "title_of"]


#: A subject's reply and forward marks, in the languages of the network's mail clients.
_SUBJECT_MARK = re.compile(r"^\s*(?:re|tr|fwd?|aw|wg|rv|r|ref|enc|rif|i)\s*(?:\[\d+\])?\s*:\s*",
                           re.IGNORECASE)


def title_of(subject: str) -> str:
    """The subject without its ``Re:``, ``RE:``, ``TR:``, ``Fwd:`` marks (however many)."""
    title = " ".join(subject.split())
    while True:
        shorter = _SUBJECT_MARK.sub("", title, count=1)
        if shorter == title:
            return title.strip()
        title = shorter


# --- the text ---------------------------------------------------------------------

#: The line that introduces the quoted message, by the reply's language: "Le … a écrit :",
#: "On … wrote:", "El … escribió:", "Em … escreveu:", "Il … ha scritto:", "Am … schrieb".
_ATTRIBUTION = re.compile(
    r"^\s*(?:le|on|el|em|il|am)\b.{0,300}?"
    r"(?:a\s+écrit|wrote|escribió|escreveu|ha\s+scritto|scrisse|schrieb)\s*:\s*$",
    re.IGNORECASE | re.DOTALL)
#: The separators of a quoted or forwarded message that other clients write.
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|message d'origine|message original|"
    r"mensaje original|mensagem original|messaggio originale|forwarded message|"
    r"message transféré)\s*-{2,}|_{10,})\s*$", re.IGNORECASE)
#: Outlook's quoted header block: "De : …" followed by "Envoyé : …" / "From:" "Sent:".
_OUTLOOK_FROM = re.compile(r"^\s*\**(?:de|from|von|da)\s*:\**\s", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\**(?:envoyé|sent|date|enviado|inviato|gesendet)\s*:",
                           re.IGNORECASE)


def strip_reply(text: str) -> str:
    """The text a person wrote above the quoted history and the signature: what
    follows an attribution line (which a client may wrap over two lines), a
    separator or an Outlook header block is cut, ``>`` lines dropped, and the
    signature (after a ``-- `` line) removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for n, line in enumerate(lines):
        following = lines[n + 1] if n + 1 < len(lines) else ""
        if line.rstrip() == "--" or _SEPARATOR.match(line):
            break
        if _ATTRIBUTION.match(line) or (
                line.strip() and _ATTRIBUTION.match(f"{line} {following}")
                and not _ATTRIBUTION.match(following)
                and following.rstrip().endswith(":")):
            break
        if _OUTLOOK_FROM.match(line) and _OUTLOOK_SENT.match(following):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    out = "\n".join(kept).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", out)


def _html_to_markdown(html: str) -> str:
    """An HTML part as Markdown: headings, emphasis, links and lists kept, quotes as
    ``>`` lines (dropped next), scripts, styles and images left out."""
    from markdownify import markdownify

    return markdownify(html, heading_style="ATX", bullets="-", strip=["img", "script", "style"],
                       escape_underscores=False, escape_asterisks=False)


def body_text(message: EmailMessage) -> str:
    """The reply's own text, as Markdown: its plain part, else its HTML part converted,
    without the quoted history and the signature."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: read what can be read
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = _html_to_markdown(content)
    return strip_reply(content)


def attachments(message: EmailMessage) -> Iterator[tuple[str, bytes]]:
    """Each part that is not text, at any depth (a photo pasted in an HTML reply sits
    in its multipart/related), whatever its declared type (the decoder decides), with
    the name the sender gave it (for the report only): the parts attached first, then
    those shown inline, where a signature's logo would be."""
    leaves = [part for part in message.walk()
              if not part.is_multipart() and part is not message
              and part.get_content_maintype() not in ("text", "message")]
    leaves.sort(key=lambda part: part.get_content_disposition() != "attachment")
    for part in leaves:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            yield str(part.get_filename() or part.get_content_type()), payload

"""HTML to heading-structured text with the standard library's :mod:`html.parser`.

Headings become markdown headings (``## Refunds``) so the chunker splits HTML pages by the same
heading structure as markdown files; navigation, footers, scripts and styles are dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# Elements whose content is boilerplate or not text at all.
_DROP = frozenset(
    {
        "script",
        "style",
        "nav",
        "footer",
        "header",
        "aside",
        "noscript",
        "template",
        "svg",
        "form",
        "iframe",
        "button",
        "select",
    }
)
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "ul",
        "ol",
        "li",
        "table",
        "tr",
        "td",
        "th",
        "blockquote",
        "pre",
        "dl",
        "dt",
        "dd",
        "br",
        "hr",
        "figure",
        "figcaption",
    }
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_ROLES_DROPPED = frozenset({"navigation", "banner", "contentinfo", "search"})


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._drop_depth = 0
        self._stack: list[str] = []
        self._in_title = False
        self._heading: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag == "br" and not self._drop_depth:
                self.parts.append("\n")
            return
        self._stack.append(tag)
        role = dict(attrs).get("role") or ""
        hidden = any(name == "hidden" for name, _ in attrs)
        if self._drop_depth or tag in _DROP or role in _ROLES_DROPPED or hidden:
            self._drop_depth += 1
            return
        if tag == "title":
            self._in_title = True
        elif tag in _HEADINGS:
            self._heading = _HEADINGS[tag]
            self.parts.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in self._stack:
            return
        # Pop up to the matching tag: HTML in the wild leaves elements unclosed.
        while self._stack:
            open_tag = self._stack.pop()
            if self._drop_depth:
                self._drop_depth -= 1
            elif open_tag == "title":
                self._in_title = False
            elif open_tag in _HEADINGS:
                self._heading = None
                self.parts.append("\n\n")
            elif open_tag in _BLOCK:
                self.parts.append("\n\n")
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._drop_depth:
            return
        if self._in_title:
            self.title += data
            return
        text = re.sub(r"\s+", " ", data)
        if self._heading is not None:
            text = text.replace("\n", " ")
        self.parts.append(text)


def html_to_text(html: str) -> tuple[str, str]:
    """Extract readable text from an HTML page.

    Args:
        html: the page source.

    Returns:
        ``(title, text)``: the ``<title>`` (or "") and the body text, with headings written as
        markdown headings and blocks separated by blank lines.
    """
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    raw = "".join(parser.parts)
    lines = [line.strip() for line in raw.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    # Headings that lost their text (an icon-only <h2>) would become empty sections.
    text = re.sub(r"^#{1,6}\s*$", "", text, flags=re.MULTILINE)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return re.sub(r"\s+", " ", parser.title).strip(), text

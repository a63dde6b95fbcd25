"""HTML (or Markdown-ish) post body → plain text with one paragraph per line."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

_DROP_TAGS = ("script", "style", "noscript", "iframe", "img", "svg", "video", "audio", "form",
              "button", "input", "select", "textarea", "head", "template", "object", "embed")
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
               "table", "blockquote", "section", "article", "figure", "figcaption", "header",
               "footer", "pre", "hr", "dd", "dt", "dl", "caption", "td", "th", "main", "aside"}
_STOCK_WIDGET = re.compile(r"<!--\s*EM_StockImg_Start\s*-->.*?<!--\s*EM_StockImg_End\s*-->", re.S)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_NAV_LINE = re.compile(r"^(?:\s*\[[^\]\n]*\]\([^)\n]*\)\s*[｜|/]?\s*)+$")
_URL_LINE = re.compile(r"^\s*<?(?:https?:)?//\S+>?\s*$")
_FILENAME = re.compile(r"^[\w.\-]+\.(?:png|jpe?g|gif|webp|bmp|svg)$", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b\ufeff]+")


def html_to_text(html: str) -> str:
    """Clean an article body: no widgets, hidden or media elements, nav links; joined inline links.

    Paragraph-level elements become line breaks; inline elements (links, spans, bold) never break
    a sentence. Characters are kept as they are (no NFKC), only whitespace is normalised.
    """
    html = _STOCK_WIDGET.sub("", html)
    soup = BeautifulSoup(html, "html.parser")
    for node in soup.find_all(string=lambda s: isinstance(s, Comment)):
        node.extract()
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in _hidden_tags(soup):
        tag.decompose()
    for tag in soup.find_all("figcaption"):
        if not _reads_as_text(tag.get_text(" ", strip=True)):
            tag.decompose()
    parts: list[str] = []
    _flatten(soup, parts)
    return normalize_whitespace("".join(parts))


def normalize_whitespace(text: str) -> str:
    """Collapse spaces inside lines, drop blank, navigation and bare-URL lines."""
    lines = []
    for raw in text.split("\n"):
        line = _SPACES.sub(" ", raw).strip()
        if not line or _NAV_LINE.match(line) or _URL_LINE.match(line):
            continue
        lines.append(_MD_LINK.sub(r"\1", line))
    return "\n".join(lines)


def _hidden_tags(root: Tag) -> list[Tag]:
    """Outermost hidden elements (and image remarks), found without recursion."""
    found: list[Tag] = []
    stack = [root]
    while stack:
        for child in stack.pop().children:
            if not isinstance(child, Tag):
                continue
            if _is_hidden(child) or "EmImageRemark" in (child.get("class") or []):
                found.append(child)
            else:
                stack.append(child)
    return found


def _is_hidden(tag: Tag) -> bool:
    style = tag.get("style") or ""
    return bool(_HIDDEN.search(style)) or tag.has_attr("hidden") or tag.get("aria-hidden") == "true"


def _reads_as_text(caption: str) -> bool:
    """A caption is kept when it has words, not when it is a file name or empty."""
    caption = caption.strip()
    return bool(caption) and not _FILENAME.match(caption) and any(ch.isalpha() for ch in caption)


def _flatten(root: Tag, parts: list[str]) -> None:
    """Text of ``root`` in document order, block elements wrapped in line breaks.

    Iterative (an explicit stack), so arbitrarily deep nesting cannot overflow the stack."""
    stack: list[object] = [iter(root.children)]
    while stack:
        top = stack[-1]
        if isinstance(top, str):  # a pending closing line break
            stack.pop()
            parts.append(top)
            continue
        child = next(top, None)  # type: ignore[call-overload]
        if child is None:
            stack.pop()
            continue
        if isinstance(child, NavigableString):
            if not isinstance(child, Comment):
                parts.append(str(child).replace("\n", " ") if _in_inline(child) else str(child))
            continue
        if not isinstance(child, Tag):
            continue
        if child.name in _BLOCK_TAGS:
            parts.append("\n")
            stack.append("\n")
        stack.append(iter(child.children))


def _in_inline(node: NavigableString) -> bool:
    """Source line breaks inside a paragraph are layout, not paragraph breaks."""
    parent = node.parent
    while parent is not None and parent.name not in (None, "[document]"):
        if parent.name == "pre":
            return False
        if parent.name in _BLOCK_TAGS:
            return True
        parent = parent.parent
    return False

"""HTML (or Markdown-ish) post body → plain text with one paragraph per line."""

from __future__ import annotations

import re

from bs4 import (
    BeautifulSoup,
    CData,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Tag,
)

_DROP_TAGS = ("script", "style", "noscript", "iframe", "img", "svg", "video", "audio", "form",
              "button", "input", "select", "textarea", "head", "template", "object", "embed")
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
               "table", "blockquote", "section", "article", "figure", "figcaption", "header",
               "footer", "pre", "hr", "dd", "dt", "dl", "caption", "td", "th", "main", "aside",
               "center"}
_STOCK_WIDGET = re.compile(r"<!--\s*EM_StockImg_Start\s*-->.*?<!--\s*EM_StockImg_End\s*-->", re.S)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_NAV_LINE = re.compile(r"^(?:\s*\[[^\]\n]*\]\([^)\n]*\)\s*[｜|/]?\s*)+$")
_URL_LINE = re.compile(r"^\s*<?(?:https?:)?//\S+>?\s*$")
_FILENAME = re.compile(r"^[\w.\-]+\.(?:png|jpe?g|gif|webp|bmp|svg)$", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b\ufeff]+")
# markup that is never text: <!-- -->, <![CDATA[ ]]>, <!DOCTYPE>, <!…>, <?xml …?>
_NOT_TEXT = (Comment, CData, Declaration, Doctype, ProcessingInstruction)
# elements whose pair ``<name …>…</name>`` in a post marks its body as HTML
_ELEMENTS = (_BLOCK_TAGS | set(_DROP_TAGS)
             | {"html", "body", "title", "a", "span", "b", "i", "u", "em", "strong", "small",
                "sub", "sup", "font", "center", "code", "s", "del", "ins", "mark", "cite",
                "q", "abbr", "time", "label", "nav", "thead", "tbody", "tfoot", "option"})
_ATTR = r"""\s+[a-z_:@][-\w:.@]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+))?"""
# a start tag as HTML writes it: a known name, ASCII attribute names (so ``<a 与 span>`` and
# ``x<a 且 y>b`` are text, not a tag)
_START_TAG = re.compile(rf"<([a-z][a-z0-9]*)(?:{_ATTR})*\s*/?>", re.I | re.A)
_END_TAG = re.compile(r"</([a-z][a-z0-9]*)\s*>", re.I | re.A)
# an attribute with a value (``clear="all"``): bare words (``a<br and c>d``) stay text
_VALUED = r"""\s+[a-z_:@][-\w:.@]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+)"""
_VOID_TAG = re.compile(rf"<(?:br|hr)(?:{_VALUED})*\s*/?>|<img(?:{_VALUED})+\s*/?>", re.I | re.A)
# block elements HTML lets go unclosed (``<p>一<p>二``, ``<li>``): a start tag is enough
_BLOCK_START = re.compile(
    rf"<(?:p|div|li|ul|ol|td|tr|table|h[1-6]|blockquote)(?:{_VALUED})*\s*>", re.I | re.A)
_DOCUMENT = re.compile(r"\A[\s\ufeff]*(?:<\?xml\s|<!doctype\s+html\b|<html[\s>])", re.I)


def html_to_text(html: str) -> str:
    """Clean an article body: no widgets, hidden or media elements, nav links; joined inline links.

    Paragraph-level elements become line breaks; inline elements (links, spans, bold) never break
    a sentence. Characters are kept as they are (no NFKC), only whitespace is normalised.
    """
    html = _STOCK_WIDGET.sub("", html)
    soup = BeautifulSoup(html, "html.parser")
    for node in soup.find_all(string=lambda s: isinstance(s, _NOT_TEXT)):
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


def looks_like_markup(body: str) -> bool:
    """True when a post body (``.txt``/``.md``, not ``.html``) clearly is HTML: it opens as an
    HTML document, or has a known element written as a start and an end tag (``<p>…</p>``),
    or a ``<br>``/``<hr>``/``<img src=…>``. Text that merely uses ``<`` and ``>``
    (``x<a 且 y>b``) is not markup, so none of it is lost to an HTML parser."""
    if _DOCUMENT.match(body) or _VOID_TAG.search(body) or _BLOCK_START.search(body):
        return True
    ends = {m.group(1).lower() for m in _END_TAG.finditer(body)} & _ELEMENTS
    return bool(ends) and any(m.group(1).lower() in ends for m in _START_TAG.finditer(body))


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
            if not isinstance(child, _NOT_TEXT):
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

"""HTML (or Markdown-ish) post body → plain text with one paragraph per line."""

from __future__ import annotations

import re
from collections.abc import Callable

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

from rag.sentences import CELL_SEP  # between the cells of a table row, which is one line

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
# page furniture, never the article: HTML5's navigation/footer/sidebar elements, and elements
# whose class or id names such a block (whole words of ``share-box``, ``site_footer``…)
_FURNITURE_TAGS = ("nav", "footer", "aside")
_FURNITURE_WORDS = {"nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs",
                    "crumb", "crumbs", "share", "sharing", "social", "footer", "comment",
                    "comments", "cmt", "discuss", "reply", "replies", "related", "sidebar",
                    "copyright", "advert", "advertisement"}
# Chinese sites often name them in pinyin, run together (``xiangguanwenzhang``,
# ``pinglun_list``): a class/id word starting with one of these is furniture too
_FURNITURE_PINYIN = ("daohang", "mianbaoxie", "fenxiang", "pinglun", "xiangguan", "banquan",
                     "guanggao")
_CONTENT_WORDS = {"article", "content", "main", "body", "text", "detail", "post", "zhengwen",
                  "neirong", "wenzhang"}
_WORDS = re.compile(r"[a-z]+")
# a source line break inside a paragraph is a space, except between two wide (CJK)
# characters, where it is nothing (CSS Text 3's segment break rule): 个人养老金\n制度
_BREAK = "\ue000"
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff01-\uff60\u3000-\u303f"
_CJK_BREAK = re.compile(rf"(?<=[{_WIDE}])[ \t]*{_BREAK}[\s{_BREAK}]*(?=[{_WIDE}])")
_MAX_CELL_CHARS = 200  # a longer cell is page layout (a whole article in a <td>), not data


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
    for tag in _hidden_tags(soup, len(soup.get_text("", strip=True))):
        tag.decompose()
    for tag in _furniture(soup):
        tag.decompose()
    _join_table_rows(soup)
    for tag in soup.find_all("figcaption"):
        if not _reads_as_text(tag.get_text(" ", strip=True)):
            tag.decompose()
    parts: list[str] = []
    _flatten(soup, parts)
    text = _CJK_BREAK.sub("", "".join(parts)).replace(_BREAK, " ")
    return normalize_whitespace(text)


_FENCE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})")
_MD_COMMENT = re.compile(r"<!--.*?-->", re.S)
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"\n]*\")?\)")
_MD_LINE_MARKS = re.compile(r"^ {0,3}(?:#{1,6}(?=\s|$)|(?:>\s?)+|[-*+]\s+(?:\[[ xX]\]\s+)?)")
_MD_CLOSING_HASHES = re.compile(r"\s+#+\s*$")
_MD_RULE = re.compile(r"^ {0,3}(?:(?:[-*_]\s*){3,}|=+)\s*$")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$")
_MD_LINK_DEF = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s+\S+")
_MD_EMPHASIS = re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1|(?<![A-Za-z0-9*])\*(?=[^\s*])"
                          r"([^*\n]+?)(?<=[^\s*])\*(?![A-Za-z0-9*])|`([^`\n]+)`")


def markdown_to_text(body: str) -> str:
    """A Markdown post's text without its syntax, line by line: ``# `` heading marks, ``> ``
    quotes, list bullets, ``**``/``__``/``*``/``~~`` emphasis, code backticks and fences,
    rules, images, comments (Hexo's ``<!-- more -->``) and link definitions go; a table row
    becomes its cells joined by `` | `` (its ``|---|`` rule goes), as an HTML table's does.
    Links keep their text (`normalize_whitespace`)."""
    lines = []
    for line in _MD_COMMENT.sub("", body).split("\n"):
        if _FENCE.match(line) or _MD_RULE.match(line) or _MD_TABLE_RULE.match(line) \
                or _MD_LINK_DEF.match(line):
            continue
        line = _MD_IMAGE.sub("", line)
        marks = _MD_LINE_MARKS.match(line)
        if marks:
            line = line[marks.end():]
            if marks.group(0).lstrip().startswith("#"):
                line = _MD_CLOSING_HASHES.sub("", line)
        if line.strip().startswith("|") and line.strip().endswith("|") and len(line) > 2:
            cells = [cell.strip() for cell in line.strip()[1:-1].split("|")]
            line = CELL_SEP.join(cell for cell in cells if cell)
        line = _MD_EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or m.group(4) or "", line)
        lines.append(line)
    return "\n".join(lines)


def looks_like_markup(body: str) -> bool:
    """True when a post body (``.txt``/``.md``, not ``.html``) clearly is HTML: it opens as an
    HTML document, or has a known element written as a start and an end tag (``<p>…</p>``),
    or a ``<br>``/``<hr>``/``<img src=…>``. Text that merely uses ``<`` and ``>``
    (``x<a 且 y>b``) is not markup, so none of it is lost to an HTML parser."""
    if _DOCUMENT.match(body) or _VOID_TAG.search(body) or _BLOCK_START.search(body):
        return True
    ends = {m.group(1).lower() for m in _END_TAG.finditer(body)} & _ELEMENTS
    return bool(ends) and any(m.group(1).lower() in ends for m in _START_TAG.finditer(body))


_WRAP_MIN_WIDTH = 40  # display columns: text wrapped narrower than this is a list, not prose
_WRAP_FULL = 0.8  # a line this wide against its paragraph's widest was wrapped, not ended
_ENDS_LINE = set("。！？!?；;…：:") | set("”’」』）)】》〉\"'")
_NEW_PARAGRAPH = re.compile(r"^(?:[\u3000\t]| {2,}|[-*+•·]\s|\d{1,3}(?:\.(?=\s)|[、)）])"
                            r"|[（(]?[一二三四五六七八九十]+[、)）])")


def unwrap_lines(text: str) -> str:
    """Join the lines of hard-wrapped plain text (an e-mail, a terminal editor's 70-column
    file): a line as wide as its paragraph's widest (blank lines part paragraphs), ending
    without a sentence's end, continues on the next line unless that one opens a paragraph
    (an indent, a bullet, a list number). Only where most wide lines end so: a file of one
    paragraph a line is left alone. A sentence and a number broken there
    (``利润总额\\n1.9万亿元``) were cut in two; Chinese joins without a space, English with one."""
    lines = text.split("\n")
    out: list[str] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            block.append(line)
            continue
        out.extend(_unwrap_block(block))
        block = []
        out.append(line)
    return "\n".join(out[:-1])


def _unwrap_block(block: list[str]) -> list[str]:
    widths = [_width(line.strip()) for line in block]
    widest = max(widths, default=0)
    full = [w >= _WRAP_FULL * widest for w in widths]
    open_ends = sum(f and line.rstrip()[-1] not in _ENDS_LINE for f, line in zip(full, block))
    if widest < _WRAP_MIN_WIDTH or sum(full) < 2 or 2 * open_ends < sum(full[:-1]):
        return block  # a paragraph a line: its wide lines end their sentences
    joined = [block[0]]
    for i in range(1, len(block)):
        prev, line = joined[-1].rstrip(), block[i]
        if (full[i - 1] and prev and prev[-1] not in _ENDS_LINE and not _NEW_PARAGRAPH.match(line)
                and not _URL_LINE.match(prev) and not _URL_LINE.match(line)
                and not _table_row(block[i - 1]) and not _table_row(line)):
            nxt = line.strip()
            space = " " if prev[-1].isascii() and nxt[:1].isascii() else ""
            joined[-1] = prev + space + nxt
        else:
            joined.append(line)
    return joined


def _table_row(line: str) -> bool:
    """A table's row (``营业收入 | 356.8 | 19.6%``, as `markdown_to_text` writes a Markdown
    one, or a plain-text table ``| a | b |``): a line of its own, never a wrapped line nor
    one a wrapped line continues (the rows of a Markdown table were run together)."""
    stripped = line.strip()
    return CELL_SEP in stripped or (len(stripped) > 2 and stripped[0] == stripped[-1] == "|")


def _width(line: str) -> int:
    """Display columns: a CJK (wide) character takes two."""
    return sum(2 if "\u2e80" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uff60" else 1
               for ch in line)


def normalize_whitespace(text: str) -> str:
    """Collapse spaces inside lines, drop blank, navigation and bare-URL lines."""
    lines = []
    for raw in text.split("\n"):
        line = _SPACES.sub(" ", raw).strip()
        if not line or _NAV_LINE.match(line) or _URL_LINE.match(line):
            continue
        lines.append(_MD_LINK.sub(r"\1", line))
    return "\n".join(lines)


def _outermost(root: Tag, matches: Callable[[Tag], bool]) -> list[Tag]:
    """The outermost elements under ``root`` that ``matches``, found without recursion (a
    page's nesting can be deeper than Python's stack)."""
    found: list[Tag] = []
    stack = [root]
    while stack:
        for child in stack.pop().children:
            if isinstance(child, Tag):
                (found if matches(child) else stack).append(child)
    return found


def _hidden_tags(root: Tag, page_chars: int) -> list[Tag]:
    """Outermost hidden elements (and image remarks). A hidden element holding more than half
    of the page's text (``page_chars``) is the article that a script reveals (a saved WeChat
    article's ``#js_content`` is ``visibility: hidden``), not a widget: it is kept, where the
    whole article used to be dropped."""
    return _outermost(root, lambda tag: "EmImageRemark" in (tag.get("class") or []) or (
        _is_hidden(tag) and 2 * len(tag.get_text("", strip=True)) <= page_chars))


def _furniture(root: Tag) -> list[Tag]:
    """Outermost navigation, footer, share, comment and related-reading blocks: by element
    (``<nav>``, ``<footer>``, ``<aside>``), by class/id word, or a list whose every item is
    just a link (a menu, 相关阅读), with the list's short heading. Their text is another
    page's, not the article's."""
    found = _outermost(root, lambda tag: tag.name in _FURNITURE_TAGS or _furniture_named(tag)
                       or _link_list(tag))
    for block in list(found):
        heading = block.find_previous_sibling()  # the list's 相关阅读 heading
        if (block.name in ("ul", "ol") and heading is not None
                and heading.name in ("h2", "h3", "h4", "h5", "h6")
                and len(heading.get_text(strip=True)) <= 12):
            found.append(heading)
    return found


def _furniture_named(tag: Tag) -> bool:
    if tag.name in ("html", "body", "article", "main"):
        return False
    classes = tag.get("class") or []
    names = " ".join([*classes] if isinstance(classes, list) else [str(classes)])
    words = set(_WORDS.findall(f"{names} {tag.get('id') or ''}".lower()))
    furniture = words & _FURNITURE_WORDS or any(w.startswith(_FURNITURE_PINYIN) for w in words)
    return bool(furniture) and not words & _CONTENT_WORDS


def _link_list(tag: Tag) -> bool:
    """A ``<ul>``/``<ol>`` of two or more items each of which is only a link's text."""
    if tag.name not in ("ul", "ol"):
        return False
    items = tag.find_all("li", recursive=False)
    if len(items) < 2:
        return False
    for item in items:
        text = item.get_text("", strip=True)
        linked = "".join(a.get_text("", strip=True) for a in item.find_all("a"))
        if not text or linked != text:
            return False
    return True


def _join_table_rows(root: Tag) -> None:
    """A data table's row becomes one line, its cells joined by `` | ``: a figure stays on
    the line of its row's label (``衣着 | 0.6% | 0.1%``), where each cell used to be a line
    of its own. A row with a nested table or a long cell is page layout and left alone."""
    for row in root.find_all("tr"):
        cells = row.find_all(("td", "th"), recursive=False)
        if len(cells) < 2 or any(cell.find("table") is not None
                                 or len(cell.get_text(" ", strip=True)) > _MAX_CELL_CHARS
                                 for cell in cells):
            continue
        texts = [_SPACES.sub(" ", cell.get_text(" ", strip=True).replace("\n", " ")).strip()
                 for cell in cells]
        row.clear()
        row.append(CELL_SEP.join(t for t in texts if t))


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
                parts.append(str(child).replace("\n", _BREAK) if _in_inline(child)
                             else str(child))
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

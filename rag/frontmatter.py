"""YAML front matter of Jekyll/Hexo posts: split it off and normalise its fields."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
from typing import Any

import yaml

from rag.textnorm import SURROGATE

log = logging.getLogger(__name__)

_FRONT = re.compile(r"\A\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
# single-digit months and days too (``2022-6-7``, ``2022.6.7``: YAML reads them as text,
# and ISO parsing refused them, so such an article lost its date and every date filter)
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d",
                 "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
# a Chinese news page's date line: "2022年06月07日 10:50:57", "2022年6月7日10:30",
# "2022年6月7日 星期二" were dropped (seconds, no space, a weekday)
_WEEKDAY = re.compile(r"[（(]?(?:星期|周|礼拜)[一二三四五六日天][）)]?")
_AFTER_DAY = re.compile(r"日(?=\d)")


class _NoAliases:
    """No anchors/aliases: post metadata never needs them, and aliases let a few lines
    expand into gigabytes ("billion laughs") once the values are turned into text."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            event = self.peek_event()  # type: ignore[attr-defined]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not allowed in front matter", event.start_mark)
        return super().compose_node(parent, index)  # type: ignore[misc]


class _SafeNoAliasLoader(_NoAliases, yaml.SafeLoader):
    """Safe YAML without aliases, whose plain scalars stay text as written except dates and
    nulls: YAML 1.1 made ``title: 12:30`` the number 750, ``source: 010`` "8", ``title:
    yes`` "True" and dropped ``source: no`` (False)."""


_AS_WRITTEN = {f"tag:yaml.org,2002:{kind}" for kind in ("bool", "int", "float")}
_SafeNoAliasLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _AS_WRITTEN]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class _TextNoAliasLoader(_NoAliases, yaml.BaseLoader):
    """Every scalar as text (no timestamps or numbers to convert), no aliases: the fallback
    for front matter whose values YAML recognises but cannot convert (``date: 2022-02-30``)."""


# a line of a key: value mapping; a block with none is not front matter (a Markdown post may
# open with a horizontal rule, ``---``, and have another one further down)
_KEY_LINE = re.compile(r"^[ \t]*[^\s:#][^:\n]{0,60}:(?:[ \t]|$)", re.M)


# a key with a full-width colon (a Chinese input method's "title：…"), which YAML reads as text
_FIELDS = {"title", "date", "tags", "categories", "author", "source"}
_WIDE_KEY = re.compile(r"^([ \t]*[A-Za-z_][A-Za-z0-9_-]{0,40})[ \t]*：[ \t]*", re.M)


def _mended(block: str) -> dict[str, Any] | None:
    """Front matter that YAML refused (or read as no mapping) as hand-written front matter
    often is, or None: tabs made spaces (an editor's tab after ``key:`` or as indentation
    stopped PyYAML), and, when every line is a ``key: value`` / ``key：value`` line or a list
    item, full-width colons after ASCII keys made ``: ``. It must name a field posts are read
    for (title, date…). Such a block lost its whole front matter (the date too), or stayed
    in the article's text."""
    mended = block.replace("\t", " ")
    lines = [line for line in mended.splitlines() if line.strip()]
    if all(_WIDE_KEY.match(line) or _KEY_LINE.match(line) or line.lstrip().startswith("- ")
           for line in lines):
        mended = _WIDE_KEY.sub(r"\1: ", mended)
    if mended == block:
        return None
    try:
        data = _load(mended)
    except (yaml.YAMLError, RecursionError):
        return None
    # a field posts are read for: "Q：…" / "A：…" lines of an interview after a rule are text
    return data if isinstance(data, dict) and _FIELDS & set(data) else None


def split_front_matter(raw: str, name: str = "") -> tuple[dict[str, Any], str]:
    """Return (front matter dict, body); posts without front matter give ({}, raw).

    A leading blank line (Hexo) is allowed. A value YAML cannot convert (an impossible date)
    is read as text, so the other fields stay. Broken YAML is logged with the file ``name``
    and the reason and treated as absent; a block between two ``---`` lines that is not a
    key: value mapping at all (text after a horizontal rule) stays in the body. Either way no
    article text is lost.
    """
    match = _FRONT.match(raw)
    if not match:
        return {}, raw
    where = f"{name}: " if name else ""
    block = match.group(1)
    try:
        data = _load(block)
    except yaml.YAMLError as exc:
        mended = _mended(block)
        if mended is not None:
            return _text_safe(mended), raw[match.end():]
        if not _KEY_LINE.search(block):
            return {}, raw
        reason = " ".join(str(exc).split())[:300]
        log.warning("%sunreadable front matter ignored (%s)", where, reason)
        data = {}
    except RecursionError:
        log.warning("%sfront matter nested too deeply, ignored", where)
        data = {}
    if data is not None and not isinstance(data, dict):
        mended = _mended(block)
        if mended is not None:
            return _text_safe(mended), raw[match.end():]
        log.warning("%sno key: value front matter; the text between the --- lines is kept "
                    "as part of the article", where)
        return {}, raw
    return _text_safe(data or {}), raw[match.end():]


def _text_safe(value: Any) -> Any:
    """``value`` with every string made storable text: YAML's ``"\\ud83d\\ude00"`` escapes
    (an emoji, as JSON-minded exporters write it) give two lone surrogates, joined here into
    the character; a lone one becomes U+FFFD. Such a title crashed the whole build when the
    index was written."""
    if isinstance(value, str):
        if not SURROGATE.search(value):
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_text_safe(v) for v in value]
    if isinstance(value, dict):
        return {_text_safe(k): _text_safe(v) for k, v in value.items()}
    return value


def _load(block: str) -> Any:
    try:
        return yaml.load(block, Loader=_SafeNoAliasLoader)  # noqa: S506 - safe loader
    except (ValueError, TypeError, OverflowError):  # a value it recognised but cannot convert
        return yaml.load(block, Loader=_TextNoAliasLoader)  # noqa: S506 - text only


def normalize_date(value: Any, where: str = "") -> str | None:
    """Any of the seed date styles (YAML timestamp, ``2022-06-07 10:50:57 +0800``,
    RFC 822 ``Fri, 11 Jun 2021 06:52:00 GMT``) → ISO 8601, or None (logged with ``where``,
    e.g. the file name) if unparseable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()[:100]
    try:
        return dt.datetime.fromisoformat(text).isoformat()
    except ValueError:
        pass
    plain = " ".join(_AFTER_DAY.sub("日 ", _WEEKDAY.sub(" ", text)).split())
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(plain, fmt).isoformat()
        except ValueError:
            continue
    try:
        return email.utils.parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        log.warning("%sunparseable date dropped from the metadata: %r",
                    f"{where}: " if where else "", text[:100])
        return None


def as_list(value: Any) -> list[str]:
    """Categories/tags may be a string, a space-separated string or a list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part for part in str(value).split() if part]

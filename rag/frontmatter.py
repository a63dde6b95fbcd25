"""YAML front matter of Jekyll/Hexo posts: split it off and normalise its fields."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
from typing import Any

import yaml

log = logging.getLogger(__name__)

_FRONT = re.compile(r"\A\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%Y年%m月%d日")


class _SafeNoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: post metadata never needs them, and aliases let a
    few lines expand into gigabytes ("billion laughs") once the values are turned into text."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not allowed in front matter", event.start_mark)
        return super().compose_node(parent, index)


def split_front_matter(raw: str, name: str = "") -> tuple[dict[str, Any], str]:
    """Return (front matter dict, body); posts without front matter give ({}, raw).

    A leading blank line (Hexo) is allowed. Broken YAML (or YAML that is not a mapping) is
    logged with the file ``name`` and the reason, and treated as absent so that the article
    text is not lost.
    """
    match = _FRONT.match(raw)
    if not match:
        return {}, raw
    where = f"{name}: " if name else ""
    try:
        data = yaml.load(match.group(1), Loader=_SafeNoAliasLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())[:300]
        log.warning("%sunreadable front matter ignored (%s)", where, reason)
        data = {}
    except RecursionError:
        log.warning("%sfront matter nested too deeply, ignored", where)
        data = {}
    if data is not None and not isinstance(data, dict):
        log.warning("%sfront matter is not a key: value mapping, ignored", where)
    return (data if isinstance(data, dict) else {}), raw[match.end():]


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
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).isoformat()
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

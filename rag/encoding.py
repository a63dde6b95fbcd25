"""Bytes of a corpus file → text: UTF-16, UTF-8, else a detected CJK legacy encoding; binary
is refused.

Encodings are detected with charset-normalizer, limited to the legacy encodings of Chinese,
Japanese and Korean text (GB18030/GBK, Big5, Shift-JIS, EUC-JP, EUC-KR). A candidate is kept
only if its decoded text reads as text (common characters of those scripts), so a Big5 or
Shift-JIS file is never read as GB18030 mojibake: it is decoded correctly or refused.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata

from rag.errors import CorpusError

_CJK_ENCODINGS = {
    "gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950", "shift_jis", "cp932",
    "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004", "euc_jisx0213", "cp949",
    "euc_kr", "johab", "iso2022_jp",
}
MIN_PLAUSIBLE = 0.9  # share of common characters a decoding needs to count as text
_SAMPLE = 200_000  # bytes of the file used for detection
# UTF-8 with a few bad bytes (a stray byte, a file cut mid-character) is read with U+FFFD in
# their place rather than lost whole: at most this many, and one per this many characters
MAX_BAD_UTF8, BAD_UTF8_PER = 16, 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # never in text (tabs and breaks are)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
log = logging.getLogger(__name__)


def decode_text(data: bytes, name: str) -> str:
    """A file's text: UTF-16 (Windows Notepad's "Unicode", with or without a BOM), else what
    ``decode_bytes`` reads (UTF-8, a detected CJK encoding; binary is a CorpusError)."""
    text = _utf16(data)
    if text is not None:
        return text
    try:
        return decode_bytes(data, name)
    except CorpusError:
        text = _utf16(data, guess=True)
        if text is not None:
            return text
        if data[:2] in _UTF16_BOMS and b"\x00" in data:
            raise CorpusError(f"{name}: 无法读取的 UTF-16 文件 / a UTF-16 file that cannot be "
                              "decoded; save it as UTF-8") from None
        raise


def _utf16(data: bytes, guess: bool = False) -> str | None:
    """``data`` as UTF-16, or None when it is not. It must decode without control characters
    and either have a BOM and its NUL bytes (the high bytes of ASCII characters) on the side
    the BOM says, or read as CJK text: without a BOM the byte order with more NUL bytes on
    the high side is tried first, and text without any (CJK only) is tried only with
    ``guess`` (when nothing else decodes it)."""
    ascii_nuls = False
    if data[:2] in _UTF16_BOMS:
        encodings = ["utf-16"]
        odd, even = b"\x00" in data[1::2], b"\x00" in data[0::2]
        ascii_nuls = (odd and not even) if data[:2] == codecs.BOM_UTF16_LE else (even and not odd)
    elif len(data) % 2:
        return None
    elif b"\x00" in data:  # the side with more NUL bytes first: CJK text has some on the
        # other side too (一 is U+4E00: bytes 00 4E), which refused every such file as binary
        odd, even = data[1::2].count(0), data[0::2].count(0)
        encodings = ["utf-16-le", "utf-16-be"] if odd >= even else ["utf-16-be", "utf-16-le"]
    else:
        encodings = ["utf-16-le", "utf-16-be"] if guess else []
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text) and (ascii_nuls or _plausible(text)):
            return text.removeprefix("\ufeff")
    return None


def _plausible(text: str) -> bool:
    """Letters of a script the corpus is in (CJK, or none but ASCII)."""
    return any(plausibility(text, enc) >= MIN_PLAUSIBLE for enc in ("gb18030", "cp932", "cp949"))


def decode_bytes(data: bytes, name: str) -> str:
    """The file's text; binary content or an undetectable encoding is a CorpusError."""
    if b"\x00" in data[:_SAMPLE] or b"\x00" in data:
        raise CorpusError(f"{name}: 不是文本文件 / not a text file (binary content: NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in _candidates(data):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if plausibility(text, encoding) >= MIN_PLAUSIBLE:
            return text
    mended = _mostly_utf8(data, name)  # after the legacy encodings: a GBK or Big5 file
    if mended is not None:  # whose few CJK bytes are "bad UTF-8" is decoded above
        return mended
    raise CorpusError(f"{name}: 无法识别文本编码 / cannot decode the file as UTF-8 or a detected "
                      "Chinese/Japanese/Korean encoding; save it as UTF-8")


def _mostly_utf8(data: bytes, name: str) -> str | None:
    """UTF-8 text with a few invalid bytes, each replaced by U+FFFD (with a warning), or None
    when there are more than a stray few (then it is another encoding, or binary)."""
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - data.decode("utf-8-sig", errors="ignore").count("\ufffd")
    multibyte = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    # UTF-8 evidence: many well-formed multi-byte characters per bad byte (a mostly-ASCII
    # cp1252 or Big5 file has none or few, and is refused rather than garbled)
    if bad > MAX_BAD_UTF8 or bad * BAD_UTF8_PER > len(text) or multibyte < 20 * bad:
        return None
    log.warning("%s: %d byte(s) that are not UTF-8 replaced with U+FFFD", name, bad)
    return text


def _candidates(data: bytes) -> list[str]:
    """CJK encodings charset-normalizer proposes (best first), then GB18030 as a fallback
    for short texts it misses."""
    from charset_normalizer import from_bytes

    found: list[str] = []
    for match in from_bytes(data[:_SAMPLE]):
        name = codecs.lookup(match.encoding).name.replace("-", "_")
        if name in _CJK_ENCODINGS and name not in found:
            found.append(name)
    if "gb18030" not in found:
        found.append("gb18030")
    return found


def plausibility(text: str, encoding: str = "gb18030") -> float:
    """Share of the non-ASCII letters of ``text`` that are common characters of the script
    ``encoding`` is for (GB2312 or Big5 level 1 hanzi, kana and JIS level 1 kanji, KS X 1001
    Hangul); 1.0 when there are none."""
    letters = [ch for ch in text if ord(ch) > 127 and unicodedata.category(ch)[0] == "L"]
    if not letters:
        return 1.0
    common = _COMMON[_FAMILY.get(encoding, "gb")]
    sample = letters[:20_000]
    return sum(1 for ch in sample if common(ch)) / len(sample)


def _in(encoding: str, lo: int, hi: int):
    def check(ch: str) -> bool:
        if 0xFF01 <= ord(ch) <= 0xFF5E:  # full-width letters
            return True
        try:
            raw = ch.encode(encoding)
        except UnicodeEncodeError:
            return False
        return len(raw) == 2 and lo <= raw[0] <= hi
    return check


_FAMILY = {"big5": "big5", "big5hkscs": "big5", "cp950": "big5", "cp949": "ko", "euc_kr": "ko",
           "johab": "ko", "shift_jis": "ja", "cp932": "ja", "shift_jis_2004": "ja",
           "shift_jisx0213": "ja", "euc_jp": "ja", "euc_jis_2004": "ja", "euc_jisx0213": "ja",
           "iso2022_jp": "ja"}
_KANJI = _in("shift_jis", 0x88, 0x98)
_GB2312, _BIG5 = _in("gb2312", 0xB0, 0xF7), _in("big5", 0xA4, 0xC6)
_COMMON = {
    "gb": lambda ch: _GB2312(ch) or _BIG5(ch),  # GBK also carries traditional text
    "big5": _BIG5,
    "ja": lambda ch: 0x3040 <= ord(ch) <= 0x30FF or _KANJI(ch),
    "ko": _in("euc_kr", 0xB0, 0xC8),
}

"""Decoding users' text files as Excel and Chinese office software write them.

UTF-8 (with or without BOM), UTF-16 and UTF-32 with a byte-order mark (Excel's "Unicode
text", tab-separated), UTF-16 without a mark (told by its NUL bytes), else GB18030 (a superset
of GBK and GB2312). Shared by the register import (:mod:`restora.inventory.io`), users'
reference tables (:mod:`restora.refdata`) and project files (:mod:`restora.appraisal.io`).
"""

from __future__ import annotations

import codecs

from restora.errors import InputError

# Longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NAMES = {"utf-8-sig": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``data`` declares, or None.

    >>> bom_encoding("矿".encode("utf-16"))
    'utf-16'
    >>> bom_encoding(b"mine_id") is None
    True
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the text is UTF-16 without a mark, else None.

    ASCII text in UTF-16 has a NUL in every other byte; UTF-8 and GB18030 text never holds NUL.
    """
    head = data[:4096]
    if len(head) < 4 or len(head) % 2 or b"\x00" not in head:
        return None
    odd, even = head[1::2], head[0::2]
    if odd.count(0) > len(odd) // 2 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > len(even) // 2 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def decode_text(
    data: bytes, name: str, encoding: str | None = None, *, hint: str = "pass --encoding"
) -> tuple[str, str]:
    """Text of a file and the encoding used.

    ``encoding`` if given; else the encoding a byte-order mark declares (UTF-8, UTF-16,
    UTF-32); else UTF-16 without a mark when the NUL bytes say so; else UTF-8; else GB18030.
    ``hint`` ends the error message when nothing decodes (what the user can do about it).
    """
    if encoding:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {exc}", file=name) from exc
        return text.removeprefix("\ufeff"), encoding
    guess = bom_encoding(data) or _utf16_without_bom(data)
    if guess is not None:
        try:
            return data.decode(guess), _NAMES.get(guess, guess)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"starts as {_NAMES.get(guess, guess).upper()} text but cannot be decoded "
                f"({exc}); {hint}",
                file=name,
            ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is neither UTF-8 nor GBK/GB18030 text ({exc}); {hint}", file=name
        ) from exc

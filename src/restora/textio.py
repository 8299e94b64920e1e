"""Decoding users' text files: UTF-8 (with or without BOM) or GBK/GB18030, as Excel writes them.

Shared by the register import (:mod:`restora.inventory.io`) and users' reference tables
(:mod:`restora.refdata`).
"""

from __future__ import annotations

from restora.errors import InputError


def decode_text(
    data: bytes, name: str, encoding: str | None = None, *, hint: str = "pass --encoding"
) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: ``encoding``, else UTF-8 (BOM or not), else GB18030.

    ``hint`` ends the error message when neither decodes (what the user can do about it).
    """
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {exc}", file=name) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is neither UTF-8 nor GBK/GB18030 text ({exc}); {hint}", file=name
        ) from exc

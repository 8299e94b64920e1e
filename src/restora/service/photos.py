"""Photos of public complaints: the type sniffed from the bytes, size and pixel limits, every
metadata block dropped, stored under the data folder.

A photo is accepted only if

1. its first bytes are those of a JPEG (``FF D8 FF``), a PNG (``89 50 4E 47 0D 0A 1A 0A``) or a
   WebP (``RIFF`` ….``WEBP``) file, whatever the client says its type or name is;
2. it is at most :data:`MAX_PHOTO_BYTES` (all photos together :data:`MAX_TOTAL_BYTES`, at most
   :data:`MAX_PHOTOS` of them);
3. its declared width × height, read from the header before any pixel is decoded, is at most
   :data:`MAX_PIXELS` (a decompression bomb — a small file that decodes to gigabytes — is
   refused before it is decoded), and Pillow opens, verifies and decodes it as the sniffed
   format.

It is then re-encoded from its pixels alone, turned upright first by its EXIF orientation: the
stored file carries no EXIF (so no GPS position, camera serial or time), no XMP, no IPTC, no
comments, no text chunks; only the first frame of an animated file. The stored name is the
SHA-256 of the clean bytes.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from restora.service.problems import Problem

MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
"""Largest width × height accepted [pixel] (a 40-megapixel phone photo; Pillow's own
decompression-bomb limit is about 89 million)."""
JPEG_QUALITY = 90

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def sniff(data: bytes) -> str | None:
    """The media type of an image from its first bytes (JPEG, PNG or WebP), else None.

    Examples
    --------
    >>> sniff(b"\\xff\\xd8\\xff\\xe0rest"), sniff(b"\\x89PNG\\r\\n\\x1a\\nrest")
    ('image/jpeg', 'image/png')
    >>> sniff(b"RIFF\\x00\\x00\\x00\\x00WEBPVP8 "), sniff(b"GIF89a"), sniff(b"<svg")
    ('image/webp', None, None)
    """
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class CleanPhoto:
    """A photo re-encoded without metadata."""

    content_type: str
    data: bytes
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def _bad(index: int, message: str, status: int = 422) -> Problem:
    kinds = {413: "too-large", 415: "unsupported-media-type", 422: "invalid-photo"}
    return Problem(
        status,
        f"photo {index + 1}: {message}",
        kind=kinds[status],
        errors=[{"field": f"photos.{index}", "message": message}],
    )


def clean(data: bytes, index: int = 0) -> CleanPhoto:
    """Check one photo and re-encode it without metadata; :class:`Problem` (413 or 422) naming
    ``photos.<index>`` if it is refused."""
    if len(data) > MAX_PHOTO_BYTES:
        raise _bad(index, f"larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MiB", 413)
    kind = sniff(data)
    if kind is None:
        raise _bad(index, "not a JPEG, PNG or WebP image (judged by its content)", 415)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[FORMATS[kind]]) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise _bad(index, f"{width} × {height} pixels is more than {MAX_PIXELS:,}")
                probe.verify()  # structure and checksums, no pixels decoded
            with Image.open(io.BytesIO(data), formats=[FORMATS[kind]]) as im:
                im.seek(0)
                im.load()
                upright = ImageOps.exif_transpose(im)
    except Problem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bad(index, "too many pixels (a decompression bomb?)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _bad(index, f"not a readable {kind.split('/')[1].upper()} image ({exc})") from None
    return _encode(upright, kind)


def _encode(im: Image.Image, kind: str) -> CleanPhoto:
    """Re-encode pixels only: a fresh image from the pixel data carries no ``info`` at all."""
    if kind == "image/jpeg":
        mode = "L" if im.mode in ("L", "1") else "RGB"
    else:
        mode = "RGBA" if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info else "RGB"
    pixels = im.convert(mode)
    bare = Image.new(mode, pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    if kind == "image/jpeg":
        bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    elif kind == "image/png":
        bare.save(out, format="PNG", optimize=True)
    else:
        bare.save(out, format="WEBP", quality=JPEG_QUALITY)
    data = out.getvalue()
    return CleanPhoto(kind, data, bare.width, bare.height, hashlib.sha256(data).hexdigest())


def clean_all(files: list[bytes]) -> list[CleanPhoto]:
    """Check the count and total size, then clean each photo (:func:`clean`)."""
    if len(files) > MAX_PHOTOS:
        raise Problem(
            422,
            f"at most {MAX_PHOTOS} photos",
            kind="invalid-input",
            errors=[{"field": "photos", "message": f"at most {MAX_PHOTOS} photos"}],
        )
    total = sum(len(f) for f in files)
    if total > MAX_TOTAL_BYTES:
        raise Problem(
            413,
            f"the photos together are larger than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB",
            kind="too-large",
            errors=[{"field": "photos", "message": "too large together"}],
        )
    return [clean(data, i) for i, data in enumerate(files)]


def store(photo: CleanPhoto, data_dir: Path, folder: str) -> str:
    """Write a clean photo under ``data_dir/complaints/<folder>/``; its path relative to
    ``data_dir`` (POSIX separators)."""
    rel = Path("complaints") / folder / f"{photo.sha256}.{photo.extension}"
    dest = data_dir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(photo.data)
    tmp.replace(dest)
    return rel.as_posix()

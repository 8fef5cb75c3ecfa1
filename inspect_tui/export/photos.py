"""Photos as a document prints them: scaled, upright, re-encoded, with nothing of the original file.

A phone photo is 3–12 MB, carries GPS position and camera data in its EXIF, and is often stored
sideways with an orientation tag. What goes into a PDF is a new JPEG made from the pixels only:

* orientation applied (``ImageOps.exif_transpose``), colours converted to sRGB from the photo's
  ICC profile, then the EXIF, ICC and every other chunk of the original dropped — the encoder is
  given pixels and nothing else;
* long side at most ``MAX_PX``; a JPEG is decoded at a reduced scale straight away (``draft``), so
  a 12-megapixel photo costs a fraction of a full decode;
* every mode Pillow reads made printable: transparency flattened onto white, 16-bit and 32-bit
  greyscale scaled to 8 bits, palettes and CMYK converted — PNGs no longer come out blank;
* at most ``BUDGET_BYTES`` per photo: the best quality that fits, else a smaller picture, so ten
  12-megapixel photos — even pure noise — keep a feedback PDF small enough to e-mail.

The work runs in the export's worker processes, cached per file version.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from inspect_tui.store.evidence import MAX_BYTES as MAX_FILE_BYTES
from inspect_tui.store.evidence import NotAnImage, decode, is_ref, matches

MAX_PX = 1600
BUDGET_BYTES = 240 * 1024
QUALITIES = (82, 74, 66, 58, 50, 42, 34)  # tried first, then searched


def _printable(im):
    """``im`` as 8-bit RGB or L, transparency on white."""
    from PIL import Image

    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        hi = max(1, im.getextrema()[1] or 1)
        scale = 255 / hi if hi > 255 else 1
        return im.convert("I").point(lambda v: v * scale).convert("L")
    if im.mode == "F":
        return im.convert("L")
    if im.mode == "P" and "transparency" in im.info or im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode in ("RGB", "L"):
        return im
    return im.convert("RGB")


def scaled_jpeg(data: bytes) -> bytes:
    """A new JPEG of the picture in ``data``: upright, long side ≤ ``MAX_PX``, ≤ ``BUDGET_BYTES``."""
    from PIL import Image, ImageOps

    with decode(data, max_side=MAX_PX) as im:
        try:
            pic = _printable(_in_srgb(ImageOps.exif_transpose(im), im.info.get("icc_profile")))
            pic.thumbnail((MAX_PX, MAX_PX), Image.Resampling.BICUBIC)
            return _fit(pic)
        except (OSError, ValueError, TypeError, SyntaxError) as exc:  # odd EXIF or mode in a readable file
            raise NotAnImage(f"无法转换为可打印的照片（{exc}）") from None


def _in_srgb(im, icc: bytes | None):
    """Colours converted from the photo's own profile (a phone's Display P3, Adobe RGB) to sRGB, so
    they print right once the profile is dropped; unchanged when there is none or it is unusable."""
    if not icc or im.mode not in ("RGB", "CMYK"):
        return im
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im


def _encode(pic, quality: int) -> bytes:
    buf = io.BytesIO()
    pic.save(buf, "JPEG", quality=quality)  # pixels only: no exif=, icc_profile=
    return buf.getvalue()


def _fit(pic) -> bytes:
    """The best quality within the budget (one encode for most photos, four at most per size), else
    the picture made smaller."""
    from PIL import Image

    while True:
        data = _encode(pic, QUALITIES[0])
        if len(data) <= BUDGET_BYTES:
            return data
        best, lo, hi = None, 1, len(QUALITIES) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            data = _encode(pic, QUALITIES[mid])
            if len(data) <= BUDGET_BYTES:
                best, hi = data, mid - 1
            else:
                lo = mid + 1
        if best is not None:
            return best
        if max(pic.size) <= 400:
            return data
        pic = pic.resize((max(1, pic.width * 3 // 4), max(1, pic.height * 3 // 4)), Image.Resampling.BICUBIC)


@functools.lru_cache(maxsize=64)
def _cached(path: str, mtime_ns: int, size: int) -> bytes:
    data = Path(path).read_bytes()
    name = Path(path).name
    if is_ref(name) and not matches(name, data):
        raise NotAnImage("照片文件与记录不符（已损坏或被替换）")
    return scaled_jpeg(data)


def photo_for_print(path: str | Path) -> bytes:
    """``scaled_jpeg`` of a file, cached while the file is unchanged. Raises ``NotAnImage``."""
    p = Path(path)
    try:
        st = p.stat()
        if st.st_size > MAX_FILE_BYTES:
            raise NotAnImage("文件过大，不是照片")
        return _cached(str(p), st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        raise NotAnImage("文件不存在") from None
    except OSError as exc:
        raise NotAnImage(f"无法读取（{exc.strerror or exc}）") from None

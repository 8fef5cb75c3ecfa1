"""System pieces a Chinese PDF needs: a CJK font found through fontconfig, and HarfBuzz's subsetter.

WeasyPrint renders with Pango, which asks fontconfig for fonts. When no font covers Chinese it does
not fail: it draws ``.notdef`` boxes and logs a warning. An official notice full of empty boxes is
worse than no notice, so export checks for a font *before* rendering and stops with a message that
says what to install. (The renderer also turns any ``.notdef`` warning into an error, for the
characters a CJK font still lacks.)

Without ``libharfbuzz-subset`` WeasyPrint falls back to fontTools to subset fonts, which takes
seconds per document for a 20 MB CJK font instead of a fraction of a second; we refuse rather than
silently run 30 times slower.

These functions do not import WeasyPrint (it is slow to import); ``doctor`` calls all three.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import shutil
import subprocess
import sys

from inspect_tui.errors import UserError

# Families tried first, in order: Song/Ming style (serif) suits official documents.
PREFERRED_FAMILIES = (
    "Noto Serif CJK SC", "Source Han Serif SC", "Source Han Serif CN", "SimSun", "宋体", "Songti SC",
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Microsoft YaHei", "微软雅黑",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "AR PL UMing CN", "PingFang SC",
)

# The names WeasyPrint itself tries (weasyprint/text/ffi.py), so our answer matches its behaviour.
HB_SUBSET_NAMES = (
    "libharfbuzz-subset.so.0", "libharfbuzz-subset-0", "harfbuzz-subset", "harfbuzz-subset-0.0",
    "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll",
)
FONTCONFIG_NAMES = ("libfontconfig.so.1", "libfontconfig-1", "fontconfig-1", "fontconfig",
                    "libfontconfig.1.dylib", "libfontconfig-1.dll")

FONT_HINT = (
    "请安装中文字体后重试：\n"
    "  Debian/Ubuntu: sudo apt-get install fonts-noto-cjk\n"
    "  Fedora: sudo dnf install google-noto-serif-cjk-fonts\n"
    "  Windows/macOS: 系统自带的宋体/雅黑即可，或安装“思源宋体”(Source Han Serif)。\n"
    "安装后可用 `fc-list :lang=zh` 确认，再运行 `inspect-tui doctor` 检查。"
)
HARFBUZZ_HINT = (
    "请安装 HarfBuzz 字体子集库（否则每份中文 PDF 需要数秒，批量导出极慢）：\n"
    "  Debian/Ubuntu: sudo apt-get install libharfbuzz-subset0\n"
    "  Fedora: sudo dnf install harfbuzz   macOS: brew install harfbuzz\n"
    "  Windows: 安装 MSYS2 的 mingw-w64-ucrt-x86_64-harfbuzz 并按 WeasyPrint 文档设置 DLL 目录。"
)


def _load_library(names: tuple[str, ...]) -> ctypes.CDLL | None:
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    found = ctypes.util.find_library("fontconfig")
    try:
        return ctypes.CDLL(found) if found else None
    except OSError:
        return None


def harfbuzz_subset_available() -> bool:
    """True when HarfBuzz's subsetting library can be loaded (WeasyPrint then subsets fonts fast)."""
    for name in HB_SUBSET_NAMES:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False



def _fontconfig_zh_fonts() -> list[tuple[str, str]] | None:
    """(family, file) of every font fontconfig says covers Chinese; None when fontconfig is absent."""
    lib = _load_library(FONTCONFIG_NAMES)
    if lib is None:
        return None
    c_void_p, c_char_p, c_int = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.FcInitLoadConfigAndFonts.restype = c_void_p
    lib.FcNameParse.restype = c_void_p
    lib.FcNameParse.argtypes = [c_char_p]
    lib.FcObjectSetCreate.restype = c_void_p
    lib.FcObjectSetAdd.argtypes = [c_void_p, c_char_p]
    lib.FcFontList.restype = c_void_p
    lib.FcFontList.argtypes = [c_void_p, c_void_p, c_void_p]
    lib.FcPatternGetString.argtypes = [c_void_p, c_char_p, c_int, ctypes.POINTER(c_char_p)]
    lib.FcPatternDestroy.argtypes = [c_void_p]
    lib.FcObjectSetDestroy.argtypes = [c_void_p]
    lib.FcFontSetDestroy.argtypes = [c_void_p]
    lib.FcConfigDestroy.argtypes = [c_void_p]

    class FcFontSet(ctypes.Structure):
        _fields_ = [("nfont", c_int), ("sfont", c_int), ("fonts", ctypes.POINTER(c_void_p))]

    config = lib.FcInitLoadConfigAndFonts()
    pattern = lib.FcNameParse(b":lang=zh-cn")
    objects = lib.FcObjectSetCreate()
    for obj in (b"family", b"file"):
        lib.FcObjectSetAdd(objects, obj)
    fontset_p = lib.FcFontList(config, pattern, objects)
    out: list[tuple[str, str]] = []
    try:
        if fontset_p:
            fs = ctypes.cast(fontset_p, ctypes.POINTER(FcFontSet)).contents
            for i in range(fs.nfont):
                pat = fs.fonts[i]
                file_v, n = c_char_p(), 0
                lib.FcPatternGetString(pat, b"file", 0, ctypes.byref(file_v))
                while True:
                    fam = c_char_p()
                    if lib.FcPatternGetString(pat, b"family", n, ctypes.byref(fam)) != 0:
                        break
                    out.append((fam.value.decode("utf-8", "replace"),
                                (file_v.value or b"").decode("utf-8", "replace")))
                    n += 1
    finally:
        if fontset_p:
            lib.FcFontSetDestroy(fontset_p)
        lib.FcObjectSetDestroy(objects)
        lib.FcPatternDestroy(pattern)
        if config:
            lib.FcConfigDestroy(config)
    return out


class _Coverage:
    """The union of the character sets of every installed font, asked through fontconfig.

    Pango falls back to any installed font that has a character, so "some font has it" is exactly
    "it will print". Built once per process (~0.1 s for a few hundred fonts).
    """

    def __init__(self) -> None:
        self.lib = lib = _load_library(FONTCONFIG_NAMES)
        self.union = None
        if lib is None:
            return
        c_void_p = ctypes.c_void_p
        lib.FcInitLoadConfigAndFonts.restype = c_void_p
        lib.FcPatternCreate.restype = c_void_p
        lib.FcObjectSetCreate.restype = c_void_p
        lib.FcObjectSetAdd.argtypes = [c_void_p, ctypes.c_char_p]
        lib.FcFontList.restype = c_void_p
        lib.FcFontList.argtypes = [c_void_p, c_void_p, c_void_p]
        lib.FcPatternGetCharSet.argtypes = [c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(c_void_p)]
        lib.FcCharSetCreate.restype = c_void_p
        lib.FcCharSetMerge.argtypes = [c_void_p, c_void_p, ctypes.c_void_p]
        lib.FcCharSetHasChar.argtypes = [c_void_p, ctypes.c_uint32]
        lib.FcFontSetDestroy.argtypes = [c_void_p]
        lib.FcObjectSetDestroy.argtypes = [c_void_p]
        lib.FcPatternDestroy.argtypes = [c_void_p]

        class FcFontSet(ctypes.Structure):
            _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.POINTER(c_void_p))]

        config = lib.FcInitLoadConfigAndFonts()
        pattern = lib.FcPatternCreate()
        objects = lib.FcObjectSetCreate()
        lib.FcObjectSetAdd(objects, b"charset")
        fontset_p = lib.FcFontList(config, pattern, objects)
        self.union = lib.FcCharSetCreate()
        try:
            if fontset_p:
                fs = ctypes.cast(fontset_p, ctypes.POINTER(FcFontSet)).contents
                for i in range(fs.nfont):
                    cs = c_void_p()
                    if lib.FcPatternGetCharSet(fs.fonts[i], b"charset", 0, ctypes.byref(cs)) == 0:
                        lib.FcCharSetMerge(self.union, cs, None)
        finally:
            if fontset_p:
                lib.FcFontSetDestroy(fontset_p)
            lib.FcObjectSetDestroy(objects)
            lib.FcPatternDestroy(pattern)
        self.cache: dict[str, bool] = {}

    def has(self, ch: str) -> bool:
        if self.union is None:
            return True  # no fontconfig: the renderer's missing-glyph check still stops empty boxes
        found = self.cache.get(ch)
        if found is None:
            found = self.cache[ch] = bool(self.lib.FcCharSetHasChar(self.union, ord(ch)))
        return found


@functools.lru_cache(maxsize=1)
def _coverage() -> _Coverage:
    return _Coverage()


def has_glyph(ch: str) -> bool:
    """Whether some installed font has the character ``ch`` (so Pango can print it)."""
    return _coverage().has(ch)


def _fc_list_zh_fonts() -> list[tuple[str, str]]:
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        proc = subprocess.run([exe, ":lang=zh-cn", "family", "file"], capture_output=True, text=True,
                              timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    out = []
    for line in proc.stdout.splitlines():
        file, _, fams = line.partition(": ")
        for fam in fams.split(","):
            if fam.strip():
                out.append((fam.strip(), file.strip()))
    return out


@functools.lru_cache(maxsize=1)
def _cached_find() -> str | None:
    fonts = _fontconfig_zh_fonts()
    if fonts is None:
        fonts = _fc_list_zh_fonts()
    families = {fam for fam, _ in fonts}
    for wanted in PREFERRED_FAMILIES:
        if wanted in families:
            return wanted
    # Any other family covering Chinese; prefer the ones that name Chinese / CJK explicitly.
    ranked = sorted(families, key=lambda f: (not any(k in f for k in ("SC", "CN", "GB", "CJK")), f))
    return ranked[0] if ranked else None


@functools.lru_cache(maxsize=4)
def font_file_of(family: str) -> str:
    """``name:size`` of the file fontconfig gives for ``family`` (a cheap identity of the font)."""
    import os

    fonts = _fontconfig_zh_fonts()
    if fonts is None:
        fonts = _fc_list_zh_fonts()
    for fam, file in fonts:
        if fam == family:
            try:
                return f"{os.path.basename(file)}:{os.path.getsize(file)}"
            except OSError:
                return os.path.basename(file)
    return ""


def find_cjk_font() -> str | None:
    """The family name of a font that covers simplified Chinese, found through fontconfig, or None."""
    return _cached_find()


def check_pdf_prerequisites() -> str:
    """Raise ``UserError`` (with install instructions) unless PDFs can be made; return the font family."""
    family = find_cjk_font()
    if family is None:
        raise UserError("找不到中文字体：无法生成中文 PDF（否则会打印成一片空白方框）。", hint=FONT_HINT)
    if not harfbuzz_subset_available():
        raise UserError("缺少 HarfBuzz 字体子集库 (libharfbuzz-subset)：中文 PDF 会慢几十倍。",
                        hint=HARFBUZZ_HINT)
    return family


if __name__ == "__main__":  # pragma: no cover - handy for support calls
    print("font:", find_cjk_font(), "harfbuzz-subset:", harfbuzz_subset_available(), file=sys.stderr)

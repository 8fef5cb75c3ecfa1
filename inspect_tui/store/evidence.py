"""The session's evidence store: attached photos kept beside the session file, by content hash.

A photo attached to an observation is *copied* into ``<session stem>.files/`` next to the session
file, named ``<sha256 of its bytes>.<ext>``, and the record stores only that name (a *reference*).
So the session and its folder travel together — on a USB stick, through ``handout`` and ``merge``
(:func:`carry` copies the referenced photos into the output's folder) — and the photos exist on the
leader's laptop, whatever folder the inspector's originals were in. The same photo attached twice,
or by two inspectors, is stored once.

Only real images enter the store: the content is opened with Pillow and fully decoded (the file
name's extension is not trusted) — a text file or an SVG named ``.png``, a truncated JPEG, a
decompression bomb, HEIC that Pillow cannot read — each is refused with a message naming the file.
A symlink is followed and the *content* it leads to is copied; nothing is kept by path.

Records written before the store held absolute or relative paths. Those still work where the file
exists (:func:`locate`: absolute, or relative to the session's folder); they move into the store the
next time the observation's photo field is saved (:func:`store_files` keeps references and imports
paths).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_tui.errors import Problem, UserError
from inspect_tui.store.journal import fsync_dir, replace_file

STORE_SUFFIX = ".files"
MAX_BYTES = 200 * 1024 * 1024  # no phone photo comes near; a mistaken video or disk image does
FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}
OPENERS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")  # Pillow plugins tried (a phone's MPO opens as JPEG)
DOCUMENT = "pdf"  # evidence of a rectification (a scanned reply form, a minutes PDF) may be a PDF
REF_RE = re.compile(r"^[0-9a-f]{64}\.(?:" + "|".join(sorted({*FORMATS.values(), DOCUMENT})) + r")$")
REF_FIELDS = ("files", "evidence_files")  # record fields that hold store references


def store_dir(session_path: str | Path) -> Path:
    """``visit.jsonl`` → ``visit.files/`` in the same folder."""
    p = Path(session_path)
    return p.with_name(p.stem + STORE_SUFFIX)


def is_ref(name: str) -> bool:
    return bool(REF_RE.match(name))


class NotAnImage(ValueError):
    """The bytes are not an image the store accepts; the message says why, in Chinese."""


def decode(data: bytes, max_side: int | None = None) -> Any:
    """The image in ``data``, loaded whole — only the ``OPENERS`` formats are tried, never EPS or
    SVG. A JPEG is decoded at the smallest reduced scale that keeps its long side ≥ ``max_side``
    (every block is still read, so damage is still found). Raises ``NotAnImage``."""
    from PIL import Image, ImageFile, UnidentifiedImageError

    if not data:
        raise NotAnImage("文件为空")
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES  # WeasyPrint sets it for the whole process on import
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=OPENERS)
            k = max_side / max(im.size) if max_side else 1
            if im.format in ("JPEG", "MPO") and k < 1:
                im.draft("RGB", (max(1, int(im.width * k)), max(1, int(im.height * k))))
            im.load()
            return im
    except UnidentifiedImageError:
        if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
            raise NotAnImage("HEIC/HEIF 格式无法读取，请在手机上改存为 JPEG（“兼容性最佳”）或转换后再附上") from None
        raise NotAnImage("不是图片文件（按内容识别，不看扩展名）") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAnImage("图片像素过多，疑似异常文件") from None
    except (OSError, SyntaxError, ValueError, EOFError, ZeroDivisionError) as exc:
        raise NotAnImage(f"图片已损坏或不完整：{exc}") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def image_format(data: bytes) -> str:
    """The file extension for ``data`` if it is a whole, decodable image of an accepted format."""
    with decode(data, max_side=256) as im:
        return FORMATS[im.format or ""]




def add(session_path: str | Path, source: str | Path, *, documents: bool = False) -> str:
    """Copy the image at ``source`` (symlinks followed) into the store; return its reference.
    Raises ``UserError`` naming the file when it is missing, unreadable or not an image. With
    ``documents``, a PDF that opens is accepted too (ledger evidence)."""
    src = Path(source).expanduser()
    try:
        real = src.resolve(strict=True)
        if not real.is_file():
            raise UserError(f"{source}: 不是文件")
        if real.stat().st_size > MAX_BYTES:
            raise UserError(f"{source}: 文件过大（超过 {MAX_BYTES // 2**20} MB），不是照片")
        data = real.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{source}: 找不到文件") from None
    except OSError as exc:
        raise UserError(f"{source}: 无法读取：{exc.strerror or exc}") from None
    try:
        ext = DOCUMENT if documents and _is_pdf(data) else image_format(data)
    except NotAnImage as exc:
        raise UserError(f"{source}: 不能作为{'佐证材料' if documents else '照片'}：{exc}") from None
    ref = f"{hashlib.sha256(data).hexdigest()}.{ext}"
    folder = store_dir(session_path)
    target = folder / ref
    if target.is_symlink() or not target.is_file() or not _hash_ok(target, ref):  # a damaged copy is healed
        folder.mkdir(exist_ok=True)
        replace_file(target, data)
    return ref


def _is_pdf(data: bytes) -> bool:
    if not data.startswith(b"%PDF-"):
        return False
    import pypdfium2 as pdfium

    try:
        pdfium.PdfDocument(data).close()
    except pdfium.PdfiumError:
        return False
    return True


def store_files(session_path: str | Path, value: str | Iterable[str], base: str | Path | None = None) -> list[str]:
    """What the photo field of an observation saves: each entry of ``value`` (a ``;``-separated
    text or a list) as a reference — kept when it already is one in this store, else the file is
    imported (paths relative to ``base``, default the current folder). Every refused entry is
    reported at once; nothing is returned (and so nothing saved) unless all are good."""
    if isinstance(value, str):
        value = value.replace("；", ";").split(";")
    names = list(dict.fromkeys(n.strip() for n in value if n.strip()))
    refs, problems = [], []
    folder = store_dir(session_path)
    for name in names:
        if is_ref(name) and (folder / name).is_file():
            refs.append(name)
            continue
        path = Path(name).expanduser()
        if base is not None and not path.is_absolute():
            path = Path(base) / path
        try:
            refs.append(add(session_path, path))
        except UserError as exc:
            problems.append(Problem(name, exc.message.removeprefix(f"{path}: ")))
    if problems:
        message = f"照片未保存：{problems[0]}" if len(problems) == 1 else f"照片未保存：{len(problems)} 个文件不能附上"
        raise UserError(message, problems=problems if len(problems) > 1 else [],
                        hint="只能附上 JPEG、PNG、WebP、GIF、BMP、TIFF 图片。")
    return list(dict.fromkeys(refs))


def locate(session_path: str | Path, name: str) -> Path | None:
    """The file a stored ``files`` entry stands for, or None when it is not on this machine: a
    reference in this session's store; a path written before the store (absolute, or relative to the
    session's folder)."""
    if is_ref(name):
        p = store_dir(Path(session_path).absolute()) / name
        return p if p.is_file() and not p.is_symlink() else None  # the store holds files, never links
    p = Path(name).expanduser()
    if not p.is_absolute():
        p = Path(session_path).absolute().parent / p
    with contextlib.suppress(OSError):
        p = p.resolve(strict=True)
        return p if p.is_file() else None
    return None


@dataclass
class Adopted:
    """What ``adopt_paths`` did: photos moved into the store, and entries left as they were."""

    copied: int = 0
    observations: int = 0
    left: list[str] = field(default_factory=list)  # "entry：why"


def adopt_paths(session: Any) -> Adopted:
    """Move every photo a session still holds by path into its store (the migration for sessions
    written before the store): each observation whose ``files`` name paths is saved again with
    references for the files found on this machine and readable as images. Entries that are
    missing or refused stay as they were and are listed; running it again is harmless."""
    from inspect_tui.core.records import Kind

    done = Adopted()
    for branch in session.branches():
        for obs in session.records(branch.id, Kind.OBSERVATION):
            files = list(obs.data.get("files") or ())
            new = []
            for name in files:
                path = None if is_ref(name) else locate(session.path, name)
                if path is None:
                    new.append(name)
                    if not is_ref(name):
                        done.left.append(f"{name}：文件不在本机")
                    continue
                try:
                    new.append(add(session.path, path))
                    done.copied += 1
                except UserError as exc:
                    new.append(name)
                    done.left.append(f"{name}：{exc.message.removeprefix(f'{path}: ')}")
            if new != files:
                session.update(Kind.OBSERVATION, obs.id, files=list(dict.fromkeys(new)))
                done.observations += 1
    return done


def display_name(name: str) -> str:
    """A short name for a ``files`` entry in messages and captions."""
    return name[:12] + "…" + name.rsplit(".", 1)[-1] if is_ref(name) else Path(name).name


def refs_in(records: Iterable[dict[str, Any]]) -> set[str]:
    """Every store reference held by any version of these record documents. (Empty lists are
    passed over before a generator is made for them: a merge looks at ~50k versions, most without.)"""
    out: set[str] = set()
    for doc in records:
        for v in doc.get("versions", ()):
            data = v.get("data")
            if not data:
                continue
            for key in REF_FIELDS:
                files = data.get(key)
                if files:
                    out.update(f for f in files if isinstance(f, str) and is_ref(f))
    return out


def carry(sources: Iterable[str | Path], target: str | Path, records: Iterable[dict[str, Any]]) -> list[str]:
    """Copy the photos ``records`` reference from the stores of the ``sources`` sessions into the
    store of ``target`` (the merge output or a handout copy). A photo is checked against its hash
    on the way, so a damaged copy is never passed on. Returns the references found in no source."""
    wanted = sorted(refs_in(records))
    if not wanted:
        return []
    dest = store_dir(target)
    dirs = [store_dir(s) for s in sources]
    missing = []
    for ref in wanted:
        out = dest / ref
        if out.is_file():
            continue
        for d in dirs:
            src = d / ref
            if src.is_file() and _hash_ok(src, ref):
                dest.mkdir(exist_ok=True)
                _copy(src, out)
                break
        else:
            missing.append(ref)
    return missing


def matches(ref: str, data: bytes) -> bool:
    """Whether ``data`` is the content a store reference names (not damaged, not swapped)."""
    return hashlib.sha256(data).hexdigest() == ref.split(".", 1)[0]


def _hash_ok(path: Path, ref: str) -> bool:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest() == ref.split(".", 1)[0]


def _copy(src: Path, dest: Path) -> None:
    """Hard link when on one disk (content-addressed files never change), else an atomic copy."""
    try:
        os.link(src, dest)
    except FileExistsError:
        return
    except OSError:
        replace_file(dest, src.read_bytes())
        return
    fsync_dir(dest.parent)

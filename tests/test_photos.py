"""Photos: copied into the session's evidence store, carried through merge and handout, printed
scaled, upright and EXIF-free; what cannot be printed is marked and reported."""

from __future__ import annotations

import io
import os
import shutil
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from inspect_tui.cli import main
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind, observation_id
from inspect_tui.core.steps import Step
from inspect_tui.errors import UserError
from inspect_tui.export import fonts
from inspect_tui.export.batch import plan_export
from inspect_tui.export.photos import MAX_PX, scaled_jpeg
from inspect_tui.export.render import RenderReport, render_feedback
from inspect_tui.store.evidence import add, carry, is_ref, locate, store_dir, store_files
from inspect_tui.store.merge_files import handout, merge_files
from inspect_tui.store.session import Session, new_session

needs_pdf = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                               reason="needs a Chinese font and libharfbuzz-subset")
RED, BLUE = (220, 20, 20), (20, 40, 220)
CAMERA = "UniqueCamXYZ-9431"


def upright_picture(size=(800, 600)) -> Image.Image:
    """Blue, with a red top-left quadrant: its orientation can be read back from rendered pixels."""
    w, h = size
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, w // 2, h // 2))
    return im


def phone_jpeg(path: Path, size=(800, 600)) -> Path:
    """As a phone stores a portrait-held shot: pixels rotated, EXIF orientation 6, GPS and camera."""
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    exif[0x010F] = CAMERA
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (31.0, 14.0, 5.5), 3: "E", 4: (121.0, 28.0, 9.25)})
    grain = Image.effect_noise(size, 30).convert("RGB")  # so every run of the file's bytes is its own
    pic = Image.blend(upright_picture(size), grain, 0.12)
    pic.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=92, exif=exif)
    return path


def session(tmp_path: Path, name: str = "visit", inspector: str = "张伟") -> Session:
    return new_session(tmp_path, group="第三观摩小组", day=date(2026, 11, 20), inspector=inspector,
                       checklist=load_default_checklist(), branches=["省财政厅办公室党支部"],
                       path=tmp_path / f"{name}.jsonl")


def attach(s: Session, files: list[str], step: Step = Step.LOOK, note: str = "活动室现场") -> None:
    branch = s.branches()[0].id
    item = s.checklist.items_for(step)[0].id
    s.save(Kind.OBSERVATION, {"branch": branch, "item": item, "step": step.value, "status": "partly",
                              "note": note, "files": files}, observation_id(branch, item, step, s.meta.inspector))


def export_feedback(path: Path) -> tuple[bytes, RenderReport]:
    with Session.open(path) as s:  # writable: the issued feedback gets its number
        (task,), _, _ = plan_export(s, kinds=["feedback"])
    report = RenderReport()
    return render_feedback(task.vm, report=report), report


def pages(pdf: bytes) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].render(scale=1).to_pil().convert("RGB") for i in range(len(doc))]


def colour_box(page: Image.Image, colour: tuple[int, int, int], tol: int = 60):
    """Bounding box of the pixels close to ``colour`` (None when there are none)."""
    bands = [b.point(lambda v, c=c: 255 if abs(v - c) < tol else 0) for b, c in zip(page.split(), colour, strict=True)]
    mask = bands[0]
    for b in bands[1:]:
        mask = Image.composite(b, Image.new("L", b.size, 0), mask)
    return mask.getbbox()


# --- the store ---------------------------------------------------------------------------------

def test_attached_photo_is_copied_by_content_hash_beside_the_session(tmp_path):
    s = session(tmp_path)
    src = phone_jpeg(tmp_path / "IMG_0001.jpg")
    refs = store_files(s.path, f"{src}；{src}")
    (ref,) = refs
    assert is_ref(ref) and ref.endswith(".jpg")
    stored = store_dir(s.path) / ref
    assert stored.parent.name == "visit.files" and stored.read_bytes() == src.read_bytes()
    assert store_files(s.path, [ref]) == [ref]  # a reference already in the store is kept as it is
    s.close()


@pytest.mark.parametrize(("name", "content"), [
    ("notes.png", b"this is a text file, not a photo\n"),
    ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'),
    ("empty.jpg", b""),
    ("IMG_0042.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)),
])
def test_store_refuses_non_images_whatever_the_extension(tmp_path, name, content):
    s = session(tmp_path)
    (tmp_path / name).write_bytes(content)
    good = phone_jpeg(tmp_path / "ok.jpg")
    with pytest.raises(UserError) as info:
        store_files(s.path, [str(good), str(tmp_path / name)])
    assert name in info.value.message and "照片未保存" in info.value.message
    assert not store_dir(s.path).exists() or [p.name for p in store_dir(s.path).iterdir()] != []
    s.close()


def test_truncated_jpeg_is_refused(tmp_path):
    import weasyprint  # noqa: F401 - it makes Pillow lenient with truncated files for the whole process

    s = session(tmp_path)
    data = phone_jpeg(tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.jpg"):
        add(s.path, tmp_path / "cut.jpg")
    s.close()


def test_symlink_content_is_copied_not_the_link(tmp_path):
    s = session(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    real = phone_jpeg(outside / "real.jpg")
    (tmp_path / "photos").mkdir()
    link = tmp_path / "photos" / "link.jpg"
    link.symlink_to(real)
    ref = add(s.path, link)
    stored = store_dir(s.path) / ref
    assert not stored.is_symlink() and stored.read_bytes() == real.read_bytes()
    real.unlink()
    assert locate(s.path, ref) == stored and stored.is_file()
    (tmp_path / "photos" / "secret.jpg").symlink_to("/etc/hostname")
    with pytest.raises(UserError, match="secret.jpg"):
        add(s.path, tmp_path / "photos" / "secret.jpg")
    s.close()


def test_carry_copies_only_good_referenced_photos(tmp_path):
    s = session(tmp_path)
    ref = add(s.path, phone_jpeg(tmp_path / "a.jpg"))
    attach(s, [ref])
    docs = s.file.records()
    s.close()
    other = tmp_path / "out" / "copy.jsonl"
    other.parent.mkdir()
    assert carry([s.path], other, docs) == []
    assert (store_dir(other) / ref).read_bytes() == (store_dir(s.path) / ref).read_bytes()
    (store_dir(other) / ref).unlink()
    (store_dir(s.path) / ref).write_bytes(b"damaged")  # a copy that no longer matches its hash
    assert carry([s.path], other, docs) == [ref]


# --- printing ----------------------------------------------------------------------------------

def test_scaled_jpeg_is_upright_small_and_carries_nothing_of_the_original(tmp_path):
    src = phone_jpeg(tmp_path / "p.jpg", size=(4000, 3000))
    out = scaled_jpeg(src.read_bytes())
    with Image.open(io.BytesIO(out)) as im:
        assert im.size == (MAX_PX, MAX_PX * 3 // 4)  # landscape again: orientation applied
        assert not im.getexif() and "exif" not in im.info and "icc_profile" not in im.info
        assert im.getpixel((10, 10))[0] > 180 and im.getpixel((im.width - 10, 10))[2] > 180


@pytest.mark.parametrize("kind", ["rgba", "la", "palette", "i16", "webp", "cmyk"])
def test_every_kind_of_image_prints_visibly(kind):
    pic = upright_picture((400, 300))
    buf = io.BytesIO()
    if kind == "rgba":
        im = pic.convert("RGBA")
        im.putalpha(Image.new("L", im.size, 200))
        im.save(buf, "PNG")
    elif kind == "la":
        im = pic.convert("LA")
        im.putalpha(Image.new("L", im.size, 255))
        im.save(buf, "PNG")
    elif kind == "palette":
        im = pic.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
        im.info["transparency"] = 0
        im.save(buf, "PNG", transparency=0)
    elif kind == "i16":
        im = Image.linear_gradient("L").resize((400, 300)).convert("I").point(lambda v: v * 257)
        im.convert("I;16").save(buf, "PNG")
    elif kind == "webp":
        pic.save(buf, "WEBP", quality=90)
    else:
        pic.convert("CMYK").save(buf, "JPEG")
    out = Image.open(io.BytesIO(scaled_jpeg(buf.getvalue()))).convert("RGB")
    top_left, bottom_right = out.getpixel((5, 5)), out.getpixel((out.width - 6, out.height - 6))
    assert sum(abs(a - b) for a, b in zip(top_left, bottom_right, strict=True)) > 20, (top_left, bottom_right)
    assert min(top_left + bottom_right) < 200  # not blank white


def test_ten_big_noise_photos_scale_to_a_small_budget(tmp_path):
    from inspect_tui.export.photos import BUDGET_BYTES

    noise = Image.frombytes("RGB", (1000, 750), os.urandom(1000 * 750 * 3)).resize((4000, 3000), Image.NEAREST)
    buf = io.BytesIO()
    noise.save(buf, "JPEG", quality=90)
    out = scaled_jpeg(buf.getvalue())
    assert len(out) <= BUDGET_BYTES and len(buf.getvalue()) > 4 * BUDGET_BYTES


@needs_pdf
def test_feedback_pdf_photo_visible_upright_and_without_exif_or_original_bytes(tmp_path):
    s = session(tmp_path)
    src = phone_jpeg(tmp_path / "IMG_2044.jpg", size=(2400, 1800))
    attach(s, store_files(s.path, [str(src)]))
    s.close()
    pdf, report = export_feedback(s.path)
    assert report.warnings == []
    for marker in (b"Exif", CAMERA.encode(), b"GPS"):
        assert marker not in pdf, marker
    original = src.read_bytes()
    for at in (len(original) // 3, len(original) // 2, 2 * len(original) // 3):
        assert original[at:at + 48] not in pdf  # no run of the original file is embedded
    found = []
    for page in pages(pdf):
        red, blue = colour_box(page, RED), colour_box(page, BLUE)
        if red and blue:
            found.append((red, blue))
    assert found, "the photo is not visible on any page"
    red, blue = found[0]
    left, top, right, bottom = blue
    assert right - left > bottom - top  # landscape, as the phone showed it
    assert red[0] <= left + 3 and red[1] <= top + 3  # red quadrant at the top left: upright
    assert red[2] < (left + right) / 2 + 5 and red[3] < (top + bottom) / 2 + 5


@needs_pdf
def test_ten_12_megapixel_photos_keep_the_feedback_under_3_mb(tmp_path):
    s = session(tmp_path)
    base = Image.frombytes("RGB", (1000, 750), os.urandom(1000 * 750 * 3)).resize((4000, 3000), Image.NEAREST)
    files = []
    for n in range(10):
        im = base.copy()
        im.paste((n * 20, 0, 0), (0, 0, 8, 8))  # ten different photos, ten different hashes
        im.save(tmp_path / f"IMG_{n}.jpg", quality=90)
        files.append(str(tmp_path / f"IMG_{n}.jpg"))
    attach(s, store_files(s.path, files))
    s.close()
    pdf, report = export_feedback(s.path)
    assert report.warnings == [] and len(report.fetched) == 10
    assert len(pdf) < 3 * 1024 * 1024, len(pdf)
    assert sum(os.path.getsize(f) for f in files) > 10 * 1024 * 1024


@needs_pdf
def test_unreadable_or_missing_photos_are_marked_and_reported(tmp_path, capsys):
    s = session(tmp_path)
    good = store_files(s.path, [str(phone_jpeg(tmp_path / "good.jpg"))])
    (tmp_path / "notes.png").write_text("not a photo")
    # as written before the store: paths, one of a file that is not an image, one gone
    legacy = str(phone_jpeg(tmp_path / "legacy.jpg").resolve())  # an absolute path, as stored before the store
    attach(s, [*good, legacy, str(tmp_path / "notes.png"), str(tmp_path / "gone.jpg")])
    s.close()
    assert main(["export", "feedback", str(s.path), "-o", str(tmp_path / "out"), "-q", "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert "警告" in err and "notes.png" in err and "gone.jpg" in err and "legacy.jpg" not in err
    assert len([ln for ln in err.splitlines() if "警告" in ln]) == 2
    (pdf_path,) = (tmp_path / "out").glob("*.pdf")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(str(pdf_path)).pages).replace(" ", "")
    assert "照片缺失/无法读取：notes.png" in text and "照片缺失/无法读取：gone.jpg" in text
    assert "图4" in text and text.count("照片缺失") == 2  # the stored and the legacy photo printed


@needs_pdf
def test_export_by_a_relative_session_path(tmp_path, monkeypatch, capsys):
    s = session(tmp_path)
    attach(s, store_files(s.path, [str(phone_jpeg(tmp_path / "IMG_1.jpg"))]))
    s.close()
    monkeypatch.chdir(tmp_path)
    assert main(["export", "feedback", "visit.jsonl", "-o", "out", "-q", "-j", "1"]) == 0
    assert "警告" not in capsys.readouterr().err


@needs_pdf
def test_moved_session_still_prints_its_photos(tmp_path):
    here = tmp_path / "inspector"
    here.mkdir()
    s = session(here)
    attach(s, store_files(s.path, [str(phone_jpeg(tmp_path / "IMG_1.jpg"))]))
    s.close()
    (tmp_path / "IMG_1.jpg").unlink()  # the original is gone
    there = tmp_path / "leader" / "usb"
    shutil.copytree(here, there)  # the session with its folder, as copied to the leader's laptop
    shutil.rmtree(here)
    pdf, report = export_feedback(there / "visit.jsonl")
    assert report.warnings == [] and len(report.fetched) == 1
    assert any(colour_box(p, RED) for p in pages(pdf))


@needs_pdf
def test_photos_travel_through_merge_and_handout(tmp_path, capsys):
    plan = session(tmp_path, "plan", "组长")
    plan.close()
    copies = []
    for n, who in enumerate(["甲", "乙"]):
        out = tmp_path / who / f"{who}.jsonl"
        out.parent.mkdir()
        handout(plan.path, out, who)
        with Session.open(out) as s:
            attach(s, store_files(s.path, [str(phone_jpeg(tmp_path / f"{who}.jpg", size=(800 + n, 600)))]),
                   step=[Step.LOOK, Step.CHECK][n])
        copies.append(out)
    merged = tmp_path / "leader" / "merged.jsonl"
    merged.parent.mkdir()
    report = merge_files(copies, merged, leader="组长")
    assert report.photos_missing == []
    assert len(list(store_dir(merged).iterdir())) == 2
    pdf, rr = export_feedback(merged)
    assert rr.warnings == [] and len(rr.fetched) == 2
    back = tmp_path / "back" / "甲-2.jsonl"
    back.parent.mkdir()
    handout(merged, back, "甲")
    assert sorted(p.name for p in store_dir(back).iterdir()) == sorted(p.name for p in store_dir(merged).iterdir())
    shutil.rmtree(store_dir(copies[1]))  # 乙 forgot to copy the photo folder
    assert main(["merge", *map(str, copies), "-o", str(tmp_path / "leader" / "m2.jsonl"), "--as", "组长"]) == 0
    assert "1 张照片不在" in capsys.readouterr().err


@needs_pdf
def test_a_swapped_or_linked_store_file_is_not_printed(tmp_path):
    s = session(tmp_path)
    refs = store_files(s.path, [str(phone_jpeg(tmp_path / "a.jpg")), str(phone_jpeg(tmp_path / "b.jpg", (640, 480)))])
    attach(s, refs)
    s.close()
    other = tmp_path / "other.jpg"
    upright_picture((300, 200)).save(other)
    (store_dir(s.path) / refs[0]).write_bytes(other.read_bytes())  # a valid image, but not the one recorded
    (store_dir(s.path) / refs[1]).unlink()
    (store_dir(s.path) / refs[1]).symlink_to(other)  # the store holds files, never links
    _pdf, report = export_feedback(s.path)
    assert len(report.warnings) == 2 and report.fetched == []
    assert "与记录不符" in report.warnings[0] and "文件不在本机" in report.warnings[1]


def test_recover_takes_the_photos_along(tmp_path):
    from inspect_tui.store.integrity import recover

    s = session(tmp_path)
    (ref,) = store_files(s.path, [str(phone_jpeg(tmp_path / "a.jpg"))])
    attach(s, [ref])
    s.close()
    recover(s.path, tmp_path / "saved.jsonl")
    assert (store_dir(tmp_path / "saved.jsonl") / ref).read_bytes() == (store_dir(s.path) / ref).read_bytes()


@needs_pdf
def test_session_photos_moves_old_paths_into_the_store(tmp_path, capsys):
    here = tmp_path / "laptop"
    here.mkdir()
    s = session(here)
    (here / "photos").mkdir()
    absolute = str(phone_jpeg(tmp_path / "IMG_1.jpg").resolve())
    phone_jpeg(here / "photos" / "IMG_2.jpg", (640, 480))
    (here / "photos" / "notes.png").write_text("not a photo")
    attach(s, [absolute, "photos/IMG_2.jpg", "photos/notes.png", "/nowhere/IMG_3.jpg"])
    s.close()
    assert main(["session", "photos", str(s.path)]) == 1  # some entries could not be moved
    out, err = capsys.readouterr()
    assert "已把 2 张照片" in out and "notes.png" in err and "IMG_3.jpg" in err
    with Session.open(s.path, readonly=True) as s2:
        (obs,) = s2.records(s2.branches()[0].id, Kind.OBSERVATION)
        files = obs.data["files"]
    assert [is_ref(f) for f in files] == [True, True, False, False]
    assert main(["session", "photos", str(s.path)]) == 1 and "已把 0 张照片" in capsys.readouterr().out
    moved = tmp_path / "leader"
    shutil.copytree(here, moved)
    shutil.rmtree(here)
    (tmp_path / "IMG_1.jpg").unlink()
    _pdf, report = export_feedback(moved / "visit.jsonl")
    assert len(report.fetched) == 2 and len(report.warnings) == 2

"""Export tests: real PDFs rendered once per module, then read back as a user's tools would.

Text is extracted with pypdf, the QR code is decoded from a rasterised page with zxing-cpp, the
embedded JSON is read with pypdf. Rendering is the slow part (≈0.5 s a document), so the session
and the documents are module-scoped fixtures and each test only reads them.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from pypdf import PdfReader, PdfWriter

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.records import Kind, observation_id
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import join_records
from inspect_tui.errors import UserError
from inspect_tui.export import fonts
from inspect_tui.export.batch import plan_export, run_tasks
from inspect_tui.export.documents import cn_date
from inspect_tui.export.embed import load_notice
from inspect_tui.export.qr import QRPayload
from inspect_tui.export.render import RenderError, RenderReport, render_feedback, render_notice, write_pdf
from inspect_tui.export.verify import read_qr_codes, verify_pdf
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import write_session

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset (see `inspect-tui doctor`)")

HOSTILE_BRANCH = "../../etc/x"
HOSTILE_PROBLEM = '<img src="file:///etc/passwd">会议记录缺少签名'
HOSTILE_EVIDENCE = '<link rel="attachment" href="file:///etc/hostname">见 file:///etc/shadow'
HOSTILE_SUGGESTION = "{{ 7*7 }} 建议{% include '/etc/passwd' %}规范记录"
HOSTILE_REQUIREMENT = "<script>alert(1)</script>补齐台账 http://127.0.0.1:9/x.png"
HOSTILE_HIGHLIGHT = "<b>亮点</b>&amp; 做法"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    return squash("".join(p.extract_text() or "" for p in PdfReader(str(path)).pages))


QUADRANTS = ((200, 30, 30), (30, 160, 40), (30, 40, 200), (230, 220, 40))  # red, green / blue, yellow


def quadrants(size: tuple[int, int] = (3000, 2000)) -> Image.Image:
    """A photo whose four quarters differ, so that a crop, a turn or a mirror image shows."""
    im = Image.new("RGB", size)
    w, h = size
    for n, colour in enumerate(QUADRANTS):
        im.paste(colour, (n % 2 * w // 2, n // 2 * h // 2, (n % 2 + 1) * w // 2, (n // 2 + 1) * h // 2))
    return im


def raw_text(path: Path) -> str:
    """The PDF's text line by line, spaces kept (table cells are separated by one)."""
    return "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)


@pytest.fixture(scope="module")
def session_path(tmp_path_factory) -> Path:
    """A merged two-inspector demo session plus a hostile branch, a branch named CON and a photo."""
    folder = tmp_path_factory.mktemp("visit")
    cl = load_default_checklist()
    copies = generate(cl, branches=3, inspectors=2, seed=11)
    records: dict = {}
    for c in copies:
        records = join_records(records, {d["id"]: d for d in c.records})
    path = folder / "visit.jsonl"
    write_session(path, copies[0].meta.model_dump(mode="json"), list(records.values()), [])

    (folder / "photos").mkdir()
    quadrants().save(folder / "photos" / "活动室-01.jpg", quality=90)
    (folder / "photos" / "evil.jpg").symlink_to("/etc/hostname")
    with Session.open(path) as s:
        me = s.meta.inspector
        first = s.branches()[0]
        item = cl.items()[0]
        s.save(Kind.OBSERVATION, {"branch": first.id, "item": item.id, "step": "look", "status": "partly",
                                  "note": "活动室标识不醒目", "evidence": "",
                                  "files": ["photos/活动室-01.jpg", "photos/evil.jpg", "../../../etc/passwd"]},
               observation_id(first.id, item.id, Step.LOOK, me))
        bad = s.add_branch(HOSTILE_BRANCH, unit="<i>单位</i>")
        s.add_branch("CON")
        pid = s.save(Kind.PROBLEM, {"branch": bad.id, "item": item.id, "text": HOSTILE_PROBLEM,
                                    "evidence": HOSTILE_EVIDENCE}).id
        s.save(Kind.SUGGESTION, {"branch": bad.id, "item": item.id, "text": HOSTILE_SUGGESTION})
        s.save(Kind.HIGHLIGHT, {"branch": bad.id, "text": HOSTILE_HIGHLIGHT})
        s.save(Kind.RECTIFICATION, {"branch": bad.id, "item": item.id, "problem": pid,
                                    "requirement": HOSTILE_REQUIREMENT, "deadline": "2026-12-31",
                                    "responsible": "支部书记<br>"})
    return path


@pytest.fixture(scope="module")
def docs(session_path, tmp_path_factory):
    """Feedback and notice for the first (photo) branch and the hostile branch, rendered in-process."""
    out = tmp_path_factory.mktemp("pdf")
    with Session.open(session_path, readonly=True) as s:
        first, bad = s.branches()[0], next(b for b in s.branches() if b.data["name"] == HOSTILE_BRANCH)
        tasks, skipped, _ = plan_export(s, branches=[first.id, bad.id], draft=True)
        records = {b.id: s.records(b.id) for b in (first, bad)}
    rendered = {}
    for t in tasks:
        report = RenderReport()
        pdf = (render_feedback if t.kind == "feedback" else render_notice)(t.vm, report=report)
        path = out / t.filename
        path.write_bytes(pdf)
        key = ("first" if t.branch_id == first.id else "bad", t.kind)
        rendered[key] = {"path": path, "vm": t.vm, "report": report}
    return {"out": out, "pdf": rendered, "records": records, "first": first, "bad": bad, "skipped": skipped}


# --- content -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["first", "bad"])
def test_feedback_text_has_branch_every_problem_and_suggestion(docs, who):
    text = pdf_text(docs["pdf"][(who, "feedback")]["path"])
    branch = docs[who]
    assert squash(branch.data["name"]) in text
    for r in docs["records"][branch.id]:
        if r.kind in (Kind.PROBLEM, Kind.SUGGESTION):
            assert squash(r.data["text"]) in text, r.data["text"]
    assert "点对点反馈意见" in text and "—1—" in text
    for head in ("一、总体评价", "二、得分情况", "三、亮点与经验做法", "四、存在问题", "五、意见建议"):
        assert head in text
    assert text.index("三、亮点") < text.index("四、存在问题") < text.index("五、意见建议")


@pytest.mark.parametrize("who", ["first", "bad"])
def test_feedback_score_table_prints_the_scoring_results(docs, session_path, who):
    """Every row of 得分情况 and the 合计 row, read back from the PDF, hold the scoring model's numbers."""
    with Session.open(session_path, readonly=True) as s:
        result = s.result(docs[who].id)
    raw = raw_text(docs["pdf"][(who, "feedback")]["path"])
    total = re.search(r"^合计（评定等次：(\S+)） (\S+) (\S+) (\d+) / (\d+)$", raw, re.M)
    assert total, raw
    assert total.groups() == (result.rating.label, fmt_score(result.full_marks), fmt_score(result.total),
                              str(result.scored_items), str(len(result.items)))
    assert result.total != result.full_marks  # the demo branches lose marks: the two columns can be told apart
    for a in result.areas:
        row = re.search(rf"^{re.escape(a.area.title)} (\S+) (\S+) (\d+) / (\d+)$", raw, re.M)
        assert row and row.groups() == (fmt_score(a.full_marks), fmt_score(a.score), str(a.scored_items),
                                        str(len(a.area.items))), a.area.title
    aware = f"{fmt_rate(result.awareness)}（{result.adequate}/{result.asked}）" if result.awareness is not None else "未访谈"
    assert f"应知应会知晓率：{aware}；发现问题 {result.problems} 个。" in raw


@pytest.mark.parametrize("who", ["first", "bad"])
def test_notice_rows_print_each_demands_own_deadline_and_responsible(docs, who):
    """Each row's 整改时限 is the earliest deadline recorded for that demand (not another row's, not the
    overall one), and the page prints it in that row beside its responsible."""
    entry = docs["pdf"][(who, "notice")]
    demands = [r for r in docs["records"][docs[who].id] if r.kind is Kind.RECTIFICATION]
    items = entry["vm"].data["items"]
    for item in items:
        recorded = [str(d.data["deadline"]) for d in demands
                    if squash(d.data["requirement"]) == squash(item["requirement"]) and d.data.get("deadline")]
        assert item["deadline"] == min(recorded), item
    rows = re.findall(r"^(\d{4}年\d{1,2}月\d{1,2}日) (\S+)$", raw_text(entry["path"]), re.M)
    assert [date for date, _ in rows] == [cn_date(i["deadline"]) for i in items]
    assert all(i["responsible"].startswith(who) for (_, who), i in zip(rows, items, strict=True))  # may wrap


@pytest.mark.parametrize("who", ["first", "bad"])
def test_notice_text_has_branch_every_problem_and_requirement(docs, who):
    entry = docs["pdf"][(who, "notice")]
    text = pdf_text(entry["path"])
    branch = docs[who]
    assert squash(branch.data["name"]) in text
    problems = {r.id: r for r in docs["records"][branch.id] if r.kind is Kind.PROBLEM}
    for r in docs["records"][branch.id]:
        if r.kind is Kind.RECTIFICATION:
            assert squash(r.data["requirement"]) in text
            if r.data.get("problem") in problems:
                assert squash(problems[r.data["problem"]].data["text"]) in text
    assert "整改情况反馈表" in text and "征求意见稿" in text


def test_feedback_never_shows_inspectors_or_their_values(docs, session_path):
    with Session.open(session_path, readonly=True) as s:
        inspectors = s.meta.inspectors
        unsettled = s.result(docs["first"].id).unsettled
    assert unsettled  # the demo branch has disagreements: what follows has something to hide
    text = pdf_text(docs["pdf"][("first", "feedback")]["path"])
    assert f"（征求意见稿：尚有{len(unsettled)}项评分待观摩小组最终确定，以上得分为暂计。）" in text
    assert "待裁定" not in text and "观摩员" not in text
    assert not any(name in text for name in inspectors)


def _fonts(path: Path) -> list[dict]:
    found = {}
    for page in PdfReader(str(path)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            desc = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            found[str(font["/BaseFont"])] = desc["/FontDescriptor"].get_object()
    return list(found.values())


@pytest.mark.parametrize("key", [("first", "feedback"), ("first", "notice"), ("bad", "feedback")])
def test_every_font_is_embedded_and_subset(docs, key):
    descriptors = _fonts(docs["pdf"][key]["path"])
    assert descriptors
    for d in descriptors:
        assert any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")), d
        assert re.match(r"/[A-Z]{6}\+", str(d["/FontName"])), "fonts are subset"


def test_missing_glyph_is_an_error_not_a_box():
    with pytest.raises(RenderError, match="U\\+30000"):  # a CJK Extension G character no font here has
        write_pdf("<p>党支部 \U00030000</p>")


def test_photo_embedded_scaled_with_caption(docs):
    path = docs["pdf"][("first", "feedback")]["path"]
    report = docs["pdf"][("first", "feedback")]["report"]
    images = {img.data: img.image for page in PdfReader(str(path)).pages for img in page.images}
    [photo] = images.values()  # one image (pages may share it), decoded from the PDF
    assert photo.size == (1600, 1067)  # the 3000×2000 photo scaled down, its proportions kept
    expected = quadrants(photo.size)
    diff = ImageStat.Stat(ImageChops.difference(photo.convert("RGB"), expected)).mean
    assert max(diff) < 8, diff  # the photo's own pixels, upright and unmirrored (JPEG noise aside)
    text = pdf_text(path)
    assert "图1" in text and "活动室标识不醒目" in text
    assert "照片缺失/无法读取：evil.jpg" in text and "照片缺失/无法读取：passwd" in text
    assert sorted(w.split("：")[1].split("（")[0] for w in report.warnings) == ["evil.jpg", "passwd"]
    assert [Path(p).name for p in report.fetched] == ["活动室-01.jpg"]


# --- injection --------------------------------------------------------------------------------

def test_hostile_notes_are_printed_literally(docs):
    fb = pdf_text(docs["pdf"][("bad", "feedback")]["path"])
    nt = pdf_text(docs["pdf"][("bad", "notice")]["path"])
    for s in (HOSTILE_PROBLEM, HOSTILE_EVIDENCE, HOSTILE_SUGGESTION, HOSTILE_HIGHLIGHT):
        assert squash(s) in fb, s
    assert squash(HOSTILE_REQUIREMENT) in nt and squash("支部书记<br>") in nt
    assert "49" not in fb.replace("2026", "")  # {{ 7*7 }} was not evaluated
    assert "<i>单位</i>" in fb


def test_nothing_outside_allowed_files_is_read(docs):
    for entry in docs["pdf"].values():
        report = entry["report"]
        assert report.refused == []  # user text never became a URL the renderer followed
        assert all(Path(p).name == "活动室-01.jpg" for p in report.fetched)
    for key in (("bad", "feedback"), ("first", "feedback")):
        assert PdfReader(str(docs["pdf"][key]["path"])).attachments == {}


def test_restricted_fetcher_refuses_files_and_network_even_from_a_template(tmp_path):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    Image.new("RGB", (20, 10), (0, 0, 200)).save(tpl / "letterhead.png")
    (tpl / "probe.html").write_text(
        '<html><head><link rel="attachment" href="file:///etc/hostname">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body><p>测试</p>'
        '<img src="file:///etc/passwd"><img src="../../../../etc/hosts"><img src="letterhead.png">'
        '<img src="https://example.com/a.png"></body></html>', encoding="utf-8")
    from inspect_tui.export.render import render_html

    report = RenderReport()
    pdf = write_pdf(render_html("probe.html", {}, tpl), template_dir=tpl, report=report)
    assert PdfReader(io.BytesIO(pdf)).attachments == {}
    refused = " ".join(report.refused)
    for url in ("/etc/hostname", "127.0.0.1:9", "/etc/passwd", "/etc/hosts", "example.com"):
        assert url in refused
    assert [Path(p).name for p in report.fetched] == ["letterhead.png"]


# --- QR, embedded data, verify ---------------------------------------------------------------

def test_qr_decoded_from_rendered_page_equals_payload(docs):
    entry = docs["pdf"][("first", "notice")]
    vm = entry["vm"]
    expected = QRPayload.for_notice(vm.data, vm.sha256)
    assert read_qr_codes(entry["path"]) == [expected.encode()]
    assert QRPayload.decode(expected.encode()) == expected
    assert len(expected.encode()) < 400


def test_embedded_json_round_trips_and_is_pdfa3(docs):
    entry = docs["pdf"][("first", "notice")]
    doc = load_notice(entry["path"])
    assert doc["notice"] == entry["vm"].data
    assert doc["sha256"] == entry["vm"].sha256
    reader = PdfReader(str(entry["path"]))
    assert "/AF" in reader.trailer["/Root"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "pdfaid:part" in xmp and re.search(r"pdfaid:part[^0-9]*3", xmp)


def with_embedded(src, doc, out):
    """A copy of the notice ``src`` whose attached notice.json is replaced by ``doc``."""
    writer = PdfWriter(clone_from=str(src))
    writer._root_object.pop("/Names", None)
    writer._root_object.pop("/AF", None)
    writer.add_attachment("notice.json", json.dumps(doc, ensure_ascii=False).encode())
    writer.write(str(out))
    return out


def test_verify_accepts_genuine_notice(docs, session_path):
    path = docs["pdf"][("first", "notice")]["path"]
    report = verify_pdf(path)
    assert report.ok, report.render()
    with_session = verify_pdf(path, session_path)
    assert with_session.ok and with_session.session_checked, with_session.render()
    assert "与会话记录一致" in with_session.render()


def test_verify_rejects_changed_embedded_data(docs, tmp_path):
    src = docs["pdf"][("first", "notice")]["path"]
    doc = load_notice(src)
    doc["notice"]["items"][0]["deadline"] = "2030-01-01"  # a later deadline, quietly
    forged = with_embedded(src, doc, tmp_path / "forged.pdf")
    report = verify_pdf(forged)
    assert not report.ok
    failed = {c.name for c in report.checks if not c.ok}
    assert "嵌入数据完整" in failed and "二维码与嵌入数据一致" in failed


@pytest.mark.parametrize("bad", ["not-a-date", 20301231, None])
def test_verify_reports_malformed_embedded_data_without_a_traceback(docs, session_path, tmp_path, bad):
    src = docs["pdf"][("first", "notice")]["path"]
    doc = load_notice(src)
    doc["notice"]["items"][0]["deadline"] = bad
    doc["notice"]["branch"] = "not a mapping"
    forged = with_embedded(src, doc, tmp_path / "malformed.pdf")
    report = verify_pdf(forged, session_path)
    assert not report.ok and "页面与数据一致" in {c.name for c in report.checks if not c.ok}


def test_verify_against_changed_session_reports_mismatch(docs, session_path, tmp_path):
    copy = tmp_path / "changed.jsonl"
    shutil.copy(session_path, copy)
    first = docs["first"]
    with Session.open(copy) as s:
        s.save(Kind.RECTIFICATION, {"branch": first.id, "item": None, "requirement": "新增整改要求",
                                    "deadline": "2026-12-01", "responsible": "组织委员"})
    report = verify_pdf(docs["pdf"][("first", "notice")]["path"], copy)
    assert not report.ok
    assert [c.name for c in report.checks if not c.ok] == ["与会话记录一致"]


# --- names, CLI, prerequisites -------------------------------------------------------------------

def test_hostile_and_reserved_branch_names_get_safe_file_names(docs, session_path):
    names = [e["path"].name for e in docs["pdf"].values()]
    assert all("/" not in n and not n.startswith(".") for n in names)
    assert all(e["path"].parent == docs["out"] for e in docs["pdf"].values())
    with Session.open(session_path, readonly=True) as s:
        con = next(b for b in s.branches() if b.data["name"] == "CON")
        tasks, skipped, _ = plan_export(s, branches=[con.id], draft=True)
    assert [t.filename for t in tasks] == ["点对点反馈意见-征求意见稿-_CON.pdf"]
    assert skipped and skipped[0].note  # no problems: no notice


def test_cli_export_one_branch_then_verify(session_path, tmp_path, capsys):
    from inspect_tui.cli import main

    out = tmp_path / "out"
    assert main(["export", "notice", str(session_path), "--branch", HOSTILE_BRANCH, "-o", str(out), "-q"]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["整改通知书-etc_x.pdf"]
    assert not (tmp_path.parent / "etc").exists()
    capsys.readouterr()
    assert main(["verify", str(files[0]), "--session", str(session_path)]) == 0
    assert "结论：通知书与会话记录一致" in capsys.readouterr().out
    assert main(["export", "feedback", str(session_path), "--branch", "没有这个支部", "-o", str(out)]) == 2
    assert "没有这些支部" in capsys.readouterr().err


def test_batch_reports_errors_per_document_without_stopping(docs, tmp_path):
    vm = docs["pdf"][("first", "feedback")]["vm"]
    from inspect_tui.export.batch import ExportTask

    broken = type(vm)(vm.branch_id, vm.branch_name, {**vm.context, "branch": "党支部\U00030000"}, vm.attachments)
    tasks = [ExportTask("feedback", vm.branch_id, "坏", "a.pdf", broken)]
    progress = []
    results = run_tasks(tasks, tmp_path, workers=1, progress=lambda d, t, r: progress.append((d, t)))
    assert progress == [(1, 1)] and results[0].error and "U+30000" in results[0].error
    assert not (tmp_path / "a.pdf").exists()


def test_missing_harfbuzz_subset_gives_install_message(monkeypatch, session_path, tmp_path, capsys):
    monkeypatch.setattr(fonts, "HB_SUBSET_NAMES", ("libharfbuzz-subset-does-not-exist.so.0",))
    assert fonts.harfbuzz_subset_available() is False
    with pytest.raises(UserError) as err:
        fonts.check_pdf_prerequisites()
    assert "libharfbuzz-subset0" in err.value.render()
    from inspect_tui.cli import main

    assert main(["export", "feedback", str(session_path), "-o", str(tmp_path / "o")]) == 2
    assert "libharfbuzz-subset0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_missing_chinese_font_stops_at_once_with_install_message(session_path, tmp_path):
    """A fontconfig configuration with no fonts at all, in a real subprocess."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><cachedir>{tmp_path}/cache</cachedir></fontconfig>')
    env = {"FONTCONFIG_FILE": str(conf), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "inspect_tui", "export", "feedback", str(session_path), "-o",
                           str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "找不到中文字体" in proc.stderr and "fonts-noto-cjk" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_export_session_in_a_process_pool_with_progress(session_path, tmp_path):
    from inspect_tui.export.batch import export_session

    seen = []
    summary = export_session(session_path, tmp_path, kinds=["feedback"], branches=["CON", HOSTILE_BRANCH],
                             workers=2, progress=lambda d, t, r: seen.append((d, t, r.ok)))
    assert summary.workers == 2 and not summary.errors
    assert sorted(seen) == [(1, 2, True), (2, 2, True)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["点对点反馈意见-_CON.pdf", "点对点反馈意见-etc_x.pdf"]


def test_export_package_does_not_import_textual():
    code = ("import sys, inspect_tui.export.batch, inspect_tui.export.verify, inspect_tui.export.render, "
            "inspect_tui.cli.export_cmd; assert not any(m.split('.')[0] == 'textual' for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_template_override_folder(session_path, tmp_path, docs):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "custom.css").write_text("h1 { color: #123456; }", encoding="utf-8")
    (tpl / "notice.html").write_text(
        (Path(__file__).parents[1] / "inspect_tui/export/templates/notice.html").read_text(encoding="utf-8")
        .replace("对你支部开展了", "（某某省直机关工委部署）对你支部开展了"), encoding="utf-8")
    vm = docs["pdf"][("bad", "notice")]["vm"]
    pdf = tmp_path / "n.pdf"
    pdf.write_bytes(render_notice(vm, template_dir=tpl))
    text = pdf_text(pdf)
    assert "某某省直机关工委部署" in text and squash(HOSTILE_REQUIREMENT) in text
    assert verify_pdf(pdf, template_dir=tpl).ok
    other = verify_pdf(pdf)  # rebuilt with the shipped templates: the page differs, and the report says why
    assert not other.ok and "--templates" in other.render()
    with pytest.raises(UserError, match="模板文件夹不存在"):
        render_notice(vm, template_dir=tmp_path / "nope")


def test_verify_on_other_files(docs, tmp_path, capsys):
    from inspect_tui.cli import main

    feedback = docs["pdf"][("first", "feedback")]["path"]
    report = verify_pdf(feedback)
    assert not report.ok and report.checks[0].name == "二维码" and report.verdict == "unverifiable"
    capsys.readouterr()
    assert main(["verify", str(feedback)]) == 4  # a genuine feedback has nothing to verify: not "forged"
    assert "结论：无法核验——文件中既没有本工具的二维码，也没有嵌入数据" in capsys.readouterr().out
    junk = tmp_path / "junk.pdf"
    junk.write_text("not a pdf")
    capsys.readouterr()
    assert main(["verify", str(junk)]) == 2
    assert "无法打开 PDF" in capsys.readouterr().err


def test_group_key_signature(docs, tmp_path, capsys):
    from inspect_tui.cli import main

    key_file = tmp_path / "小组密钥.key"
    key_file.write_text("9f" * 32)
    vm = docs["pdf"][("bad", "notice")]["vm"]
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(render_notice(vm, key=key_file.read_bytes().strip()))
    [text] = read_qr_codes(signed)
    payload = QRPayload.decode(text)
    assert payload.mac and payload.signature_valid(b"9f" * 32) and not payload.signature_valid(b"x" * 32)
    assert main(["verify", str(signed), "--key", str(key_file)]) == 0
    assert "由持有小组密钥者签发" in capsys.readouterr().out
    other = tmp_path / "other.key"
    other.write_text("00" * 32)
    assert main(["verify", str(signed), "--key", str(other)]) == 1
    unsigned = docs["pdf"][("bad", "notice")]["path"]
    assert main(["verify", str(unsigned), "--key", str(key_file)]) == 1
    assert "没有小组签名" in capsys.readouterr().out
    short = tmp_path / "short.key"
    short.write_text("abc")
    assert main(["verify", str(signed), "--key", str(short)]) == 2


_AUDIT: dict = {"on": False, "opened": []}


def _audit(event: str, args: tuple) -> None:
    if _AUDIT["on"] and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _AUDIT["opened"].append(str(args[0]))


def test_rendering_hostile_branch_opens_only_allowed_files(docs, tmp_path):
    """Every file Python opens while rendering (audit hook) is a photo of the branch, a template or
    WeasyPrint's own data; fonts are opened by fontconfig in C, outside the hook's view."""
    sys.addaudithook(_audit)  # hooks cannot be removed: this one only records while the flag is set
    vm = docs["pdf"][("bad", "feedback")]["vm"]
    photo_vm = docs["pdf"][("first", "feedback")]["vm"]
    templates = (Path(__file__).parents[1] / "inspect_tui/export/templates").resolve()
    _AUDIT["opened"].clear()
    _AUDIT["on"] = True
    try:
        render_feedback(vm)
        render_notice(docs["pdf"][("bad", "notice")]["vm"])
        render_feedback(photo_vm)
    finally:
        _AUDIT["on"] = False
    import weasyprint

    renderer = Path(weasyprint.__file__).resolve().parent  # its own data, e.g. the sRGB profile for PDF/A
    allowed = {str(Path(p).resolve()) for p in photo_vm.attachments}
    assert _AUDIT["opened"]
    for path in _AUDIT["opened"]:
        resolved = Path(path).resolve()
        assert str(resolved) in allowed or resolved.is_relative_to(templates) or resolved.is_relative_to(renderer), path

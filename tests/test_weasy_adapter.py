"""The WeasyPrint adapter: SVG labels drawn as whole runs look exactly like WeasyPrint's letter-by-letter
drawing, features that need letters still get it, and importing skips the library search."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader

from inspect_tui.export.render import write_pdf
from inspect_tui.export.weasy import weasyprint

LABELS = """
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 120" width="300pt" height="120pt"
     font-family="'Noto Serif CJK SC', serif">
  <g font-size="9" fill="#111">
    <text x="150" y="15" text-anchor="end">12. 省统计局机关服务中心党支部</text>
    <text x="150" y="30" text-anchor="middle">97.16 优秀</text>
    <text x="10" y="45">得分率 ≥90%</text>
    <text x="150" y="60" text-anchor="middle" dominant-baseline="central">中心</text>
    <text x="290" y="75" text-anchor="end" font-weight="bold">合计 100</text>
  </g>
  <text x="10" y="100" dx="3" font-size="9">错位 dx</text>
  <text x="10 30 50" y="115" font-size="9">逐字</text>
</svg>
"""


def _pixels(pdf: bytes) -> Image.Image:
    page = pdfium.PdfDocument(pdf)[0]
    return page.render(scale=3).to_pil().convert("RGB")


@pytest.fixture
def letter_by_letter():
    """WeasyPrint's own SVG text drawing, for comparison, restored afterwards."""
    weasyprint()
    svg = sys.modules["weasyprint.svg"]
    fast, own = svg.TAGS["text"], sys.modules["weasyprint.svg.text"].text
    assert fast is not own, "the whole-run drawing is installed"

    def use(whole_runs: bool) -> None:
        svg.TAGS["text"] = svg.text = fast if whole_runs else own

    yield use
    use(True)


def test_whole_runs_draw_the_same_pixels_as_letters(letter_by_letter):
    html = f"<html><body>{LABELS}</body></html>"
    letter_by_letter(False)
    theirs = write_pdf(html)
    letter_by_letter(True)
    ours = write_pdf(html)
    assert ours != theirs  # really drawn another way
    diff = ImageChops.difference(_pixels(ours), _pixels(theirs)).convert("L").point(lambda v: 255 if v > 96 else 0)
    box = diff.getbbox()
    assert box is None or sum(1 for v in diff.getdata() if v) < 40, box  # anti-aliasing at most


def test_labels_read_back_as_words():
    text = PdfReader(io.BytesIO(write_pdf(f"<html><body>{LABELS}</body></html>"))).pages[0].extract_text()
    for label in ("省统计局机关服务中心党支部", "97.16 优秀", "得分率 ≥90%", "合计 100", "错位 dx"):
        assert label in text, (label, text)


def test_importing_does_not_search_for_libraries_and_restores_the_search():
    probe = textwrap.dedent("""
        import ctypes.util, subprocess
        search = ctypes.util.find_library
        started = []
        real = subprocess.Popen.__init__
        def counting(self, args, *a, **k):
            started.append(args)
            return real(self, args, *a, **k)
        subprocess.Popen.__init__ = counting
        from inspect_tui.export.weasy import weasyprint
        module = weasyprint()
        assert module.HTML and ctypes.util.find_library is search
        print(len(started))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0", out.stdout + out.stderr

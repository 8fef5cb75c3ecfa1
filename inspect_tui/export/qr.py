"""The QR code on a rectification notice: a short, ASCII payload that identifies the notice and
carries the SHA-256 of its canonical data.

Format (a URI, so a phone scanner shows it as one readable line)::

    inspect-tui:notice?v=2&no=<发文字号, percent-encoded>&s=<visit id>&b=<branch id>&n=6&d=2026-12-20&h=<64 hex>

With a group key (``--key``), ``&k=<key id>&m=<HMAC>`` follow: an HMAC-SHA256 over the unsigned
payload, which only holders of the key can compute. Values are percent-encoded, so the payload stays ASCII whatever the ids contain (QR readers guess
the character set of byte-mode data; ASCII is never guessed wrong). It stays well under the 2,331
bytes a level-M QR code holds: identifiers and a hash, never the notice text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode

import qrcode

SCHEME = "inspect-tui:notice"
PAYLOAD_VERSION = "2"


def parse_payload(text: str, scheme: str, version: str, what: str) -> dict[str, str]:
    """The fields of a ``scheme?k=v&…`` payload of ``version``; ``ValueError`` naming ``what`` when
    it is not one of ours or of another version."""
    prefix, sep, query = text.strip().partition("?")
    if prefix != scheme or not sep:
        raise ValueError(f"不是本工具生成的{what}二维码")
    q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if q.get("v") != version:
        raise ValueError(f"{what}二维码格式版本不受支持：{q.get('v')!r}")
    return q


@dataclass(frozen=True)
class QRPayload:
    notice_no: str  # 发文字号 ("" on a draft)
    session: str
    branch: str
    items: int
    deadline: str  # ISO date, or "" when no deadline was set
    sha256: str
    key_id: str = ""  # with a group key: which key signed (first 8 hex of its SHA-256)
    mac: str = ""  # with a group key: HMAC-SHA256 of the unsigned payload, 32 hex

    def encode(self) -> str:
        fields = {"v": PAYLOAD_VERSION, "no": self.notice_no, "s": self.session, "b": self.branch,
                  "n": str(self.items), "d": self.deadline, "h": self.sha256}
        if self.mac:
            fields |= {"k": self.key_id, "m": self.mac}
        return f"{SCHEME}?{urlencode(fields, quote_via=quote)}"

    def unsigned(self) -> QRPayload:
        return replace(self, key_id="", mac="")

    def signed(self, key: bytes) -> QRPayload:
        """The payload with an HMAC over its unsigned text: only holders of ``key`` can make one."""
        return replace(self, key_id=key_id(key), mac=_mac(key, self.unsigned().encode()))

    def signature_valid(self, key: bytes) -> bool:
        return bool(self.mac) and self.key_id == key_id(key) and hmac.compare_digest(
            self.mac, _mac(key, self.unsigned().encode()))

    @classmethod
    def decode(cls, text: str) -> QRPayload:
        """Parse a payload; ``ValueError`` when it is not one of ours."""
        q = parse_payload(text, SCHEME, PAYLOAD_VERSION, "整改通知书")
        try:
            return cls(notice_no=q["no"], session=q["s"], branch=q["b"], items=int(q["n"]), deadline=q["d"],
                       sha256=q["h"], key_id=q.get("k", ""), mac=q.get("m", ""))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"二维码内容不完整：{exc}") from None

    @classmethod
    def for_notice(cls, data: dict, sha256: str) -> QRPayload:
        return cls(notice_no=data["doc_no"], session=data["visit_id"], branch=data["branch"]["id"],
                   items=len(data["items"]), deadline=data.get("deadline") or "", sha256=sha256)


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def load_key(path: str | Path) -> bytes:
    """A group key file: any secret bytes (e.g. 64 random hex digits); surrounding whitespace ignored."""
    from inspect_tui.errors import file_error, os_reason

    try:
        key = Path(path).expanduser().read_bytes().strip()
    except OSError as exc:
        raise file_error(path, f"无法读取小组密钥文件：{os_reason(exc)}") from None
    if len(key) < 16:
        raise file_error(path, "小组密钥太短（至少 16 个字节）",
                         hint='可用 python -c "import secrets; print(secrets.token_hex(32))" > 小组密钥.key 生成。')
    return key


def qr_png_data_uri(text: str) -> str:
    """The QR code as a ``data:`` URI of a 1-pixel-per-module PNG.

    The template scales it up with ``image-rendering: pixelated`` (the PDF image gets
    ``/Interpolate false``), so it prints with sharp edges at any size. Measured here, this costs
    ~5 ms per PDF where the equivalent SVG path costs ~100 ms of WeasyPrint drawing.
    """
    # A fixed mask: qrcode otherwise scores all 8 masks in pure Python (~60 ms); any mask is valid.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1, mask_pattern=2)
    qr.add_data(text.encode("ascii"))
    qr.make(fit=True)
    image = qr.make_image().get_image().convert("1")
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

"""Official documents in .docx (python-docx): the red header and rule of a 红头文件, Chinese fonts, and
byte-for-byte reproducible files (fixed zip timestamps) — shared by notify's bulletins and the
workbench's 交办单."""

from __future__ import annotations

import io
import zipfile

RED = "C00000"


def run_font(run: object, size: float, bold: bool = False, color: str | None = None, font: str = "仿宋") -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    run.font.name = font  # type: ignore[attr-defined]
    run._element.rPr.rFonts.set(qn("w:eastAsia"), font)  # type: ignore[attr-defined]
    if color:
        run.font.color.rgb = RGBColor.from_string(color)  # type: ignore[attr-defined]


def red_rule(paragraph: object) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p_pr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "18"), ("w:space", "1"), ("w:color", RED)):
        bottom.set(qn(k), v)
    borders.append(bottom)
    p_pr.append(borders)


def normalized_zip(data: bytes) -> bytes:
    """The same entries with fixed timestamps, so equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def docx_text(data: bytes) -> list[str]:
    """Paragraph and table text of a .docx, in order (for checks and previews)."""
    from docx import Document

    doc = Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        lines.extend("|".join(cell.text for cell in row.cells) for row in table.rows)
    return lines

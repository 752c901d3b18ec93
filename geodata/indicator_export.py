"""The indicator table as an Excel workbook (one sheet per level), as handed upward."""

from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Font

from gridmap.display import show

LEVEL_SHEETS = {"street": "街道", "community": "社区", "grid": "网格"}
STATUS_ZH = {"pass": "达标", "fail": "未达标", "no_data": "无数据"}
HEADERS = [
    "指标编号",
    "指标",
    "区域编码",
    "区域",
    "数值",
    "单位",
    "目标",
    "结果",
    "星级",
    "公式",
    "依据",
]


def status_text(row: dict) -> str:
    """The result column of an indicator row in Chinese.

    Parameters
    ----------
    row : dict
        An indicator row (``stars``, ``status``).

    Returns
    -------
    str
        Stars (``3★``, ``未达3★``) or 达标/未达标/无数据.
    """
    if row.get("stars") is not None:
        return f"{row['stars']}★" if row["stars"] else "未达3★"
    status = row.get("status")
    return STATUS_ZH.get(str(status), show(status))


def indicators_xlsx(report: dict) -> bytes:
    """An indicator report as an Excel workbook, one sheet per level, as handed upward.

    Parameters
    ----------
    report : dict
        From :func:`geodata.db.indicators.indicator_report`.

    Returns
    -------
    bytes
        The .xlsx file.
    """
    book = openpyxl.Workbook()
    book.remove(book.active)
    rows = report["indicators"]
    for level, title in LEVEL_SHEETS.items():
        mine = [r for r in rows if r["level"] == level]
        if not mine:
            continue
        sheet = book.create_sheet(title)
        sheet.append(
            [
                f"指标考核 {report['period']['label']}",
                "（归档值）" if report["source"] == "snapshot" else "（实时计算）",
            ]
        )
        sheet.append(HEADERS)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for r in mine:
            sheet.append(
                [
                    r["indicator"],
                    r["name"],
                    r["area"],
                    r["area_name"],
                    r["value"] if r["value"] is not None else "—",
                    r["unit"],
                    r["threshold"],
                    STATUS_ZH.get(r["status"], r["status"]),
                    status_text(r) if r.get("stars") is not None else "",
                    r["formula"],
                    r["source"],
                ]
            )
    if not book.sheetnames:
        book.create_sheet("指标").append(["（无数据）"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

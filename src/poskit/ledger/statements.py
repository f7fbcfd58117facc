"""Merchant statements per period: CSV and PDF (with an embedded CJK TrueType font).

A statement is read from the merchant's payable account: every journal that moved it
in the period (sales, refunds, reversals, fees, holds, dispute refunds, payouts), the
fee lines with their formulas, the opening and closing balances. It also lists the
period's slips still waiting for the cardholder's signature (补签), from the flag the
host stored with each transaction (:mod:`poskit.ledger.unsigned`). Gross, each fee line,
refunds, holds and net are all shown, and the lines add up: opening + movements =
closing.

Portal helper API: :func:`build_statement`, :func:`statement_csv`, :func:`statement_pdf`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from poskit.ledger.balances import merchant_available
from poskit.ledger.directory import MerchantInfo, business_date_of, business_window, merchant_info
from poskit.ledger.negation import undone
from poskit.ledger.unsigned import unsigned_clause
from poskit.money import Amount
from poskit.store.schema import fee_lines, journal_entries, ledger_accounts, ledger_entries, transactions

__all__ = [
    "CJK_FONT_CANDIDATES",
    "SUMMARY_ROWS",
    "CjkFontMissingError",
    "FeeLineRow",
    "Statement",
    "StatementLine",
    "UnsignedSlip",
    "build_statement",
    "find_cjk_font",
    "statement_csv",
    "statement_footer",
    "statement_pdf",
    "statement_zone_note",
    "summary_amounts",
    "summary_gaps",
    "summary_rows",
]

#: TrueType fonts with CJK glyphs (ReportLab embeds TrueType outlines, not CFF/OpenType).
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
)


class CjkFontMissingError(RuntimeError):
    """No TrueType font with Chinese glyphs was found to embed in the PDF."""

    def __init__(self, tried: list[str]) -> None:
        super().__init__(
            "no CJK TrueType font to embed in the PDF statement (tried "
            + ", ".join(tried)
            + "); install one, e.g. `apt-get install fonts-wqy-zenhei`, or set POSKIT_CJK_FONT"
        )
        self.tried = tried


@dataclasses.dataclass(frozen=True, slots=True)
class StatementLine:
    posted_at: datetime
    business_date: str
    category: str  # sale | refund | reversal | periodic_fee | d0_fee | payout | hold | hold_release | ...
    reference: str  # RRN, payout reference or journal key
    description: str
    gross: int  # card amount (issuer settlement movement); 0 for non-card lines
    fee: int  # fee charged (+) or returned (-)
    net: int  # effect on what the merchant is owed


@dataclasses.dataclass(frozen=True, slots=True)
class FeeLineRow:
    charged_at: datetime
    rrn: str | None
    rule: str
    base: int
    amount: int
    formula: str
    schedule_version: int
    status: str  # charged | returned (its journal was reversed)


@dataclasses.dataclass(frozen=True, slots=True)
class UnsignedSlip:
    """A slip of the period that needs the cardholder's signature and has none on file."""

    received_at: datetime
    terminal_id: str
    rrn: str
    txn_type: str
    amount: int
    pan_masked: str


@dataclasses.dataclass(frozen=True)
class Statement:
    merchant: MerchantInfo
    start: date
    end: date
    currency: str
    opening: int
    closing: int
    lines: tuple[StatementLine, ...]
    fee_lines: tuple[FeeLineRow, ...]
    totals: dict[str, int]
    generated_at: datetime
    # unsigned slips lose retrieval requests and chargebacks: the merchant sees them with the money
    unsigned: tuple[UnsignedSlip, ...] = ()

    def money(self, minor: int) -> str:
        return Amount.of(minor, self.currency).grouped()


_CATEGORY = {
    "sale": "sale",
    "completion": "sale",
    "refund": "refund",
    "void": "reversal",
    "completion_void": "reversal",
    "reversal": "reversal",
    "periodic_fee": "periodic_fee",
    "d0_fee": "d0_fee",
    "fee": "fee",
    "payout": "payout",
    "chargeback_hold": "hold",
    "chargeback_release": "hold_release",
    "dispute_refund": "dispute_refund",
}

_TITLES = {
    "sale": "消费 Sale",
    "refund": "退货 Refund",
    "reversal": "冲正/撤销 Reversal/void",
    "periodic_fee": "周期费用 Periodic fee",
    "d0_fee": "D0 手续费 D0 fee",
    "fee": "手续费 Fee",
    "payout": "结算划款 Payout",
    "hold": "争议冻结 Dispute hold",
    "hold_release": "冻结释放 Hold release",
    "dispute_refund": "退还费用 Dispute refund",
    "other": "其他 Other",
}


def _category(kind: str, key: str) -> str:
    if ":negated-by:" in key:
        return "reversal"
    return _CATEGORY.get(kind, "other")


def build_statement(
    conn: Connection, merchant: int | str, start: date, end: date, *, now: datetime | None = None
) -> Statement:
    """The statement of business dates ``start`` .. ``end`` (inclusive) in the acquirer's zone."""
    info = merchant_info(conn, merchant)
    if end < start:
        raise ValueError(f"statement period ends ({end}) before it starts ({start})")
    zone = info.acquirer.timezone
    window_start, _ = business_window(start, zone)
    _, window_end = business_window(end, zone)
    currency = info.currency
    code = f"merchant_payable:{info.merchant_no}:{currency}"
    e, j, a = ledger_entries, journal_entries, ledger_accounts
    account = conn.execute(select(a.c.id).where(a.c.code == code)).scalar()
    mine = select(e.c.journal_id).where(e.c.account_id == account).scalar_subquery()
    query = (
        select(
            j.c.id,
            j.c.idempotency_key,
            j.c.kind,
            j.c.description,
            j.c.posted_at,
            transactions.c.rrn,
            func.sum(case((a.c.code == code, e.c.amount), else_=0)).label("payable"),
            func.sum(case((a.c.code.like("issuer_settlement:%"), e.c.amount), else_=0)).label("gross"),
            func.sum(case((a.c.code.like("acquirer_fee_income:%"), e.c.amount), else_=0)).label("fee"),
        )
        .select_from(
            e.join(j)
            .join(a, a.c.id == e.c.account_id)
            .outerjoin(transactions, transactions.c.id == j.c.transaction_id)
        )
        .where(j.c.id.in_(mine), j.c.posted_at >= window_start, j.c.posted_at < window_end)
        .group_by(j.c.id, j.c.idempotency_key, j.c.kind, j.c.description, j.c.posted_at, transactions.c.rrn)
        .order_by(j.c.posted_at, j.c.id)
    )
    lines = []
    for r in conn.execute(query) if account is not None else []:
        category = _category(r.kind, r.idempotency_key)
        card = r.idempotency_key.startswith("txn:")
        lines.append(
            StatementLine(
                posted_at=r.posted_at,
                business_date=business_date_of(r.posted_at, zone).isoformat(),
                category=category,
                reference=r.rrn or r.idempotency_key,
                description=r.description,
                gross=int(r.gross) if card else 0,
                fee=-int(r.fee),
                net=-int(r.payable),
            )
        )
    fl = fee_lines
    line_journal = journal_entries.alias("line_journal")
    returned = undone(line_journal)
    fee_rows = conn.execute(
        select(fl, transactions.c.rrn, returned.label("returned"))
        .select_from(
            fl.outerjoin(transactions, transactions.c.id == fl.c.transaction_id).outerjoin(
                line_journal, line_journal.c.id == fl.c.journal_id
            )
        )
        .where(fl.c.merchant_id == info.id, fl.c.created_at >= window_start, fl.c.created_at < window_end)
        .order_by(fl.c.created_at, fl.c.id)
    ).mappings()
    fee_list = tuple(
        FeeLineRow(
            r["created_at"],
            r["rrn"],
            r["rule"],
            int(r["base"]),
            int(r["amount"]),
            r["formula"],
            int(r["schedule_version"]),
            "returned" if r["returned"] else "charged",
        )
        for r in fee_rows
    )
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[f"{line.category}_net"] += line.net
        if line.category in ("sale", "reversal", "refund"):
            totals[f"{line.category}_gross"] += line.gross
        if line.category != "dispute_refund":  # a returned fee is its own summary row, not a fee
            totals["fees"] += line.fee
    for fee in fee_list:
        if fee.status == "charged":
            totals[f"fee_{fee.rule}"] += fee.amount
    totals["net_before_payouts"] = sum(line.net for line in lines if line.category != "payout")
    totals["payouts"] = -totals.get("payout_net", 0)
    t = transactions.c
    unsigned = tuple(
        UnsignedSlip(r.received_at, r.terminal_id, r.rrn or "", r.txn_type, int(r.amount), r.pan_masked or "")
        for r in conn.execute(
            select(t.received_at, t.terminal_id, t.rrn, t.txn_type, t.amount, t.pan_masked)
            .where(
                t.merchant_id == info.id,
                t.received_at >= window_start,
                t.received_at < window_end,
                unsigned_clause(),
            )
            .order_by(t.received_at, t.id)
        )
    )
    opening = merchant_available(conn, info.merchant_no, currency, at=window_start)
    closing = merchant_available(conn, info.merchant_no, currency, at=window_end)
    return Statement(
        merchant=info,
        start=start,
        end=end,
        currency=currency,
        opening=opening,
        closing=closing,
        lines=tuple(lines),
        fee_lines=fee_list,
        totals=dict(totals),
        generated_at=now or datetime.now(UTC),
        unsigned=unsigned,
    )


#: The summary's rows, in order, each an English label (the portal translates it) and its key.
SUMMARY_ROWS = (
    ("Opening balance owed", "opening"),
    ("Gross sales", "sale_gross"),
    ("Reversals and voids", "reversal_gross"),
    ("Refunds", "refund_gross"),
    ("Fees (net of fees returned)", "fees"),
    ("Dispute holds", "holds"),
    ("Dispute refunds", "dispute_refund_net"),
    ("Other movements", "other_net"),
    ("Net for the period", "net_before_payouts"),
    ("Paid out", "payouts"),
    ("Closing balance owed", "closing"),
)
#: The rows between the opening balance and the net: they add up to the net.
MOVEMENT_KEYS = (
    "sale_gross",
    "reversal_gross",
    "refund_gross",
    "fees",
    "holds",
    "dispute_refund_net",
    "other_net",
)
_CHINESE = {
    "opening": "期初应付",
    "sale_gross": "消费总额",
    "reversal_gross": "冲正撤销",
    "refund_gross": "退货",
    "fees": "手续费合计",
    "holds": "争议冻结",
    "dispute_refund_net": "退还费用",
    "other_net": "其他变动",
    "net_before_payouts": "本期净额",
    "payouts": "已划款",
    "closing": "期末应付",
}


def summary_amounts(st: Statement) -> dict[str, int]:
    """Each summary row's amount in minor units, by key (signed as the merchant sees it)."""
    t = st.totals
    return {
        "opening": st.opening,
        "sale_gross": t.get("sale_gross", 0),
        "reversal_gross": t.get("reversal_gross", 0),
        "refund_gross": t.get("refund_gross", 0),
        "fees": -t.get("fees", 0),
        "holds": t.get("hold_net", 0) + t.get("hold_release_net", 0),
        "dispute_refund_net": t.get("dispute_refund_net", 0),
        "other_net": t.get("other_net", 0),
        "net_before_payouts": t.get("net_before_payouts", 0),
        "payouts": -t.get("payouts", 0),
        "closing": st.closing,
    }


def summary_rows(st: Statement) -> list[tuple[str, int]]:
    """(English label, minor units) rows; "Other movements" only when there are any."""
    amounts = summary_amounts(st)
    return [(label, amounts[key]) for label, key in SUMMARY_ROWS if key != "other_net" or amounts[key]]


def summary_gaps(st: Statement) -> list[str]:
    """What does not add up: the movements against the net, opening + net - paid out against closing."""
    amounts = summary_amounts(st)
    gaps = []
    movements = sum(amounts[key] for key in MOVEMENT_KEYS)
    if movements != amounts["net_before_payouts"]:
        gaps.append(
            f"summary rows add up to {movements}, net for the period is {amounts['net_before_payouts']}"
        )
    expected = amounts["opening"] + amounts["net_before_payouts"] + amounts["payouts"]
    if expected != amounts["closing"]:
        gaps.append(f"opening + net + paid out is {expected}, closing balance owed is {amounts['closing']}")
    return gaps


def _bilingual_rows(st: Statement) -> list[tuple[str, int]]:
    amounts = summary_amounts(st)
    return [
        (f"{_CHINESE[key]} {label}", amounts[key])
        for label, key in SUMMARY_ROWS
        if key != "other_net" or amounts[key]
    ]


def statement_csv(st: Statement) -> str:
    """The statement as CSV: a summary, every movement, every fee line with its formula."""
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    m = st.merchant
    w.writerow(
        ["statement", m.merchant_no, m.name, m.name_en, st.start.isoformat(), st.end.isoformat(), st.currency]
    )
    w.writerow([])
    w.writerow(["section", "item", "amount"])
    for label, minor in _bilingual_rows(st):
        w.writerow(["summary", label, Amount.of(minor, st.currency).plain()])
    w.writerow([])
    w.writerow(
        [
            "section",
            "posted_at",
            "business_date",
            "category",
            "reference",
            "description",
            "gross",
            "fee",
            "net",
        ]
    )
    for line in st.lines:
        w.writerow(
            [
                "movement",
                line.posted_at.isoformat(),
                line.business_date,
                line.category,
                line.reference,
                line.description,
                Amount.of(line.gross, st.currency).plain(),
                Amount.of(line.fee, st.currency).plain(),
                Amount.of(line.net, st.currency).plain(),
            ]
        )
    w.writerow([])
    w.writerow(
        ["section", "charged_at", "rrn", "rule", "base", "fee", "formula", "schedule_version", "status"]
    )
    for fee in st.fee_lines:
        w.writerow(
            [
                "fee_line",
                fee.charged_at.isoformat(),
                fee.rrn or "",
                fee.rule,
                Amount.of(fee.base, st.currency).plain(),
                Amount.of(fee.amount, st.currency).plain(),
                fee.formula,
                fee.schedule_version,
                fee.status,
            ]
        )
    w.writerow([])
    w.writerow(["section", "received_at", "terminal", "rrn", "type", "card", "amount"])
    for slip in st.unsigned:
        w.writerow(
            [
                "unsigned",
                slip.received_at.isoformat(),
                slip.terminal_id,
                slip.rrn,
                slip.txn_type,
                slip.pan_masked,
                Amount.of(slip.amount, st.currency).plain(),
            ]
        )
    return buffer.getvalue()


def find_cjk_font(explicit: Path | None = None) -> Path:
    """The CJK TrueType font to embed: ``explicit``, ``$POSKIT_CJK_FONT``, or a known system font."""
    tried: list[str] = []
    for candidate in (
        str(explicit) if explicit else None,
        os.environ.get("POSKIT_CJK_FONT"),
        *CJK_FONT_CANDIDATES,
    ):
        if not candidate:
            continue
        tried.append(candidate)
        if Path(candidate).is_file():
            return Path(candidate)
    raise CjkFontMissingError(tried)


_FONT_NAME = "PoskitCJK"


def _register_font(path: Path) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"{_FONT_NAME}-{path.stem}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    return name


def statement_zone_note(m: MerchantInfo) -> str:
    """Which zone the statement's times are in (the merchant's) and, if other, its business days'."""
    if m.local_zone == m.acquirer.timezone:
        return f"时区 time zone {m.local_zone}"
    return f"营业日 business days in {m.acquirer.timezone}; 时间 times in {m.local_zone}"


def statement_footer(st: Statement) -> str:
    """When it was made (the merchant's time, zone named) and whom to ask: the acquirer's support line."""
    m = st.merchant
    made = st.generated_at.astimezone(ZoneInfo(m.local_zone))
    phone = m.acquirer.support_phone
    return (
        f"生成时间 Generated {made:%Y-%m-%d %H:%M} {made.tzname()} · 如有疑问请发起争议或致电客服 "
        "Question a fee? Open a dispute in the portal" + (f" or call {phone}." if phone else ".")
    )


def statement_pdf(st: Statement, *, font_path: Path | None = None) -> bytes:
    """The statement as an A4 landscape PDF; the CJK font is embedded (subset), never substituted."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _register_font(find_cjk_font(font_path))
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10)
    head = ParagraphStyle("head", fontName=font, fontSize=14, leading=18)
    sub = ParagraphStyle("sub", fontName=font, fontSize=10, leading=13)
    m = st.merchant

    def table(rows: list[list[Any]], widths: list[float], numeric: tuple[int, ...] = ()) -> Table:
        tbl = Table(rows, colWidths=widths, repeatRows=1)
        style = [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 7.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        style += [("ALIGN", (col, 1), (col, -1), "RIGHT") for col in numeric]
        tbl.setStyle(TableStyle(style))
        return tbl

    zone = ZoneInfo(m.local_zone)  # times in the merchant's zone; business dates are the acquirer's

    def local(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    money = st.money
    story: list[Any] = [
        Paragraph("商户结算对账单 Merchant statement", head),
        Paragraph(f"{m.name} {m.name_en} · 商户号 Merchant no. {m.merchant_no} · MCC {m.mcc}", sub),
        Paragraph(
            f"期间 Period {st.start.isoformat()} – {st.end.isoformat()} "
            f"({statement_zone_note(m)}) · "
            f"币种 Currency {st.currency} · 收单机构 Acquirer {m.acquirer.name}",
            body,
        ),
        Spacer(1, 4 * mm),
        table(
            [["项目 Item", "金额 Amount"]] + [[label, money(v)] for label, v in _bilingual_rows(st)],
            [110 * mm, 40 * mm],
            (1,),
        ),
        Spacer(1, 4 * mm),
        Paragraph("资金变动 Movements", sub),
    ]
    moves = [
        [
            "时间 Posted",
            "类别 Category",
            "参考号 Reference",
            "说明 Description",
            "交易额 Gross",
            "手续费 Fee",
            "净额 Net",
        ]
    ]
    for line in st.lines:
        moves.append(
            [
                local(line.posted_at),
                _TITLES.get(line.category, line.category),
                Paragraph(line.reference, body),
                Paragraph(line.description, body),
                money(line.gross),
                money(line.fee),
                money(line.net),
            ]
        )
    story.append(table(moves, [28 * mm, 32 * mm, 42 * mm, 95 * mm, 24 * mm, 22 * mm, 24 * mm], (4, 5, 6)))
    story += [
        Spacer(1, 4 * mm),
        Paragraph("手续费明细 Fee lines (每笔费用的计算公式 formula of each fee)", sub),
    ]
    fees = [
        [
            "时间 Charged",
            "参考号 RRN",
            "规则 Rule",
            "基数 Base",
            "费用 Fee",
            "公式 Formula",
            "版本 Version",
            "状态 Status",
        ]
    ]
    for fee in st.fee_lines:
        fees.append(
            [
                local(fee.charged_at),
                fee.rrn or "-",
                fee.rule,
                money(fee.base),
                money(fee.amount),
                Paragraph(fee.formula, body),
                f"v{fee.schedule_version}",
                "已退还 returned" if fee.status == "returned" else "已收 charged",
            ]
        )
    story.append(
        table(fees, [28 * mm, 30 * mm, 30 * mm, 24 * mm, 20 * mm, 85 * mm, 18 * mm, 27 * mm], (3, 4))
    )
    if st.unsigned:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("未签名签购单 Unsigned slips (补签: 请持卡人签名 have the cardholder sign)", sub),
        ]
        slips = [["时间 Time", "终端 Terminal", "参考号 RRN", "类型 Type", "卡号 Card", "金额 Amount"]]
        for slip in st.unsigned:
            slips.append(
                [
                    local(slip.received_at),
                    slip.terminal_id,
                    slip.rrn,
                    slip.txn_type,
                    slip.pan_masked,
                    money(slip.amount),
                ]
            )
        story.append(table(slips, [28 * mm, 24 * mm, 34 * mm, 30 * mm, 42 * mm, 26 * mm], (5,)))
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            statement_footer(st),
            body,
        ),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=f"Statement {m.merchant_no} {st.start.isoformat()} {st.end.isoformat()}",
        author="poskit",
        invariant=1,
    )
    doc.build(story)
    return buffer.getvalue()

"""The dashboard: today and this month at a glance, charts, and terminal health."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from poskit.portal.accounts import PortalUser
from poskit.portal.charts import bar_chart, donut_chart
from poskit.portal.data.dashboard import dashboard
from poskit.portal.data.merchants import merchant_choices
from poskit.portal.i18n import PortalLocale
from poskit.portal.scope import get_merchant, visible_merchants
from poskit.portal.web import (
    MerchantQuery,
    csrf_guard,
    page_user,
    portal_state,
    render,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])


@router.get("/")
def dashboard_page(
    request: Request, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    portal = portal_state(request)
    loc: PortalLocale = request.state.locale
    with portal.read() as conn:
        if merchant is not None:
            get_merchant(conn, user, merchant)  # 404 unless visible
        board = dashboard(
            conn, user, now=portal.clock(), tz=loc.tz, merchant_id=merchant, policy=portal.fleet_policy
        )
        merchants = merchant_choices(visible_merchants(conn, user)) if user.is_acquirer else []
    cur = board.month.currency

    def money_label(v: int) -> str:
        return loc.money(v, cur)

    def axis(v: float) -> str:
        return loc.number(int(v / 100)) if v else "0"

    daily = bar_chart(
        [
            (loc.date(d, "MM-dd") if loc.code == "en" else f"{d.month}/{d.day}", f.volume)
            for d, f in board.days
        ],
        title=loc.gettext("Volume per day, last 30 days"),
        value_label=money_label,
        axis_label=axis,
        label_every=5,
    )
    hourly = bar_chart(
        [(f"{h:02d}", v) for h, v in enumerate(board.hours)],
        title=loc.gettext("Today's volume per hour"),
        value_label=money_label,
        axis_label=axis,
        label_every=3,
        highlight_last=False,
    )
    entry_parts = [(loc.gettext(k), v) for k, v in board.by_entry.items()]
    entries = donut_chart(entry_parts, title=loc.gettext("Payments this month by how the card was read"))
    return render(
        request,
        "dashboard.html",
        {
            "board": board,
            "daily": daily,
            "hourly": hourly,
            "entries": entries,
            "entry_parts": entry_parts,
            "merchants": merchants,
            "merchant": merchant,
        },
    )

"""Server-rendered SVG charts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from poskit.portal.charts import bar_chart, donut_chart, nice_ceiling


@given(st.floats(min_value=0.001, max_value=1e12, allow_nan=False))
def test_nice_ceiling_is_a_round_number_at_least_the_value(value: float) -> None:
    """The axis maximum is >= the data and one of 1, 2, 2.5, 5 times a power of ten."""
    top = nice_ceiling(value)
    assert top >= value * (1 - 1e-12)
    mantissa = top / 10 ** int(f"{top:e}".split("e")[1])
    assert round(mantissa, 6) in (1.0, 2.0, 2.5, 5.0, 10.0)


def test_bar_chart_draws_one_bar_per_point_with_an_accessible_title() -> None:
    """Each point is a <rect> with a tooltip; the SVG says what it shows."""
    svg = bar_chart([("Mon", 100), ("Tue", 0), ("Wed", 250)], title="Volume", value_label=lambda v: f"¥{v}")
    assert svg.count("<rect") == 3 and 'role="img"' in svg and 'aria-label="Volume"' in svg
    assert "<title>Wed: ¥250</title>" in svg and 'class="bar last"' in svg


def test_chart_labels_are_escaped() -> None:
    """A label can never inject markup into the page."""
    svg = bar_chart([("<script>", 1)], title='"><img>', value_label=str)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<img>" not in svg
    donut = donut_chart([("<b>x</b>", 3), ("y", 1)], title="t")
    assert "<b>" not in donut and "75%" in donut


def test_empty_charts_render() -> None:
    """No data still gives a valid chart (zero-height bars, an empty donut)."""
    assert bar_chart([], title="none", value_label=str).startswith("<svg")
    assert "0</text>" in donut_chart([], title="none")

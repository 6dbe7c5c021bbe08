"""Bar charts as plain data for templates/analytics/_bars.html, which draws them as SVG.

Drawn on the server, so a chart costs no script and reads the same to everyone; each
chart's numbers are also in a table beside it (the SVG is one labelled image)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.analytics.queries import JOIN_DELAYS, Funnel, Tally

LABEL_LENGTH = 28  # longer names are cut in the chart (the table has them whole)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str  # shown after the bar: the value, and a rate where one means something
    fraction: float  # of the longest bar, 0..1


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    summary: str  # the image's text alternative, in one sentence

    @property
    def height(self) -> int:
        return 28 * len(self.bars) + 8


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_LENGTH else label[: LABEL_LENGTH - 1] + "…"


def _bars(rows: Sequence[tuple[str, int, str]]) -> tuple[Bar, ...]:
    longest = max((value for _label, value, _note in rows), default=0)
    return tuple(
        Bar(_short(label), value, note, value / longest if longest else 0.0)
        for label, value, note in rows
    )


def funnel(f: Funnel) -> Chart:
    rows = [
        (
            step,
            value,
            f"{value:,}"
            if step == "Sent"
            else f"{value:,} ({percent(value / f.sent if f.sent else None)})",
        )
        for step, value in f.steps
    ]
    return Chart(
        "From invitation to member",
        _bars(rows),
        f"{f.sent:,} sent, {f.delivered:,} delivered, {f.opened:,} opened, {f.joined:,} joined"
        + ("." if f.approved is None else f", {f.approved:,} approved."),
    )


def delays(f: Funnel) -> Chart:
    words = [w for w, _upper in JOIN_DELAYS]
    rows = [(w, n, f"{n:,}") for w, n in zip(words, f.delays, strict=True)]
    summary = ", ".join(f"{n:,} {w.lower()}" for w, n, _note in rows)
    return Chart("Time from invitation to join", _bars(rows), f"Joins: {summary}.")


def tallies(title: str, rows: Sequence[Tally]) -> Chart:
    bars = [(t.label, t.joined, f"{t.joined:,} of {t.sent:,} ({percent(t.rate)})") for t in rows]
    summary = "; ".join(f"{t.label}: {t.joined:,} of {t.sent:,}" for t in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return Chart(title, _bars(bars), f"{summary}{more}." if rows else "No invitations yet.")

"""A server-rendered SVG line chart: on-time compliance per unit per week (no JavaScript, no CDN)."""

from __future__ import annotations

from html import escape

COLOURS = ["#b3261e", "#1e5fb3", "#1e7b3a", "#b26a00", "#6a3fb3", "#2f8f8f", "#8f2f6a", "#555555"]


def week_name(week: str) -> str:
    """A week's label (its first day, 11-03) as people read it: 11月3日起."""
    month, day = week.split("-")
    return f"{int(month)}月{int(day)}日起"


def compliance_svg(weeks: list[str], series: dict[str, list[float | None]], width: int = 720, height: int = 260) -> str:
    """`series`: a label (unit · stage) → compliance % per week (None: nothing was due that week)."""
    left, right, top, bottom = 44, 230, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / max(1, len(weeks) - 1))

    def y(pct: float) -> float:
        return top + plot_h * (1 - pct / 100)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="按时办结率（%）"><rect width="{width}" height="{height}" fill="#fff"/>'
    ]
    for pct in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(pct):.1f}" y2="{y(pct):.1f}" stroke="#e3e6ec"/>'
            f'<text x="{left - 6}" y="{y(pct) + 4:.1f}" font-size="11" text-anchor="end" fill="#5b6475">{pct}%</text>'
        )
    for i, week in enumerate(weeks):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 12}" font-size="11" text-anchor="middle" fill="#5b6475">{escape(week)}</text>'
        )
    for n, (name, values) in enumerate(sorted(series.items())):
        colour = COLOURS[n % len(COLOURS)]
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        run: list[tuple[float, float]] = []
        for i, v in enumerate(values + [None]):  # a week with nothing due breaks the line: no invented trend
            if v is not None:
                run.append((x(i), y(v)))
                continue
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in run)}"/>'
                )
            run = []
        parts.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>' for a, b in points)
        parts.append(
            f'<rect x="{left + plot_w + 14}" y="{top + n * 18}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + plot_w + 28}" y="{top + n * 18 + 9}" font-size="11" fill="#1d2330">{escape(name[:20])}</text>'
        )
    if not series:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" font-size="13" text-anchor="middle" fill="#5b6475">这段时间没有到期的任务</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

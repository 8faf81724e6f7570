"""Server-rendered SVG bar charts for the admin's report pages: no JavaScript, no CDN, no
library; the numbers are the report's own."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 880
LABEL_WIDTH = 220
VALUE_WIDTH = 110
BAR_HEIGHT = 20
GAP = 6
COLOR = "#417690"  # the admin's own blue


def bar_chart(title: str, bars: list[tuple[str, Decimal | int | float, str]]) -> SafeString:
    """Horizontal bars: (label, value, value as shown). Empty when there is nothing to draw."""
    if not bars:
        return mark_safe("")
    top = max((Decimal(str(value)) for _, value, _ in bars), default=Decimal(0))
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = 30 + len(bars) * (BAR_HEIGHT + GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold" fill="currentColor">{escape(title)}</text>',
    ]
    for n, (label, value, shown) in enumerate(bars):
        y = 30 + n * (BAR_HEIGHT + GAP)
        length = 0 if not top else int(Decimal(str(value)) / top * span)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" font-size="12" text-anchor="end" fill="currentColor">'
            f"{escape(label[:34])}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{max(length, 1)}" height="{BAR_HEIGHT}" fill="{COLOR}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text x="{LABEL_WIDTH + max(length, 1) + 6}" y="{y + 15}" font-size="12" fill="currentColor">'
            f"{escape(shown)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))

"""Each report as CSV (API.md: `?format=csv` or `Accept: text/csv`, with a header row): the
table a spreadsheet wants, one line per row, money as the same decimal strings as the JSON."""

from __future__ import annotations

import csv
import io

from rest_framework.renderers import BaseRenderer

SALES_COLUMNS = ["key", "label", "count", "list_price", "discount", "net"]
COUPON_COLUMNS = ["coupon_id", "code", "uses", "discount_given", "bonus_credits_given", "uses_left"]
ATTENDANCE_COLUMNS = [
    "key",
    "label",
    "sessions",
    "capacity",
    "bookings",
    "check_ins",
    "no_shows",
    "late_cancels",
    "fill_rate",
]


def _write(header: list[str], lines) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow(["" if value is None else value for value in line])
    return buffer.getvalue()


def sales_csv(report: dict) -> str:
    """The rows, then a `total` line and a `cancelled` line (shown apart, as in the JSON)."""
    lines = [[row[c] for c in SALES_COLUMNS] for row in report["rows"]]
    t = report["totals"]
    lines.append(["total", "Total", t["count"], t["list_price"], t["discount"], t["net"]])
    c = report["cancelled"]
    lines.append(["cancelled", "Cancelled (not in the total)", c["count"], "", "", c["net"]])
    return _write(SALES_COLUMNS, lines)


def credits_csv(report: dict) -> str:
    """One line per figure: what it is, credits, value."""
    lines = [
        ["outstanding", report["outstanding_credits"], report["outstanding_value"]],
        [
            "expiring_within_30_days",
            report["expiring_within_30_days"]["credits"],
            report["expiring_within_30_days"]["value"],
        ],
        ["expired_in_range", report["expired_in_range"]["credits"], report["expired_in_range"]["value"]],
    ]
    return _write(["figure", "credits", "value"], lines)


def coupons_csv(report: dict) -> str:
    return _write(COUPON_COLUMNS, ([row[c] for c in COUPON_COLUMNS] for row in report["rows"]))


def attendance_csv(report: dict) -> str:
    return _write(ATTENDANCE_COLUMNS, ([row[c] for c in ATTENDANCE_COLUMNS] for row in report["rows"]))


class CsvRenderer(BaseRenderer):
    """Renders the CSV text a report view made; picked by `?format=csv` or `Accept: text/csv`."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode(self.charset) if isinstance(data, str) else b""

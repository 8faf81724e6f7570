"""The four staff reports (DOMAIN.md 17, API.md "Reports"). Each is a handful of aggregate
queries whose number does not grow with the rows; the grouping happens in the database."""

from reports_app.selectors.attendance import ATTENDANCE_GROUPS, attendance_report
from reports_app.selectors.common import MAX_RANGE_DAYS, Period, money
from reports_app.selectors.coupons import coupons_report
from reports_app.selectors.credits import credits_report
from reports_app.selectors.sales import SALES_GROUPS, sales_report

__all__ = [
    "ATTENDANCE_GROUPS",
    "MAX_RANGE_DAYS",
    "SALES_GROUPS",
    "Period",
    "attendance_report",
    "coupons_report",
    "credits_report",
    "money",
    "sales_report",
]

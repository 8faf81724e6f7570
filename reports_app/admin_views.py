"""The admin's Reports pages (DOMAIN.md 17): per report a date-range picker, the table, an SVG
chart and a CSV download, for the studio's ADMINs. They call the same selectors as the API."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from rest_framework.exceptions import ValidationError

from members_app.admin_base import ADMIN, orgs_with_role
from members_app.models import Organization
from reports_app import csv_export
from reports_app.api import parse_period
from reports_app.charts import bar_chart
from reports_app.selectors import (
    ATTENDANCE_GROUPS,
    SALES_GROUPS,
    attendance_report,
    coupons_report,
    credits_report,
    sales_report,
)

REPORTS = {
    "sales": "Sales",
    "credits": "Outstanding credits",
    "coupons": "Coupons",
    "attendance": "Attendance",
}


def admin_organizations(request) -> list[Organization]:
    """The studios whose reports this person may read: ADMIN there (a superuser: every studio)."""
    if request.user.is_active and request.user.is_superuser:
        return list(Organization.objects.order_by("name"))
    return list(Organization.objects.filter(pk__in=orgs_with_role(request, {ADMIN})).order_by("name"))


def _organization(request) -> tuple[Organization, list[Organization]]:
    organizations = admin_organizations(request)
    if not organizations:
        raise PermissionDenied
    slug = request.GET.get("organization")
    if slug:
        for organization in organizations:
            if organization.slug == slug:
                return organization, organizations
        raise Http404("No such studio.")
    return organizations[0], organizations


def _sales(report: dict) -> tuple[list[str], list[list], list, object]:
    header = ["Period / group", "Sold", "List price", "Discount", "Net"]
    rows = [[r["label"], r["count"], r["list_price"], r["discount"], r["net"]] for r in report["rows"]]
    t, c = report["totals"], report["cancelled"]
    footer = [
        ["Total", t["count"], t["list_price"], t["discount"], t["net"]],
        ["Cancelled (not in the total)", c["count"], "", "", c["net"]],
    ]
    chart = bar_chart(f"Net sales ({report['currency']})", [(r["label"], r["net"], r["net"]) for r in report["rows"]])
    return header, rows, footer, chart


def _credits(report: dict):
    header = ["", "Credits", f"Value ({report['currency']})"]
    rows = [
        ["Outstanding now", report["outstanding_credits"], report["outstanding_value"]],
        [
            "Expiring within 30 days",
            report["expiring_within_30_days"]["credits"],
            report["expiring_within_30_days"]["value"],
        ],
        ["Expired in the range", report["expired_in_range"]["credits"], report["expired_in_range"]["value"]],
    ]
    chart = bar_chart(f"Value ({report['currency']})", [(r[0], r[2], r[2]) for r in rows])
    return header, rows, [], chart


def _coupons(report: dict):
    header = ["Code", "Uses", f"Discount given ({report['currency']})", "Bonus credits given", "Uses left"]
    rows = [
        [
            r["code"],
            r["uses"],
            r["discount_given"],
            r["bonus_credits_given"],
            "unlimited" if r["uses_left"] is None else r["uses_left"],
        ]
        for r in report["rows"]
    ]
    chart = bar_chart("Uses in the range", [(r["code"], r["uses"], str(r["uses"])) for r in report["rows"]])
    return header, rows, [], chart


def _attendance(report: dict):
    header = ["Group", "Sessions", "Capacity", "Bookings", "Check-ins", "No-shows", "Late cancels", "Fill rate %"]
    rows = [
        [
            r["label"],
            r["sessions"],
            r["capacity"],
            r["bookings"],
            r["check_ins"],
            r["no_shows"],
            r["late_cancels"],
            r["fill_rate"],
        ]
        for r in report["rows"]
    ]
    chart = bar_chart("Fill rate %", [(r["label"], r["fill_rate"], f"{r['fill_rate']} %") for r in report["rows"]])
    return header, rows, [], chart


def report_view(request, name: str):
    if name not in REPORTS:
        raise Http404("No such report.")
    organization, organizations = _organization(request)
    groups = {"sales": SALES_GROUPS, "attendance": ATTENDANCE_GROUPS}.get(name)
    errors = {}
    try:
        period, group_by = parse_period(organization, request.GET, group_choices=groups)
    except ValidationError as exc:
        errors = exc.detail
        period, group_by = parse_period(organization, {}, group_choices=groups)
    if name == "sales":
        report, to_csv, table = sales_report(period=period, group_by=group_by), csv_export.sales_csv, _sales
    elif name == "credits":
        report, to_csv, table = credits_report(period=period), csv_export.credits_csv, _credits
    elif name == "coupons":
        report, to_csv, table = coupons_report(period=period), csv_export.coupons_csv, _coupons
    else:
        report, to_csv, table = (
            attendance_report(period=period, group_by=group_by),
            csv_export.attendance_csv,
            _attendance,
        )
    if request.GET.get("format") == "csv" and not errors:
        response = HttpResponse(to_csv(report), content_type="text/csv; charset=utf-8")
        filename = f"{name}-{organization.slug}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    header, rows, footer, chart = table(report)
    query = request.GET.copy()
    query["format"] = "csv"
    query["from"], query["to"] = period.first.isoformat(), period.last.isoformat()
    query["organization"] = organization.slug
    if group_by:
        query["group_by"] = group_by
    context = {
        **admin.site.each_context(request),
        "title": f"{REPORTS[name]} · {organization.name}",
        "reports": REPORTS,
        "current": name,
        "organization": organization,
        "organizations": organizations,
        "period": period,
        "group_by": group_by,
        "groups": groups or (),
        "errors": errors,
        "report": report,
        "header": header,
        "rows": rows,
        "footer": footer,
        "chart": chart,
        "csv_query": query.urlencode(),
    }
    return TemplateResponse(request, "admin/reports/report.html", context)


def reports_index(request):
    organization, organizations = _organization(request)
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "reports": REPORTS,
        "organization": organization,
        "organizations": organizations,
    }
    return TemplateResponse(request, "admin/reports/index.html", context)

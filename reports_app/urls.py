from django.urls import re_path

from reports_app import api

urlpatterns = [
    re_path(r"^reports/sales/?$", api.SalesReportView.as_view(), name="report-sales"),
    re_path(r"^reports/credits/?$", api.CreditsReportView.as_view(), name="report-credits"),
    re_path(r"^reports/coupons/?$", api.CouponsReportView.as_view(), name="report-coupons"),
    re_path(r"^reports/attendance/?$", api.AttendanceReportView.as_view(), name="report-attendance"),
]

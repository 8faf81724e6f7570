"""/admin/reports/...: wrapped in the admin site's own login and staff check."""

from django.contrib import admin
from django.urls import path

from reports_app import admin_views

urlpatterns = [
    path("", admin.site.admin_view(admin_views.reports_index), name="reports-index"),
    path("<slug:name>/", admin.site.admin_view(admin_views.report_view), name="reports-report"),
]

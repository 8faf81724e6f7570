"""What every admin screen of the project inherits so that bad input is never a 500 (API.md;
issue 8 item 7). `members_app.admin_base.TenantScopedAdmin` and the User admin include it; a
test walks the admin registry and fails on a screen of ours without it.

- A list filter value the database cannot use (`?created_at__year=99999999999`, a day past the
  calendar, a malformed id) shows the list unfiltered with a message, the way Django treats a
  filter it cannot apply (`?e=1`), instead of failing while the page counts its rows.
- A service refusing a delete or an action (`DomainError`, e.g. `package_in_use`) becomes an
  error message on the page instead of a 500; the service's transaction wrote nothing.

(A NUL character in a filter, a search or a form is refused before any view by
`spinning.middleware.RequestInputMiddleware`.)
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.shortcuts import redirect

from spinning.errors import DomainError

#: what a filter value the database cannot use raises while the list is counted
BAD_FILTER_ERRORS = (ValidationError, ValueError, OverflowError, TypeError, DataError)


def refusal_message(exc: DomainError) -> str:
    detail = f"{exc.detail} {exc.fields}" if exc.fields else exc.detail
    return f"{detail} ({exc.code})"


class SafeAdminMixin:
    def get_changelist_instance(self, request):
        try:
            # A savepoint, so a value the database refused leaves the connection usable.
            with transaction.atomic():
                return super().get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.warning(request, "A filter value was not valid: the list is shown unfiltered.")
            raise
        except BAD_FILTER_ERRORS as exc:
            messages.warning(request, "A filter value was not valid: the list is shown unfiltered.")
            raise IncorrectLookupParameters(exc) from exc

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except DomainError as exc:  # an action refused by a service
            messages.error(request, f"Refused: {refusal_message(exc)}")
            return redirect(request.get_full_path())

    def _delete_view(self, request, object_id, extra_context):
        try:
            return super()._delete_view(request, object_id, extra_context)
        except DomainError as exc:  # e.g. package_in_use: a coupon names the package
            messages.error(request, f"Not deleted: {refusal_message(exc)}")
            opts = self.opts
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", object_id)

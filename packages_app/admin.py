"""Admin for studio staff (issue 3, item 8), scoped to the staff user's studio by role.

Catalog screens (packages, coupons) are ADMIN-only; redemptions and the "sell a package" form are
for ADMIN and FRONT_DESK. Every write goes through packages_app.services, the same code the API
calls; the forms only call the services' validation functions to show errors in place.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members_app.admin_base import ADMIN, FRONT_DESK, StaffScopedAdmin, TenantScopedAdmin, orgs_with_role
from members_app.idempotency import IdempotencyRequest, IdempotentReplay, request_hash
from members_app.models import IdempotencyRecord, Member
from packages_app import services
from packages_app.models import BENEFITS, Coupon, Package, Redemption
from packages_app.pricing import package_pricing
from packages_app.selectors import package_list_public
from packages_app.services.catalog import COUPON_FIELDS, PACKAGE_FIELDS
from spinning import clock
from spinning.errors import DomainError


def _show_errors(form: forms.Form, errors: dict, rename: dict | None = None) -> None:
    rename = rename or {}
    for field, messages_ in errors.items():
        name = rename.get(field, field)
        for message in messages_:
            form.add_error(name if name in form.fields else None, message)


class ServiceWritesMixin:
    """The admin wraps add/change/delete views in a transaction; our services open their own
    durable one (they own their transaction and locks), so these views run without the wrapper."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._delete_view(request, object_id, extra_context)


# --- packages -------------------------------------------------------------------------------------
class PackageAdminForm(forms.ModelForm):
    benefits = forms.MultipleChoiceField(
        choices=[(b, b.replace("_", " ")) for b in BENEFITS], widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Package
        fields = ["organization", *PACKAGE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        candidate = Package(**{f: cleaned.get(f, getattr(self.instance, f)) for f in PACKAGE_FIELDS})
        candidate.benefits = list(cleaned.get("benefits") or [])
        _show_errors(self, services.package_errors(candidate))
        return cleaned


@admin.register(Package)
class PackageAdmin(ServiceWritesMixin, TenantScopedAdmin):
    form = PackageAdminForm
    # Fits a 1,366 px laptop (issue 12 item 7): what it gives in one column (the type is a filter,
    # the list is in display order), the discount as a %.
    list_display = ["code", "name", "price", "gives", "price_per_credit", "discount_percentage", "is_active"]
    list_filter = ["type", "is_active", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name", "name_tr"]
    list_select_related = ["organization"]
    ordering = ["organization", "display_order", "name"]
    actions = ["activate", "deactivate"]

    def _pricing(self, obj):
        return package_pricing(package=obj, credit_price=obj.organization.credit_price)

    @admin.display(description="Per credit")
    def price_per_credit(self, obj):
        return self._pricing(obj).price_per_credit

    @admin.display(description=gettext_lazy("Gives"))
    def gives(self, obj):
        if obj.type == Package.Type.ALL_ACCESS:
            return ngettext("%(n)d day", "%(n)d days", obj.all_access_days or 0) % {"n": obj.all_access_days or 0}
        return ngettext("%(n)d credit", "%(n)d credits", obj.credits or 0) % {"n": obj.credits or 0}

    @admin.display(description="Discount %")
    def discount_percentage(self, obj):
        return self._pricing(obj).discount_percentage

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in PACKAGE_FIELDS if f in form.cleaned_data}
        data["benefits"] = list(data.get("benefits") or [])
        if change:
            saved = services.package_update(
                organization=obj.organization, package_id=obj.pk, data=data, performed_by=request.user
            )
        else:
            saved = services.package_create(
                organization=form.cleaned_data["organization"], data=data, performed_by=request.user
            )
        obj.__dict__.update(saved.__dict__)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.redemptions.exists():
            return False  # a redeemed package is deactivated, never deleted
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.package_delete(organization=obj.organization, package_id=obj.pk, performed_by=request.user)

    def delete_queryset(self, request, queryset):
        for package in queryset.select_related("organization"):
            try:
                services.package_delete(
                    organization=package.organization, package_id=package.pk, performed_by=request.user
                )
            except DomainError as exc:
                messages.error(request, f"{package.code}: {exc.detail}")

    def _set_active(self, request, queryset, active: bool):
        for package in queryset.select_related("organization"):
            services.package_update(
                organization=package.organization,
                package_id=package.pk,
                data={"is_active": active},
                performed_by=request.user,
            )
        messages.success(request, f"{queryset.count()} package(s) {'activated' if active else 'deactivated'}.")

    @admin.action(description="Activate selected packages")
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate selected packages")
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)


# --- coupons --------------------------------------------------------------------------------------
class CouponAdminForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = ["organization", *COUPON_FIELDS, "applicable_packages"]

    def clean(self):
        cleaned = super().clean()
        candidate = Coupon(**{f: cleaned.get(f, getattr(self.instance, f)) for f in COUPON_FIELDS if f != "package"})
        candidate.package = cleaned.get("package")
        candidate.times_redeemed = self.instance.times_redeemed or 0
        applicable = list(cleaned.get("applicable_packages") or [])
        organization = cleaned.get("organization")
        if organization is not None:
            if any(p.organization_id != organization.pk for p in applicable) or (
                candidate.package is not None and candidate.package.organization_id != organization.pk
            ):
                self.add_error(None, "Packages must belong to the coupon's studio.")
        _show_errors(
            self,
            services.coupon_errors(candidate, applicable),
            rename={"package_id": "package", "applicable_package_ids": "applicable_packages"},
        )
        return cleaned


@admin.register(Coupon)
class CouponAdmin(ServiceWritesMixin, TenantScopedAdmin):
    form = CouponAdminForm
    # Fits a 1,366 px laptop (issue 12 item 7): the type is in the offer's words, the dates in one.
    list_display = ["code", "name", "offer", "times_redeemed", "remaining_uses", "valid", "is_active"]
    list_filter = [
        "coupon_type",
        "is_active",
        "first_purchase_only",
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["code", "name", "name_tr"]
    readonly_fields = ["times_redeemed"]
    filter_horizontal = ["applicable_packages"]
    list_select_related = ["package", "organization"]
    actions = ["activate", "deactivate"]

    @admin.display(description="Offer")
    def offer(self, obj):
        if obj.coupon_type == Coupon.Type.DISCOUNT:
            if obj.discount_type == Coupon.DiscountType.PERCENTAGE:
                return f"{obj.discount_value.normalize():f} % off"
            return f"{obj.discount_value} off"
        if obj.coupon_type == Coupon.Type.PACKAGE:
            parts = [obj.package.code if obj.package else "?"]
            if obj.custom_price is not None:
                parts.append(f"for {obj.custom_price}")
            if obj.custom_credits:
                parts.append(f"{obj.custom_credits} credits")
            return " ".join(parts)
        return f"+{obj.bonus_credits} credits"

    @admin.display(description=gettext_lazy("Valid"))
    def valid(self, obj):
        zone = ZoneInfo(obj.organization.timezone)
        first = f"{obj.valid_from.astimezone(zone):%d.%m.%Y}" if obj.valid_from else ""
        last = f"{obj.valid_until.astimezone(zone):%d.%m.%Y}" if obj.valid_until else ""
        return f"{first} – {last}" if first or last else gettext_lazy("always")

    @admin.display(description="Remaining uses")
    def remaining_uses(self, obj):
        if obj.max_redemptions is None:
            return "unlimited"
        return max(obj.max_redemptions - obj.times_redeemed, 0)

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in COUPON_FIELDS if f in form.cleaned_data and f != "package"}
        data["package_id"] = form.cleaned_data["package"].pk if form.cleaned_data.get("package") else None
        data["applicable_package_ids"] = [p.pk for p in form.cleaned_data.get("applicable_packages") or []]
        if change:
            saved = services.coupon_update(
                organization=obj.organization, coupon_id=obj.pk, data=data, performed_by=request.user
            )
        else:
            saved = services.coupon_create(
                organization=form.cleaned_data["organization"], data=data, performed_by=request.user
            )
        obj.__dict__.update(saved.__dict__)

    def save_related(self, request, form, formsets, change):
        # applicable_packages were set by the service; only inlines (none) would remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.times_redeemed or obj.redemptions.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.coupon_delete(organization=obj.organization, coupon_id=obj.pk, performed_by=request.user)

    def delete_queryset(self, request, queryset):
        for coupon in queryset.select_related("organization"):
            try:
                services.coupon_delete(organization=coupon.organization, coupon_id=coupon.pk, performed_by=request.user)
            except DomainError as exc:
                messages.error(request, f"{coupon.code}: {exc.detail}")

    def _set_active(self, request, queryset, active: bool):
        for coupon in queryset.select_related("organization"):
            services.coupon_update(
                organization=coupon.organization,
                coupon_id=coupon.pk,
                data={"is_active": active},
                performed_by=request.user,
            )
        messages.success(request, f"{queryset.count()} coupon(s) {'activated' if active else 'deactivated'}.")

    @admin.action(description="Activate selected coupons")
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate selected coupons")
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)


# --- redemptions and the sale form ---------------------------------------------------------------------
class SellForm(forms.Form):
    package = forms.ModelChoiceField(queryset=Package.objects.none())
    coupon_code = forms.CharField(max_length=64, required=False)
    payment_method = forms.ChoiceField(choices=Redemption.PaymentMethod.choices)
    payment_reference = forms.CharField(max_length=200, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    starts_on = forms.DateField(
        required=False,
        help_text="All Access only: a later first day (studio time). Empty: today, or after the current pass.",
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    quoted_final_price = forms.DecimalField(widget=forms.HiddenInput, required=False, decimal_places=2)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"].queryset = package_list_public(organization=organization, now=clock.now())

    def sale_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "package_id": str(data["package"].pk),
            "coupon_code": (data.get("coupon_code") or "").strip(),
            "payment_method": data["payment_method"],
            "payment_reference": data.get("payment_reference") or "",
            "notes": data.get("notes") or "",
            "starts_on": data["starts_on"].isoformat() if data.get("starts_on") else None,
        }


@admin.register(Redemption)
class RedemptionAdmin(StaffScopedAdmin):
    # Fits a 1,366 px laptop (issue 12 item 7): names not "name <email>", codes not "code · name",
    # credits with their bonus in one column; the redemption type stays a filter.
    list_display = [
        "when",
        "member_name",
        "package_code",
        "coupon",
        "status",
        "final_price",
        "credits",
        "payment_method",
    ]
    list_filter = [
        "status",
        "redemption_type",
        ("package", admin.RelatedOnlyFieldListFilter),
        ("coupon", admin.RelatedOnlyFieldListFilter),
        "redeemed_at",
        "payment_method",
    ]
    date_hierarchy = "redeemed_at"
    search_fields = ["member__user__email", "member__first_name", "member__last_name", "payment_reference"]
    list_select_related = ["member__user", "package", "coupon", "organization"]
    actions = ["confirm_selected", "reject_selected", "cancel_selected"]
    allow_add = False
    allow_delete = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.display(description=gettext_lazy("Bought"), ordering="redeemed_at")
    def when(self, obj):
        return f"{obj.redeemed_at.astimezone(ZoneInfo(obj.organization.timezone)):%d.%m.%Y %H:%M}"

    @admin.display(description=gettext_lazy("Member"), ordering="member__last_name")
    def member_name(self, obj):
        return obj.member.full_name

    @admin.display(description=gettext_lazy("Package"), ordering="package__code")
    def package_code(self, obj):
        return obj.package.code

    @admin.display(description=gettext_lazy("Credits"))
    def credits(self, obj):
        return f"{obj.credits_added} + {obj.bonus_credits}" if obj.bonus_credits else obj.credits_added

    def has_change_permission(self, request, obj=None):
        # Rows change only through the actions (services); the form is read-only.
        return super().has_change_permission(request, obj)

    def _run(self, request, queryset, service, verb: str):
        done = 0
        for redemption in queryset.select_related("organization", "package", "member"):
            try:
                service(organization=redemption.organization, redemption_id=redemption.pk, performed_by=request.user)
                done += 1
            except DomainError as exc:  # words, never the code or an id (issue 12 item 7)
                messages.error(request, f"{redemption.package.name} for {redemption.member.full_name}: {exc.detail}")
        if done:
            messages.success(request, f"{verb} {done} redemption(s).")

    @admin.action(description="Confirm selected (PENDING -> ACTIVE, grant now)")
    def confirm_selected(self, request, queryset):
        self._run(request, queryset, services.redemption_confirm, "Confirmed")

    @admin.action(description="Reject selected (PENDING -> CANCELLED)")
    def reject_selected(self, request, queryset):
        self._run(request, queryset, services.redemption_reject, "Rejected")

    @admin.action(description="Cancel and refund selected (ACTIVE -> CANCELLED)…")
    def cancel_selected(self, request, queryset):
        """Two steps, like Django's delete: a page showing what each cancel takes (the service's
        dry run: credits, All Access days, the bookings with their dates), then the cancel."""
        redemptions = list(queryset.select_related("organization", "package", "member__user").order_by("pk"))
        reason = request.POST.get("reason", "")[:500]
        if request.POST.get("confirm_cancel") == "yes":
            done = 0
            for redemption in redemptions:
                try:
                    services.redemption_cancel(
                        organization=redemption.organization,
                        redemption_id=redemption.pk,
                        performed_by=request.user,
                        reason=reason,
                    )
                    done += 1
                except DomainError as exc:
                    messages.error(
                        request, f"{redemption.package.name} for {redemption.member.full_name}: {exc.detail}"
                    )
            if done:
                messages.success(request, f"Cancelled {done} redemption(s).")
            return None
        previews = [self._cancel_preview(redemption) for redemption in redemptions]
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel and refund: what it takes",
            "opts": self.model._meta,
            "previews": previews,
            "can_cancel": any(p["effects"] is not None for p in previews),
            "selected": [str(r.pk) for r in redemptions],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/packages_app/redemption/cancel_confirmation.html", context)

    def _cancel_preview(self, redemption: Redemption) -> dict:
        try:
            outcome = services.redemption_cancel(
                organization=redemption.organization, redemption_id=redemption.pk, performed_by=None, dry_run=True
            )
        except DomainError as exc:
            return {"redemption": redemption, "effects": None, "error": str(exc.detail), "bookings": []}
        return {
            "redemption": redemption,
            "effects": outcome.effects,
            "error": "",
            "bookings": [
                (booking, booking.starts_at.astimezone(ZoneInfo(redemption.organization.timezone)))
                for booking in outcome.effects.bookings_cancelled
            ],
        }

    def get_urls(self):
        return [
            path(
                "<uuid:redemption_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="packages_app_redemption_decide",
            ),
            path(
                "<uuid:redemption_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="packages_app_redemption_cancel",
            ),
            path(
                "sell/<uuid:member_id>/",
                self.admin_site.admin_view(self.sell_view),
                name="packages_app_redemption_sell",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A member's request waiting for payment opens as the decision page (issue 12 item 5)."""
        obj = self.get_object(request, object_id)
        if obj is not None and obj.status == Redemption.Status.PENDING and self.has_change_permission(request, obj):
            return redirect("admin:packages_app_redemption_decide", redemption_id=obj.pk)
        return super().change_view(request, object_id, form_url, extra_context)

    def decide_view(self, request, redemption_id):
        """Confirm (with the payment's reference and a note) or reject a PENDING request; the page
        shows what confirming grants, not every field of the row."""
        redemption = (
            self.get_queryset(request)
            .filter(pk=redemption_id)
            .select_related("member__user", "package", "coupon", "organization")
            .first()
        )
        if redemption is None or not self.has_change_permission(request, redemption):
            messages.error(request, "No such purchase request.")
            return redirect("admin:packages_app_redemption_changelist")
        organization = redemption.organization
        name, package = redemption.member.full_name, redemption.package.name
        if request.method == "POST" and redemption.status == Redemption.Status.PENDING:
            note = request.POST.get("note", "").strip()
            try:
                if "_confirm" in request.POST:
                    services.redemption_confirm(
                        organization=organization,
                        redemption_id=redemption.pk,
                        performed_by=request.user,
                        payment_reference=request.POST.get("payment_reference", "").strip(),
                        notes=note,
                    )
                    messages.success(request, f"{package} confirmed for {name}; it is theirs now.")
                elif "_reject" in request.POST:
                    services.redemption_reject(
                        organization=organization, redemption_id=redemption.pk, performed_by=request.user, reason=note
                    )
                    messages.success(request, f"{name}'s request for {package} rejected.")
                else:
                    return redirect("admin:packages_app_redemption_decide", redemption_id=redemption.pk)
            except DomainError as exc:
                messages.error(request, f"Not done: {exc.detail}")
                return redirect("admin:packages_app_redemption_decide", redemption_id=redemption.pk)
            return redirect("admin:members_app_member_change", redemption.member_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Purchase request: {package} for {name}",
            "redemption": redemption,
            "requested_local": redemption.redeemed_at.astimezone(ZoneInfo(organization.timezone)),
            "opts": self.model._meta,
            "original": redemption,
        }
        return TemplateResponse(request, "admin/packages_app/redemption/decide.html", context)

    def cancel_view(self, request, redemption_id):
        """Cancel one redemption from the member's page: first what it takes (the service's dry
        run: credits, All Access days, the bookings it paid for), then the cancel with a reason."""
        redemption = (
            self.get_queryset(request)
            .filter(pk=redemption_id)
            .select_related("member__user", "package", "organization")
            .first()
        )
        if redemption is None or not self.has_change_permission(request, redemption):
            messages.error(request, _("No such package."))
            return redirect("admin:packages_app_redemption_changelist")
        name, package = redemption.member.full_name, redemption.package.name
        if request.method == "POST" and request.POST.get("confirm_cancel") == "yes":
            try:
                outcome = services.redemption_cancel(
                    organization=redemption.organization,
                    redemption_id=redemption.pk,
                    performed_by=request.user,
                    reason=request.POST.get("reason", "").strip()[:500],
                )
            except DomainError as exc:
                messages.error(request, _("Not cancelled: %(why)s") % {"why": exc.detail})
            else:
                effects = outcome.effects
                taken = [
                    ngettext("%(n)d credit removed", "%(n)d credits removed", effects.credits_removed)
                    % {"n": effects.credits_removed}
                ]
                if effects.all_access_days_removed:
                    taken.append(
                        ngettext(
                            "%(n)d All Access day removed",
                            "%(n)d All Access days removed",
                            effects.all_access_days_removed,
                        )
                        % {"n": effects.all_access_days_removed}
                    )
                bookings = len(effects.bookings_cancelled)
                taken.append(
                    ngettext("%(n)d booking cancelled", "%(n)d bookings cancelled", bookings) % {"n": bookings}
                )
                messages.success(
                    request,
                    _("%(package)s of %(name)s cancelled: %(taken)s.")
                    % {"package": package, "name": name, "taken": ", ".join(taken)},
                )
            return redirect("admin:members_app_member_change", redemption.member_id)
        preview = self._cancel_preview(redemption)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel %(package)s of %(name)s: what it takes") % {"package": package, "name": name},
            "opts": self.model._meta,
            "previews": [preview],
            "can_cancel": preview["effects"] is not None,
            "single": True,
            "back_url": reverse("admin:members_app_member_change", args=[redemption.member_id]),
        }
        return TemplateResponse(request, "admin/packages_app/redemption/cancel_confirmation.html", context)

    def _member_for_sale(self, request, member_id) -> Member | None:
        members = Member.objects.select_related("user", "organization")
        if not request.user.is_superuser:
            members = members.filter(organization__in=orgs_with_role(request, {ADMIN, FRONT_DESK}))
        return members.filter(pk=member_id).first()

    def sell_view(self, request, member_id):
        """Sell a package to a member in two steps: Preview (the quote, nothing saved) -> Confirm."""
        member = self._member_for_sale(request, member_id)
        if member is None:
            messages.error(request, "No such member.")
            return redirect("admin:members_app_member_changelist")
        organization = member.organization
        token = request.POST.get("token") if "_confirm" in request.POST else None
        if token:
            done = (
                IdempotencyRecord.objects.filter(
                    organization=organization, user=request.user, scope="admin-sell", key=token
                )
                .values_list("resource_id", flat=True)
                .first()
            )
            if done:
                messages.info(request, "This sale was already recorded.")
                return redirect(reverse("admin:packages_app_redemption_change", args=[done]))
        form = SellForm(request.POST or None, organization=organization)
        quote = None
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                quote = services.package_quote(
                    organization=organization,
                    package_id=form.cleaned_data["package"].pk,
                    coupon_code=form.cleaned_data.get("coupon_code") or None,
                    member=member,
                )
            except DomainError as exc:
                problems.append(str(exc.detail))
            if quote is not None and "_confirm" in request.POST:
                response = self._confirm_sale(request, form, member, quote, problems)
                if response is not None:
                    return response
            if quote is not None:
                # Show the quote with the figures it was made of and a token, so Confirm is one
                # sale however often it is pressed, and a changed price is noticed.
                data = form.data.copy()
                data["quoted_final_price"] = f"{quote.final_price:.2f}"
                data["token"] = form.cleaned_data.get("token") or uuid.uuid4().hex
                form = SellForm(data, organization=organization)
                form.is_valid()
            for problem in problems:
                form.add_error(None, problem)
            if problems:
                quote = quote if "_confirm" in request.POST else None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Sell a package to {member}",
            "member": member,
            "form": form,
            "quote": quote,
            # the kind of deal in words ("Coupon bonus credits"), not the code (issue 12 item 7)
            "quote_kind": dict(Redemption.Type.choices).get(getattr(quote, "redemption_type", None), ""),
            "opts": self.model._meta,
            "member_opts": Member._meta,
        }
        return TemplateResponse(request, "admin/packages_app/redemption/sell.html", context)

    def _confirm_sale(self, request, form, member, quote, problems: list):
        expected = form.cleaned_data.get("quoted_final_price")
        if expected is None or Decimal(expected) != quote.final_price:
            problems.append("The price changed since the preview; check the quote and confirm again.")
            return None
        fields = form.sale_fields()
        token = form.cleaned_data.get("token") or uuid.uuid4().hex
        idem = IdempotencyRequest(
            user_id=request.user.pk, scope="admin-sell", key=token, request_hash=request_hash(fields)
        )
        try:
            redemption = services.redemption_create(
                organization=member.organization,
                package_id=form.cleaned_data["package"].pk,
                member_id=member.pk,
                by_staff=True,
                performed_by=request.user,
                coupon_code=fields["coupon_code"] or None,
                payment_method=fields["payment_method"],
                payment_reference=fields["payment_reference"],
                notes=fields["notes"],
                starts_on=form.cleaned_data.get("starts_on"),
                idem=idem,
            )
        except IdempotentReplay as replay:
            messages.info(request, "This sale was already recorded.")
            return redirect(reverse("admin:packages_app_redemption_change", args=[replay.resource_id]))
        except DomainError as exc:
            problems.append(str(exc.detail))
            return None
        messages.success(
            request,
            format_html(
                "Sold {} to {} for {} {}.", redemption.package.code, member, redemption.final_price, redemption.currency
            ),
        )
        return redirect(reverse("admin:members_app_member_change", args=[member.pk]))

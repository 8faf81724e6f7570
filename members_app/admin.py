from datetime import timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

from members_app import selectors, services
from members_app.admin_base import PersonByEmailForm, StaffScopedAdmin, TenantScopedAdmin, orgs_with_role
from members_app.audit_admin import AuditLogEntryAdmin
from members_app.models import (
    AuditLogEntry,
    CreditLot,
    CreditPriceChange,
    CreditTransaction,
    Member,
    Organization,
    StaffRole,
    User,
)
from spinning import clock
from spinning.admin_safety import SafeAdminMixin
from spinning.errors import DomainError


@admin.register(User)
class UserAdmin(SafeAdminMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ()
    list_filter = ["is_staff", "is_superuser", "is_active"]

    def has_module_permission(self, request):
        return request.user.is_superuser


@admin.register(Organization)
class OrganizationAdmin(TenantScopedAdmin):
    organization_field = "pk"
    list_display = ["name", "slug", "timezone", "currency", "credit_price", "booking_window_days"]
    search_fields = ["name", "slug"]
    allow_delete = False
    saves_through_service = True

    def _org_id_of(self, obj):
        return obj.pk

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=orgs_with_role(request, self.view_roles | self.write_roles))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        if change:  # through the service: the price history and the audit log
            services.organization_update(
                organization=obj,
                data={f: form.cleaned_data[f] for f in form.changed_data},
                changed_by=request.user,
                reason="Changed in the admin",
            )
            return
        super().save_model(request, obj, form, change)


@admin.register(CreditPriceChange)
class CreditPriceChangeAdmin(TenantScopedAdmin):
    list_display = [
        "organization",
        "credit_price_before",
        "credit_price_after",
        "currency",
        "changed_by",
        "reason",
        "created_at",
    ]
    allow_add = False
    allow_delete = False

    def has_change_permission(self, request, obj=None):
        return False


class StaffRoleForm(PersonByEmailForm):
    """A role is given to one of the studio's own members or staff, picked by email."""

    class Meta:
        model = StaffRole
        fields = ["organization", "role"]


@admin.register(StaffRole)
class StaffRoleAdmin(TenantScopedAdmin):
    form = StaffRoleForm
    list_display = ["user", "role", "organization"]
    list_filter = ["role"]
    search_fields = ["user__email"]
    saves_through_service = True

    def get_fields(self, request, obj=None):
        return ["organization", "person_email", "role"] if obj is None else ["organization", "user", "role"]

    def get_readonly_fields(self, request, obj=None):
        # A role belongs to one person in one studio: change the role, not whose it is.
        return ["organization", "user"] if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            services.staff_role_set(
                organization=obj.organization, user=obj.user, role=obj.role, granted_by=request.user
            )
        except DomainError as exc:  # the form checked it already: only a forged or racing POST
            raise PermissionDenied(exc.detail) from None

    def delete_view(self, request, object_id, extra_context=None):
        # staff_role_remove owns its durable transaction (and writes the audit entry in it)
        try:
            return self._delete_view(request, object_id, extra_context)
        except DomainError as exc:  # e.g. the studio's last ADMIN
            messages.error(request, str(exc.detail))
            return redirect(request.get_full_path())

    def delete_model(self, request, obj):
        services.staff_role_remove(staff_role=obj, removed_by=request.user)

    def delete_queryset(self, request, queryset):
        for staff_role in queryset:
            try:
                services.staff_role_remove(staff_role=staff_role, removed_by=request.user)
            except DomainError as exc:
                messages.error(request, f"{staff_role.user.email}: {exc.detail}")


class CreditAdjustmentForm(forms.Form):
    amount = forms.IntegerField(help_text="Positive adds credits (a new lot); negative deducts.")
    reason = forms.CharField(max_length=500)
    # A day, not an instant: the credits last to the end of that studio-local day (issue 12 item 6).
    # The browser's date picker sends 2026-12-31; typed Turkish style 31.12.2026 is accepted too.
    expires_at = forms.DateField(
        required=False,
        label="Expires on",
        input_formats=["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Only for added credits: the last day they can be used (e.g. 31.12.2026); empty = never expires.",
        error_messages={"invalid": "Enter a day, e.g. 31.12.2026."},
    )


class MemberReadOnlyInline(admin.TabularInline):
    """Read-only rows of a member, shown to whoever may view the member: the studio role
    decides (admin_base), not Django's per-model permissions, which studio staff do not hold."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(self.parent_model).has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CreditLotInline(MemberReadOnlyInline):
    model = CreditLot
    fields = ["source", "credits_granted", "remaining", "expires_at", "expired_at", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at"]


class MemberAddForm(forms.ModelForm):
    """Add a member by email. Whether or not the email already has an account, the studio gets a
    member record with what staff typed; an existing account is never shown or changed here."""

    email = forms.EmailField()
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Optional: lets the member log in to the app."
    )

    class Meta:
        model = Member
        fields = ["organization", "phone", "language"]

    def clean(self):
        cleaned = super().clean()
        organization, email = cleaned.get("organization"), cleaned.get("email")
        if (
            organization
            and email
            and Member.objects.filter(organization=organization, user__email__iexact=email).exists()
        ):
            raise forms.ValidationError(gettext_lazy("This person is already a member of this studio."))
        return cleaned


#: rows of the member page's ledger and messages (newest first); the full lists are a link away
LEDGER_SHOWN = 15
MESSAGES_SHOWN = 10


def member_summary(member: Member) -> dict:
    """What the member page shows above the form (issue 12 item 4): the balance and passes, the
    newest ledger rows and messages in the studio's time. Packages and bookings are rendered by
    their own apps' template tags (this app may not import them)."""
    zone = ZoneInfo(member.organization.timezone)
    ledger = list(
        CreditTransaction.objects.filter(organization_id=member.organization_id, member=member)
        .select_related("performed_by", "lot")
        .order_by("-seq")[:LEDGER_SHOWN]
    )
    for row in ledger:
        row.local_at = row.created_at.astimezone(zone)
    notifications = list(selectors.member_notifications(member)[:MESSAGES_SHOWN])
    for message in notifications:
        message.local_at = message.created_at.astimezone(zone)
    return {
        "ledger": ledger,
        "ledger_total": member.ledger_seq,
        "ledger_shown": LEDGER_SHOWN,
        "notifications": notifications,
        "messages_shown": MESSAGES_SHOWN,
        # valid to the end of a day = until the next local midnight: show that last day
        "all_access_last_day": (member.all_access_expires_at.astimezone(zone) - timedelta(microseconds=1)).date()
        if member.has_all_access and member.all_access_expires_at
        else None,
    }


@admin.register(Member)
class MemberAdmin(StaffScopedAdmin):
    # Fits a 1,366 px laptop (issue 12 item 7): the studio is a filter (staff work in one), the
    # join day is short.
    list_display = ["full_name", "email", "status", "credits", "elite", "all_access", "joined"]
    # Only the studios in the staff user's own rows: a plain filter would list every studio.
    list_filter = ["status", "is_elite_member", "has_all_access", ("organization", admin.RelatedOnlyFieldListFilter)]
    # Searched through `member_search` (get_search_results): Turkish letters match loosely.
    search_fields = ["last_name"]
    search_help_text = "Name, email or phone; yilmaz finds Yılmaz."
    list_select_related = ["user", "organization"]
    readonly_fields = [
        "credit_balance",
        "is_elite_member",
        "has_all_access",
        "all_access_expires_at",
        "friend_passes_available",
        "created_at",
    ]
    fields = ["organization", "user", "first_name", "last_name", "phone", "language", "status", *readonly_fields]
    # The ledger is on the page's summary (newest rows in words, a link to all of them).
    inlines = [CreditLotInline]
    allow_delete = False
    saves_through_service = True
    change_form_template = "admin/members_app/member/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # A member's studio and person are fixed: their lots and ledger belong to that studio.
        if obj is not None:
            return ["organization", "user", *self.readonly_fields]
        return self.readonly_fields

    add_fields = ["organization", "email", "first_name", "last_name", "phone", "language", "password"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = MemberAddForm
            kwargs["fields"] = self.add_fields
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.add_fields
        return super().get_fields(request, obj)

    def get_search_results(self, request, queryset, search_term):
        return selectors.member_search(queryset, search_term), False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:  # only when the page is drawn, for the member it shows
            context.update(member_summary(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            data = form.cleaned_data
            member = services.member_create(
                organization=data["organization"],
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data.get("phone") or "",
                language=data.get("language") or None,
                password=data.get("password") or None,
                performed_by=request.user,
            )
            obj.pk, obj.user, obj.created_at = member.pk, member.user, member.created_at
            obj._state.adding = False
            return
        # Through the service: it locks the member and writes only these fields, so a save never
        # puts back a balance that a booking changed meanwhile.
        services.member_update(
            organization=obj.organization,
            member_id=obj.pk,
            data={field: form.cleaned_data[field] for field in (*services.PERSON_FIELDS, "status")},
            performed_by=request.user,
        )

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, obj):
        return obj.full_name

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj):
        return obj.user.email

    @admin.display(description="Credits", ordering="credit_balance")
    def credits(self, obj):
        return obj.credit_balance

    @admin.display(description="Elite", boolean=True, ordering="is_elite_member")
    def elite(self, obj):
        return obj.is_elite_member

    @admin.display(description="All Access", boolean=True, ordering="has_all_access")
    def all_access(self, obj):
        return obj.has_all_access

    @admin.display(description="Joined", ordering="created_at")
    def joined(self, obj):
        return f"{obj.created_at.astimezone(ZoneInfo(obj.organization.timezone)):%d.%m.%Y}"

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<uuid:member_id>/credit-adjustment/",
                self.admin_site.admin_view(self.credit_adjustment_view),
                name="members_app_member_credit_adjustment",
            ),
            *super().get_urls(),
        ]

    def credit_adjustment_view(self, request, member_id):
        from django.template.response import TemplateResponse

        member = self.get_queryset(request).filter(pk=member_id).first()
        if member is None or not self.has_change_permission(request, member):
            messages.error(request, "No such member.")
            return redirect("admin:members_app_member_changelist")
        form = CreditAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                txn = services.credit_adjustment_create(
                    organization=member.organization,
                    member_id=member.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    expires_at=clock.end_of_local_day(form.cleaned_data["expires_at"], member.organization.timezone)
                    if form.cleaned_data["expires_at"]
                    else None,
                    performed_by=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, f"{txn.get_type_display()} {txn.amount:+d}: balance now {txn.balance_after}.")
                return redirect(reverse("admin:members_app_member_change", args=[member.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust credits: {member}",
            "member": member,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members_app/member/credit_adjustment.html", context)


@admin.register(CreditLot)
class CreditLotAdmin(StaffScopedAdmin):
    # Fits a 1,366 px laptop (issue 12 item 7): names, what is left of what was given, days.
    list_display = ["member_name", "source", "left", "expires", "created"]
    list_filter = ["source"]
    search_fields = ["member__last_name"]  # searched through member_search (get_search_results)
    search_help_text = "Member's name, email or phone; yilmaz finds Yılmaz."
    list_select_related = ["member__user", "organization"]
    allow_add = False
    allow_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        return selectors.member_search(queryset, search_term, path="member__"), False

    @admin.display(description="Member", ordering="member__last_name")
    def member_name(self, obj):
        return obj.member.full_name

    @admin.display(description="When", ordering="created_at")
    def when(self, obj):
        return f"{obj.created_at.astimezone(ZoneInfo(obj.organization.timezone)):%d.%m.%Y %H:%M}"

    @admin.display(description="By")
    def by(self, obj):
        return (obj.performed_by.get_full_name() or obj.performed_by.email) if obj.performed_by else ""

    @admin.display(description="Left", ordering="remaining")
    def left(self, obj):
        return f"{obj.remaining} / {obj.credits_granted}"

    @admin.display(description="Expires", ordering="expires_at")
    def expires(self, obj):
        if obj.expires_at is None:
            return "never"
        last_day = (obj.expires_at.astimezone(ZoneInfo(obj.organization.timezone)) - timedelta(microseconds=1)).date()
        return f"{'expired' if obj.expired_at else 'end of'} {last_day:%d.%m.%Y}"

    @admin.display(description="Given", ordering="created_at")
    def created(self, obj):
        return f"{obj.created_at.astimezone(ZoneInfo(obj.organization.timezone)):%d.%m.%Y}"


@admin.register(CreditTransaction)
class CreditTransactionAdmin(StaffScopedAdmin):
    """The ledger is append-only: read-only here; corrections are new rows (credit adjustment)."""

    # Fits a 1,366 px laptop (issue 12 item 7): the member's name, the balance after the change.
    list_display = ["when", "member_name", "type", "amount", "balance_after", "description", "by"]
    list_filter = ["type", "created_at"]
    search_fields = ["description"]  # and the member, through member_search (get_search_results)
    search_help_text = "Member's name, email or phone (yilmaz finds Yılmaz), or words of the description."
    list_select_related = ["member__user", "performed_by", "organization"]
    date_hierarchy = "created_at"
    allow_add = False
    allow_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}

    @admin.display(description="Member", ordering="member__last_name")
    def member_name(self, obj):
        return obj.member.full_name

    @admin.display(description="When", ordering="created_at")
    def when(self, obj):
        return f"{obj.created_at.astimezone(ZoneInfo(obj.organization.timezone)):%d.%m.%Y %H:%M}"

    @admin.display(description="By")
    def by(self, obj):
        return (obj.performed_by.get_full_name() or obj.performed_by.email) if obj.performed_by else ""

    def get_search_results(self, request, queryset, search_term):
        by_description, _ = super().get_search_results(request, queryset, search_term)
        by_member = selectors.member_search(queryset, search_term, path="member__")
        return by_member | by_description, False


admin.site.register(AuditLogEntry, AuditLogEntryAdmin)

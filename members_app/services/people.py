"""People across studios (DOMAIN.md 1): joining, being added by staff, what a studio holds of a
person (names, phone, language on the member record), staff roles."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from members_app.audit import changes_between, log_action, snapshot
from members_app.errors import EmailTaken, LastAdmin, MemberExists
from members_app.models import Member, Notification, Organization, StaffRole, User
from members_app.notifications import notify
from members_app.services.ledger import member_lock
from spinning import locking
from spinning.errors import Invalid


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise Invalid({"password": exc.messages}) from None


PERSON_FIELDS = ("first_name", "last_name", "phone", "language")


def member_register(
    *,
    organization: Organization,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    phone: str = "",
    language: str | None = None,
) -> Member:
    """A person joins a studio as an ACTIVE member.

    A new email creates the person's account (with the names they typed: the account is theirs).
    An email that already has an account joins this studio only with that account's password
    (`email_taken` otherwise), so nobody can claim another's login; the account itself (password,
    names) is left as it is. Either way the names and phone go on this studio's member record.
    """
    email = User.objects.normalize_email(email).lower()
    with transaction.atomic(durable=True):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            _check_password(password, User(email=email, first_name=first_name, last_name=last_name))
            try:
                with transaction.atomic():
                    user = User.objects.create_user(
                        email=email, password=password, first_name=first_name, last_name=last_name
                    )
            except IntegrityError:
                raise EmailTaken() from None
        elif not user.check_password(password):
            raise EmailTaken()
        return _member_attach(
            organization=organization,
            user=user,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            language=language,
        )


def _member_attach(
    *, organization: Organization, user: User, first_name: str, last_name: str, phone: str, language: str | None
) -> Member:
    if Member.objects.filter(organization=organization, user=user).exists():
        raise MemberExists()
    try:
        with transaction.atomic():
            member = Member.objects.create(
                organization=organization,
                user=user,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                language=language,
            )
    except IntegrityError:
        raise MemberExists() from None
    member.organization = organization
    return member


def _account_for_staff_added_person(*, email: str, password: str | None) -> User:
    """The login of a person staff add: the existing account as it is, or a new one without
    names (a studio writes only its own member record) and, without a password, unusable."""
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password or None)
    except IntegrityError:  # created by a concurrent request meanwhile: the same person
        return User.objects.get(email__iexact=email)


def member_added_notify(*, member: Member) -> None:
    """The person is told by email that a studio added them (DOMAIN.md 1, API.md kind
    `member_added`), in the member's language; written to the outbox in this transaction."""
    notify(
        kind=Notification.Kind.MEMBER_ADDED,
        member=member,
        context={"has_password": member.user.has_usable_password()},
    )


def member_create(
    *,
    organization: Organization,
    email: str,
    first_name: str,
    last_name: str,
    phone: str = "",
    password: str | None = None,
    language: str | None = None,
    performed_by: User | None = None,
) -> Member:
    """Staff add a member (DOMAIN.md 1: adding an existing person reveals nothing, changes nothing).

    Whether or not the email already has an account, the answer is the same: a member record of
    this studio holding what the staff typed. An existing account is attached as it is: its
    password and names, and whatever another studio holds, are never read or changed (a password
    typed here only becomes the login of a new account). The password is checked before the
    lookup, so a weak one is refused the same way for both.
    """
    email = User.objects.normalize_email(email).lower()
    if password:
        _check_password(password, User(email=email, first_name=first_name, last_name=last_name))
    with transaction.atomic(durable=True):
        user = _account_for_staff_added_person(email=email, password=password)
        member = _member_attach(
            organization=organization,
            user=user,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            language=language,
        )
        member_added_notify(member=member)
        log_action(
            organization=organization,
            actor=performed_by,
            action="member.create",
            obj=member,
            changes=changes_between({}, snapshot(member, (*PERSON_FIELDS, "status"))),
        )
    return member


def member_update(*, organization: Organization, member_id, data: dict, performed_by: User | None = None) -> Member:
    """Change what this studio holds of a member: names, phone, language, status. The person's
    account and other studios' records are never touched. A change by staff (`performed_by`)
    is recorded in the audit log; a member changing their own language is not a staff action."""
    fields = [field for field in (*PERSON_FIELDS, "status") if field in data]
    with transaction.atomic(durable=True):
        member = member_lock(organization=organization, member_id=member_id)
        before = snapshot(member, fields)
        for field in fields:
            setattr(member, field, data[field])
        if fields:
            member.save(update_fields=fields)
        changes = changes_between(before, snapshot(member, fields))
        if performed_by is not None and changes:
            log_action(
                organization=organization, actor=performed_by, action="member.update", obj=member, changes=changes
            )
    return member


def _refuse_losing_the_last_admin(organization: Organization, user: User, new_role: str | None) -> None:
    """Call with the studio's row locked: taking the ADMIN role from the studio's only ADMIN would
    leave nobody to run its settings, timetable and staff (two admins removing each other at once
    queue on the studio's lock, so the second sees the first's removal)."""
    if new_role == StaffRole.Role.ADMIN:
        return
    admins = StaffRole.objects.filter(organization=organization, role=StaffRole.Role.ADMIN)
    if admins.filter(user=user).exists() and not admins.exclude(user=user).exists():
        raise LastAdmin()


def staff_role_set(*, organization: Organization, user: User, role: str, granted_by: User | None = None) -> StaffRole:
    """Give a person a staff role in a studio; they may then log in to the admin site.

    Staff grant roles only to the studio's own members and staff (DOMAIN.md 1: a studio never
    reaches the platform's other people); a platform superuser, or the system itself
    (`granted_by` None: seeds, commands), may name any account.
    """
    if granted_by is not None and not granted_by.is_superuser:
        known = (
            Member.objects.filter(organization=organization, user=user).exists()
            or StaffRole.objects.filter(organization=organization, user=user).exists()
        )
        if not known:
            raise Invalid({"email": gettext_lazy("No member or staff of this studio has this email.")})
    with transaction.atomic(durable=True):
        locking.lock_one(Organization.objects.all(), pk=organization.pk)
        _refuse_losing_the_last_admin(organization, user, role)
        before = StaffRole.objects.filter(organization=organization, user=user).values_list("role", flat=True).first()
        staff_role, _ = StaffRole.objects.update_or_create(
            organization=organization, user=user, defaults={"role": role}
        )
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        if before != role:
            log_action(
                organization=organization,
                actor=granted_by,
                action="staff_role.set",
                obj=staff_role,
                changes={"user": user.email, "role": [before, role]},
            )
    return staff_role


def staff_role_remove(*, staff_role: StaffRole, removed_by: User | None = None) -> None:
    """Take a person's staff role in a studio away (DOMAIN.md 18: role changes are recorded).

    The person keeps their login and any member row; without a role anywhere they are no longer
    staff (the admin refuses them), unless they are a platform superuser.
    """
    with transaction.atomic(durable=True):
        locking.lock_one(Organization.objects.all(), pk=staff_role.organization_id)
        row = StaffRole.objects.select_for_update().filter(pk=staff_role.pk).select_related("user").first()
        if row is None:  # removed meanwhile: nothing to do, nothing to record
            return
        user = row.user
        _refuse_losing_the_last_admin(row.organization, user, None)
        log_action(
            organization=row.organization,
            actor=removed_by,
            action="staff_role.remove",
            obj=row,
            changes={"user": user.email, "role": [row.role, None]},
        )
        row.delete()
        if user.is_staff and not user.is_superuser and not StaffRole.objects.filter(user=user).exists():
            user.is_staff = False
            user.save(update_fields=["is_staff"])

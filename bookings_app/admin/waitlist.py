"""The roster's waitlist (issue 11 item 4): the queue in order, and what staff do with it.

Shown on the session's roster page: WAITING entries first with their position, then the ones
that are done (promoted, skipped, left, removed, expired) greyed below. Staff move a waiting
rider onto a bike by hand (`waitlist_entry_promote`: the booking path, AUTO payment, the
cheapest free bike), remove an entry (`waitlist_leave(by_staff=True)`), or add a member found
by name, email or phone (`waitlist_join(added_by=...)`). Every one is a service call; the
refusals come back as the service's sentence.
"""

from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from bookings_app import selectors, services
from bookings_app.admin import desk
from bookings_app.admin.common import _local, _report, posted_uuid
from bookings_app.models import Session, WaitlistEntry
from members_app.models import Member
from spinning.errors import DomainError

WAITING = WaitlistEntry.Status.WAITING

#: why a rider was passed over, in words (the entry keeps the booking's refusal code)
SKIP_REASONS = {
    "insufficient_credits": gettext_lazy("not enough credits when a bike freed up"),
    "daily_limit_reached": gettext_lazy("All Access ride for that day already used"),
    "member_inactive": gettext_lazy("membership not active"),
    "booking_not_open": gettext_lazy("booking not open for them yet"),
    "already_booked": gettext_lazy("had already booked this class"),
}


def waitlist_rows(session: Session) -> list[WaitlistEntry]:
    """The session's entries: waiting ones in queue order with their position, then the others
    (most recent first), each with its join time in the studio's wall time."""
    entries = list(
        selectors.waitlist_list(organization=session.organization)
        .filter(session=session)
        .select_related("member__user", "booking__seat", "added_by")
        .order_by("sequence")
    )
    waiting = [entry for entry in entries if entry.status == WAITING]
    done = sorted((entry for entry in entries if entry.status != WAITING), key=lambda e: e.updated_at, reverse=True)
    tz_name = session.organization.timezone
    for entry in entries:
        entry.local_joined = _local(entry.joined_at, tz_name)
        entry.local_updated = _local(entry.updated_at, tz_name)
        entry.reason_words = SKIP_REASONS.get(entry.reason, entry.reason)
    return waiting + done


def waitlist_candidates(session: Session, q: str) -> list[Member]:
    """Members found for "add to the waitlist", without those already booked or waiting."""
    found = desk.find_members(session.organization, q)
    busy = set(WaitlistEntry.objects.filter(session=session, status=WAITING).values_list("member_id", flat=True)) | set(
        session.bookings.filter(status="CONFIRMED", is_guest=False).values_list("member_id", flat=True)
    )
    for member in found:
        member.on_this_class = member.pk in busy
    return found


def handle_post(request, session: Session, op: str) -> None:
    """One staff action on the waitlist from the roster page, reported as a sentence."""
    organization = session.organization
    if op == "waitlist_add":
        member = Member.objects.filter(organization=organization, pk=posted_uuid(request.POST.get("member"))).first()
        if member is None:
            messages.error(request, _("Choose a member of this studio."))
            return
        try:
            entry = services.waitlist_join(
                organization=organization, session_id=session.pk, member_id=member.pk, added_by=request.user
            )
        except DomainError as exc:
            _report(request, exc, _("%(name)s was not added to the waitlist") % {"name": member.full_name})
            return
        position = WaitlistEntry.objects.filter(session=session, status=WAITING, sequence__lte=entry.sequence).count()
        messages.success(
            request,
            _("%(name)s joined the waitlist at position %(position)d.")
            % {"name": member.full_name, "position": position},
        )
        return
    entry = (
        WaitlistEntry.objects.filter(
            organization=organization, session=session, pk=posted_uuid(request.POST.get("entry"))
        )
        .select_related("member")
        .first()
    )
    if entry is None:
        messages.error(request, _("That entry is not on this class's waitlist."))
        return
    name = entry.member.full_name
    try:
        if op == "waitlist_promote":
            booking = services.waitlist_entry_promote(
                organization=organization, entry_id=entry.pk, booked_by=request.user
            )
            if booking.seat_id:
                text = _("%(name)s was moved from the waitlist onto bike %(bike)s.") % {
                    "name": name,
                    "bike": booking.seat.label,
                }
            else:
                text = _("%(name)s was moved from the waitlist into the class.") % {"name": name}
            messages.success(request, f"{text} {paid_with(booking)}")
        else:
            services.waitlist_leave(
                organization=organization, entry_id=entry.pk, by_staff=True, performed_by=request.user
            )
            messages.success(request, _("%(name)s was removed from the waitlist.") % {"name": name})
    except DomainError as exc:
        if op == "waitlist_promote":
            what = _("%(name)s was not moved onto a bike") % {"name": name}
        else:
            what = _("%(name)s was not removed") % {"name": name}
        _report(request, exc, what)


def paid_with(booking) -> str:
    if booking.credits_used:
        count = booking.credits_used
        return ngettext("Paid with %(count)d credit.", "Paid with %(count)d credits.", count) % {"count": count}
    return _("Paid with %(how)s.") % {"how": booking.get_payment_type_display()}

"""The weekly timetable (issue 12 item 6): generating sessions for a range of studio-local days,
skipping closed days and what is already there, idempotent, studio-local and DST-safe times,
overlaps warned not refused, one audit entry per generation."""

import threading
import time as time_module
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from bookings_app import services
from bookings_app.models import ClosedDate, Session, TimetableSlot
from bookings_app.services.timetable import next_month, slot_start
from bookings_app.tests.conftest import IST, NOW, UTC
from bookings_app.tests.factories import InstructorFactory, RideClassFactory, make_layout, make_session
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import OrganizationFactory, staff_user
from spinning import locking
from spinning.errors import DomainError

pytestmark = pytest.mark.django_db

MARCH = (date(2026, 3, 1), date(2026, 3, 31))  # NOW is Monday 2 March 2026, 12:00 Istanbul


def slot(org, layout, weekday, hhmm, *, ride_class=None, minutes=None, **extra) -> TimetableSlot:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return services.timetable_slot_create(
        organization=org,
        data={
            "ride_class": ride_class or RideClassFactory(organization=org, duration_minutes=50),
            "instructor": InstructorFactory(organization=org),
            "seat_layout": layout,
            "weekday": weekday,
            "start_time": time(hour, minute),
            "duration_minutes": minutes,
            **extra,
        },
    )


def generate(org, days=MARCH, **kwargs):
    return services.sessions_generate(organization=org, date_from=days[0], date_to=days[1], now=NOW, **kwargs)


def local(session, tz=IST):
    return session.starts_at.astimezone(tz)


def test_a_month_from_two_slots_at_studio_local_times_with_the_class_duration(org, layout):
    tuesday = slot(org, layout, 1, "18:00")
    saturday = slot(org, layout, 5, "11:30", minutes=45)

    plan = generate(org)

    sessions = list(Session.objects.filter(organization=org).order_by("starts_at"))
    assert len(plan.created) == len(sessions) == 5 + 4  # March 2026: five Tuesdays, four Saturdays
    evening = [s for s in sessions if s.timetable_slot == tuesday]
    assert [local(s).day for s in evening] == [3, 10, 17, 24, 31]
    assert {(local(s).hour, local(s).minute) for s in evening} == {(18, 0)}
    assert evening[0].starts_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # Istanbul is UTC+3
    assert {s.ends_at - s.starts_at for s in evening} == {timedelta(minutes=50)}  # the class's
    morning = [s for s in sessions if s.timetable_slot == saturday]
    assert {s.ends_at - s.starts_at for s in morning} == {timedelta(minutes=45)}  # the slot's own
    first = evening[0]
    assert (first.ride_class, first.instructor, first.seat_layout, first.location) == (
        tuesday.ride_class,
        tuesday.instructor,
        layout,
        layout.location,
    )
    assert first.capacity == 6 and first.status == Session.Status.SCHEDULED


def test_a_second_run_creates_nothing(org, layout):
    slot(org, layout, 1, "18:00")
    generate(org)
    again = generate(org)
    assert again.created == [] and again.count("exists") == 5
    assert Session.objects.filter(organization=org).count() == 5


def test_closed_days_past_starts_and_identical_hand_made_sessions_are_skipped(org, layout):
    tuesday = slot(org, layout, 1, "18:00")
    monday = slot(org, layout, 0, "08:00")  # 2 March 08:00 has passed at NOW (12:00)
    services.closed_date_create(organization=org, day=date(2026, 3, 17), reason="Studio holiday")
    make_session(
        org,
        datetime(2026, 3, 24, 18, 0, tzinfo=IST),
        layout=layout,
        ride_class=tuesday.ride_class,
        instructor=tuesday.instructor,
    )

    plan = services.timetable_plan(organization=org, date_from=MARCH[0], date_to=MARCH[1], now=NOW)

    by_day = {(item.slot, item.day): item for item in plan.items}
    assert by_day[(tuesday, date(2026, 3, 17))].action == "closed"
    assert by_day[(tuesday, date(2026, 3, 17))].closed_reason == "Studio holiday"
    assert by_day[(tuesday, date(2026, 3, 24))].action == "exists"
    assert by_day[(monday, date(2026, 3, 2))].action == "past"
    assert plan.count("create") == 3 + 4  # Tuesdays 3, 10, 31; Mondays 9, 16, 23, 30
    assert Session.objects.filter(organization=org).count() == 1  # the plan wrote nothing
    assert len(generate(org).created) == 7


def test_a_slot_applies_inside_its_validity_and_only_while_active(org, layout):
    slot(org, layout, 1, "18:00", valid_from=date(2026, 3, 10), valid_until=date(2026, 3, 24))
    slot(org, layout, 2, "18:00", is_active=False)
    assert [item.day.day for item in generate(org).items] == [10, 17, 24]


def test_overlaps_at_the_location_are_warned_and_created(org, layout):
    long_ride = RideClassFactory(organization=org, name="Long Ride", duration_minutes=90)
    slot(org, layout, 1, "18:00", ride_class=long_ride)
    second_room = make_layout(org, ["NN"], location=layout.location)
    slot(org, second_room, 1, "19:00")

    plan = generate(org, days=(date(2026, 3, 3), date(2026, 3, 3)))

    assert len(plan.created) == 2
    assert [item.overlaps for item in plan.overlapping] == [
        [plan.items[1].slot.ride_class.name + " 19:00"],
        ["Long Ride 18:00"],
    ]


def test_the_wall_time_holds_across_a_daylight_saving_change():
    berlin = OrganizationFactory(timezone="Europe/Berlin")
    layout = make_layout(berlin)
    slot(berlin, layout, 6, "18:00")  # Sundays; summer time starts Sunday 29 March 2026
    slot(berlin, layout, 6, "02:30")  # inside the spring-forward gap that day
    now = datetime(2026, 3, 1, tzinfo=UTC)

    services.sessions_generate(organization=berlin, date_from=date(2026, 3, 22), date_to=date(2026, 3, 29), now=now)

    zone = ZoneInfo("Europe/Berlin")
    evenings = Session.objects.filter(organization=berlin, timetable_slot__start_time=time(18, 0)).order_by("starts_at")
    assert [s.starts_at.astimezone(UTC).hour for s in evenings] == [17, 16]  # UTC+1, then UTC+2
    assert {s.starts_at.astimezone(zone).hour for s in evenings} == {18}
    gap = Session.objects.get(
        organization=berlin, timetable_slot__start_time=time(2, 30), starts_at__date=date(2026, 3, 29)
    )
    assert gap.starts_at.astimezone(zone).time() == time(3, 30)  # 02:30 does not exist that night
    assert slot_start(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_the_generation_is_recorded_once_with_its_counts(org, layout):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    slot(org, layout, 1, "18:00")
    services.closed_date_create(organization=org, day=date(2026, 3, 17), reason="Holiday", performed_by=admin)

    generate(org, performed_by=admin)

    (entry,) = AuditLogEntry.objects.filter(action="timetable.generate")
    assert entry.actor == admin and entry.object_id == org.pk
    assert entry.changes == {
        "from": "2026-03-01",
        "to": "2026-03-31",
        "created": 4,
        "skipped_closed": 1,
        "skipped_existing": 0,
        "skipped_past": 0,
        "skipped_inactive_instructor": 0,
        "overlaps_warned": 0,
    }
    assert not AuditLogEntry.objects.filter(action="session.create").exists()  # one entry, not 4
    assert AuditLogEntry.objects.filter(action="closed_date.create", actor=admin).count() == 1


def test_slot_edits_are_recorded_and_checked(org, layout):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    tuesday = slot(org, layout, 1, "18:00")
    services.timetable_slot_update(
        organization=org, slot_id=tuesday.pk, data={"start_time": time(18, 30)}, performed_by=admin
    )
    (entry,) = AuditLogEntry.objects.filter(action="timetable_slot.update")
    assert entry.changes == {"start_time": ["18:00:00", "18:30:00"]}
    with pytest.raises(DomainError) as refused:
        slot(org, layout, 1, "18:30", ride_class=tuesday.ride_class)
    assert refused.value.code == "validation_error"
    other = OrganizationFactory()
    with pytest.raises(DomainError):
        slot(other, layout, 1, "09:00")  # another studio's room


def test_range_refusals():
    org = OrganizationFactory()
    with pytest.raises(DomainError):
        services.timetable_plan(organization=org, date_from=date(2026, 3, 2), date_to=date(2026, 3, 1))
    with pytest.raises(DomainError):
        services.timetable_plan(organization=org, date_from=date(2026, 1, 1), date_to=date(2026, 6, 1))


def test_next_month():
    assert next_month(date(2026, 12, 3)) == (date(2027, 1, 1), date(2027, 1, 31))
    assert next_month(date(2026, 1, 31)) == (date(2026, 2, 1), date(2026, 2, 28))


# --- constraints ----------------------------------------------------------------------------------------
def test_constraint_one_session_per_slot_and_start(org, layout):
    tuesday = slot(org, layout, 1, "18:00")
    generate(org)
    first = Session.objects.filter(timetable_slot=tuesday).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_session(org, first.starts_at, layout=layout, timetable_slot=tuesday)


def test_constraint_one_slot_per_room_weekday_time_and_class(org, layout):
    tuesday = slot(org, layout, 1, "18:00")
    with pytest.raises(IntegrityError), transaction.atomic():
        TimetableSlot.objects.create(
            organization=org,
            ride_class=tuesday.ride_class,
            instructor=tuesday.instructor,
            seat_layout=layout,
            weekday=1,
            start_time=time(18, 0),
        )


@pytest.mark.parametrize(
    "bad", [{"weekday": 7}, {"duration_minutes": 0}, {"valid_from": date(2026, 3, 2), "valid_until": date(2026, 3, 1)}]
)
def test_constraint_slot_fields(org, layout, bad):
    base = {
        "organization": org,
        "ride_class": RideClassFactory(organization=org),
        "instructor": InstructorFactory(organization=org),
        "seat_layout": layout,
        "weekday": 1,
        "start_time": time(18, 0),
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        TimetableSlot.objects.create(**{**base, **bad})


def test_constraint_one_closed_day_per_date(org):
    ClosedDate.objects.create(organization=org, date=date(2026, 3, 17))
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosedDate.objects.create(organization=org, date=date(2026, 3, 17))


# --- concurrency ----------------------------------------------------------------------------------------
def generate_at_once(org, n=3) -> list:
    barrier, results = threading.Barrier(n), []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(len(generate(org).created))
        except DomainError as exc:
            results.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(results, key=str)


@pytest.fixture
def racing_studio():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    org = OrganizationFactory(timezone="Europe/Istanbul")
    layout = make_layout(org)
    slot(org, layout, 1, "18:00")
    slot(org, layout, 3, "08:30")
    return org


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_generations_at_once_create_each_session_once(racing_studio):
    with locking.pause_hook(lambda point: time_module.sleep(0.3) if point == "timetable_planned" else None):
        results = generate_at_once(racing_studio)
    assert results == [0, 0, 5 + 4]  # March 2026: 5 Tuesdays, 4 Thursdays; the others find them there
    assert Session.objects.filter(organization=racing_studio).count() == 9


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_control_without_the_studio_lock_the_constraint_stops_the_duplicates(racing_studio):
    with (
        locking.locks_disabled(),
        locking.pause_hook(lambda point: time_module.sleep(0.3) if point == "timetable_planned" else None),
    ):
        results = generate_at_once(racing_studio)
    # Every generation planned all 9 (the race is real); the first to insert wins, the others
    # meet session_one_per_slot_and_start and answer busy, having written nothing.
    assert results == [9, "busy", "busy"]
    assert Session.objects.filter(organization=racing_studio).count() == 9


def test_a_generation_costs_one_insert_per_session_plus_a_constant(org, layout, django_assert_max_num_queries):
    for weekday in range(7):
        slot(org, layout, weekday, "18:00")
        slot(org, layout, weekday, "08:00")
    with django_assert_max_num_queries(59 + 10):  # one INSERT per session, a constant besides
        plan = generate(org)
    # March 2026 has 62 of them; at NOW (Monday 2 March, 12:00) 1 March's two and 2 March 08:00 are past
    assert len(plan.created) == 59 and plan.count("past") == 3


def test_an_inactive_instructors_weekly_class_is_skipped_and_the_plan_says_so(org, layout):
    # given: two Tuesday classes, one taught by an instructor who left (deactivated)
    kept = slot(org, layout, 1, "18:00")
    gone = slot(org, layout, 1, "08:30")
    services.instructor_deactivate(organization=org, instructor_id=gone.instructor_id)

    preview = services.timetable_plan(organization=org, date_from=MARCH[0], date_to=MARCH[1], now=NOW)
    plan = generate(org, performed_by=staff_user(org, StaffRole.Role.ADMIN))

    assert [item.action for item in preview.items if item.slot == gone] == ["instructor_inactive"] * 5
    assert preview.inactive_instructor_names == [gone.instructor.name]
    assert plan.counts()["created"] == 5 and plan.counts()["skipped_inactive_instructor"] == 5
    assert set(Session.objects.filter(organization=org).values_list("timetable_slot", flat=True)) == {kept.pk}
    entry = AuditLogEntry.objects.get(action="timetable.generate")
    assert entry.changes["skipped_inactive_instructor"] == 5

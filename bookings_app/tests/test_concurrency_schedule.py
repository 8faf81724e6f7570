"""Races on the schedule's staff edits (PostgreSQL): never a 500, always the answer of one order.

- Deleting a class (a location) while a session (a seat layout) is being created for it: the new
  row holds its parents (`locking.hold`, FOR KEY SHARE) until it commits, so the delete waits and
  then finds it in use (409 `in_use`). Without the hold, the delete went through and the session's
  commit met the foreign key: an IntegrityError, a 500.
- Two staff adding the same closed day or the same weekly class at once, and closing a day while
  a generation runs: timetable edits take the studio's row like a generation, so they run one
  after the other; the second adding finds the first (the form's 400), a day closed during a
  generation is closed after it.
Each control switches the locks off: then the database refuses, and that refusal is still a
clean answer (`busy`, the field error), never a 500.
"""

import threading
import time
from datetime import date, datetime, timedelta

import pytest
from django.db import connection

from bookings_app import services
from bookings_app.models import ClosedDate, RideClass, Session, TimetableSlot
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import InstructorFactory, RideClassFactory, make_layout
from bookings_app.tests.test_services_timetable import MARCH, generate, slot
from members_app.tests.factories import OrganizationFactory
from spinning import locking
from spinning.errors import DomainError

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")


def run(call):
    try:
        return ("ok", call())
    except DomainError as exc:
        return ("refused", exc.code)
    except Exception as exc:  # noqa: BLE001 - a 500 in production; the test reports it
        return ("error", repr(exc))
    finally:
        connection.close()


def while_paused(point, first, second, seconds=0.5):
    """Run `first`; when it reaches `point`, start `second` and hold `first` there a moment.
    Returns (first's result, second's result, the order they finished in)."""
    reached, results, order = threading.Event(), {}, []

    def hook(name):
        if name == point and not reached.is_set():
            reached.set()
            time.sleep(seconds)

    def go(key, call, wait=None):
        if wait is not None:
            wait.wait(timeout=10)
        results[key] = run(call)
        order.append(key)

    with locking.pause_hook(hook):
        threads = [
            threading.Thread(target=go, args=("first", first)),
            threading.Thread(target=go, args=("second", second, reached)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert reached.is_set()
    return results["first"], results["second"], order


def at_once(point, calls, seconds=0.3):
    """Start the calls behind a barrier; each one waits a moment at `point`."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def hook(name):
        if name == point:
            time.sleep(seconds)

    def go(index, call):
        barrier.wait(timeout=10)
        results[index] = run(call)

    with locking.pause_hook(hook):
        threads = [threading.Thread(target=go, args=(i, call)) for i, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    return sorted(results, key=str)


@pytest.fixture
def studio():
    org = OrganizationFactory(timezone="Europe/Istanbul")
    return org, make_layout(org), RideClassFactory(organization=org), InstructorFactory(organization=org)


def schedule(org, layout, ride_class, instructor):
    starts_at = NOW + timedelta(days=3)
    return lambda: services.session_create(
        organization=org,
        class_id=ride_class.pk,
        instructor_id=instructor.pk,
        location_id=layout.location_id,
        seat_layout_id=layout.pk,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=50),
    )


# --- a class deleted while a session is scheduled for it --------------------------------------------
def test_deleting_a_class_while_a_session_is_scheduled_for_it_waits_and_answers_in_use(studio):
    org, layout, ride_class, instructor = studio
    delete = lambda: services.ride_class_delete(organization=org, class_id=ride_class.pk)  # noqa: E731

    created, deleted, order = while_paused("references_held", schedule(*studio), delete)

    assert created[0] == "ok"
    assert deleted == ("refused", "in_use")
    assert order == ["first", "second"]  # the delete waited for the session's commit
    assert RideClass.objects.filter(pk=ride_class.pk).exists()
    assert Session.objects.filter(ride_class=ride_class).count() == 1


def test_deleting_a_location_while_a_layout_is_created_there_answers_in_use(studio):
    org, layout, _, _ = studio
    location = layout.location
    layout.delete()  # the location is free: only the new layout will use it
    create = lambda: services.seat_layout_create(  # noqa: E731
        organization=org, location_id=location.pk, name="Studio B", rows=1, columns=2
    )
    delete = lambda: services.location_delete(organization=org, location_id=location.pk)  # noqa: E731

    created, deleted, _ = while_paused("references_held", create, delete)

    assert created[0] == "ok"
    assert deleted == ("refused", "in_use")


def test_a_class_deleted_before_the_session_is_refused_as_unknown(studio):
    org, layout, ride_class, instructor = studio
    services.ride_class_delete(organization=org, class_id=ride_class.pk)

    assert run(schedule(*studio)) == ("refused", "validation_error")


def test_control_without_the_hold_the_delete_goes_through_and_the_commit_answers_busy(studio):
    org, layout, ride_class, instructor = studio
    delete = lambda: services.ride_class_delete(organization=org, class_id=ride_class.pk)  # noqa: E731

    with locking.locks_disabled():
        created, deleted, order = while_paused("references_held", schedule(*studio), delete)

    # The race is real: the class went while the session was being written; the foreign key
    # refused the session at commit, and that refusal is `busy` (a retry answers 400), not a 500.
    assert deleted[0] == "ok" and order == ["second", "first"]
    assert created == ("refused", "busy")
    assert not Session.objects.filter(organization=org).exists()


# --- the same closed day or weekly class twice at once ----------------------------------------------
def close(org, day=date(2026, 3, 17)):
    return lambda: services.closed_date_create(organization=org, day=day, reason="Holiday")


def test_two_staff_closing_the_same_day_at_once_one_wins_the_other_gets_the_form_error(studio):
    org = studio[0]

    results = at_once("timetable_edit_checked", [close(org), close(org), close(org)])

    assert [r[0] for r in results] == ["ok", "refused", "refused"]
    assert [r[1] for r in results[1:]] == ["validation_error", "validation_error"]
    assert ClosedDate.objects.filter(organization=org).count() == 1


def test_control_without_the_studio_lock_the_constraint_refuses_with_the_same_form_error(studio):
    org = studio[0]

    with locking.locks_disabled():
        results = at_once("timetable_edit_checked", [close(org), close(org)])

    assert [r[0] for r in results] == ["ok", "refused"]
    assert results[1][1] == "validation_error"
    assert ClosedDate.objects.filter(organization=org).count() == 1


def test_two_staff_adding_the_same_weekly_class_at_once_one_wins(studio):
    org, layout, ride_class, instructor = studio

    def add():
        return services.timetable_slot_create(
            organization=org,
            data={
                "ride_class": ride_class,
                "instructor": instructor,
                "seat_layout": layout,
                "weekday": 1,
                "start_time": datetime(2026, 1, 1, 18, 0).time(),
            },
        )

    for off in (False, True):  # with the studio lock, and without it (the constraint's answer)
        TimetableSlot.objects.filter(organization=org).delete()
        if off:
            with locking.locks_disabled():
                results = at_once("timetable_edit_checked", [add, add])
        else:
            results = at_once("timetable_edit_checked", [add, add])
        assert [r[0] for r in results] == ["ok", "refused"], results
        assert results[1][1] == "validation_error"
        assert TimetableSlot.objects.filter(organization=org).count() == 1


# --- closing a day while a generation runs -------------------------------------------------------------
def test_a_day_closed_while_a_generation_runs_is_closed_after_it(studio):
    org, layout, _, _ = studio
    slot(org, layout, 1, "18:00")  # Tuesdays: 17 March among them

    generated, closed, order = while_paused("timetable_planned", lambda: generate(org), close(org))

    assert generated[0] == "ok" and closed[0] == "ok"
    # The close waited for the generation (which planned 17 March open) to commit: what the
    # generation reported is what was true when it wrote, and the next one skips the day.
    assert order == ["first", "second"]
    day = ClosedDate.objects.get(organization=org)
    assert day.created_at > max(Session.objects.filter(organization=org).values_list("created_at", flat=True))
    assert generate(org, days=MARCH).counts()["skipped_closed"] == 1


def test_deleting_an_instructor_while_a_session_is_given_to_them_answers_in_use(studio):
    org, layout, ride_class, instructor = studio
    session = schedule(*studio)()
    newcomer = InstructorFactory(organization=org)
    change = lambda: services.session_update(  # noqa: E731
        organization=org, session_id=session.pk, data={"instructor_id": newcomer.pk}, now=NOW
    )
    delete = lambda: services.instructor_delete(organization=org, instructor_id=newcomer.pk)  # noqa: E731

    changed, deleted, _ = while_paused("references_held", change, delete)

    assert changed[0] == "ok"
    assert deleted == ("refused", "in_use")
    assert Session.objects.get(pk=session.pk).instructor_id == newcomer.pk


def test_two_layouts_of_one_name_at_one_location_at_once_one_gets_the_form_error(studio):
    org, layout, _, _ = studio

    def create():
        return services.seat_layout_create(
            organization=org, location_id=layout.location_id, name="Studio B", rows=1, columns=2
        )

    results = at_once("layout_name_checked", [create, create])

    assert [r[0] for r in results] == ["ok", "refused"], results
    assert results[1][1] == "validation_error"

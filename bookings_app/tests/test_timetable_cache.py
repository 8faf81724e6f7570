"""The timetable from the shared cache (bookings_app/timetable_cache.py): the same page for every
caller but their own ids, dropped on the commit of any change it shows, never stale after a
booking's commit, never a 500 when the cache fails."""

import threading
from datetime import datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import override as timezone_override
from rest_framework.renderers import JSONRenderer

from bookings_app import services
from bookings_app.models import LIVE, Booking
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import elite_30, give_credits, make_layout, make_session
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, staff_user

URL = "/api/sessions?from=2026-03-02&to=2026-03-08"
cached = override_settings(TIMETABLE_CACHE=True)


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=IST)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def rows_by_id(response) -> dict:
    assert response.status_code == 200, response.content
    return {row["id"]: row for row in response.json()["results"]}


@pytest.fixture
def week(org):
    layout = make_layout(org, ["NNN"])
    return [make_session(org, local(3 + i, 18), layout=layout) for i in range(3)]


def book(org, member, session, committed):
    """A booking whose transaction's on-commit work runs (committed) or never does."""
    with committed(execute=True):
        return services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)


@pytest.mark.django_db
@cached
def test_every_member_gets_the_shared_page_with_their_own_ids(api, org, week, django_capture_on_commit_callbacks):
    ann, bob = MemberFactory(organization=org), MemberFactory(organization=org)
    for rider in (ann, bob):
        give_credits(rider, 5, now=NOW)
    anns = book(org, ann, week[0], django_capture_on_commit_callbacks)
    bobs = book(org, bob, week[1], django_capture_on_commit_callbacks)

    as_ann = rows_by_id(api(user=ann.user, org=org).get(URL))  # builds the page
    bobs_client = api(user=bob.user, org=org)
    with CaptureQueriesContext(connection) as hit:
        as_bob = rows_by_id(bobs_client.get(URL))  # served from the cache

    assert as_ann[str(week[0].pk)]["my_booking_id"] == str(anns.pk)
    assert as_ann[str(week[1].pk)]["my_booking_id"] is None
    assert as_bob[str(week[1].pk)]["my_booking_id"] == str(bobs.pk)
    assert as_bob[str(week[0].pk)]["my_booking_id"] is None
    for rows in (as_ann, as_bob):
        assert [rows[str(s.pk)]["booked_count"] for s in week] == [1, 1, 0]
    # the page itself was not read again: no statement on the sessions table
    assert not [q for q in hit.captured_queries if 'FROM "bookings_app_session"' in q["sql"]]
    # token, studio, then one statement: the version, the member's ids and priority together
    assert len(hit.captured_queries) <= 3
    assert not [q for q in hit.captured_queries if "timetable:page:" in q["sql"]]  # the page held in process


@pytest.mark.django_db
@cached
def test_a_committed_booking_drops_the_page_an_uncommitted_one_does_not(
    api, org, week, member, django_capture_on_commit_callbacks
):
    other = MemberFactory(organization=org)
    give_credits(other, 5, now=NOW)
    client = api(user=member.user, org=org)
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["available_spots"] == 3

    # a booking whose commit never came (on-commit work not run): the page stays as it was,
    # which shows that the page is really served from the cache ...
    with django_capture_on_commit_callbacks(execute=False):
        services.booking_create(organization=org, session_id=week[0].pk, member_id=other.pk, now=NOW)
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["available_spots"] == 3
    # ... and the commit of the next one drops it: both bookings show
    third = MemberFactory(organization=org)
    give_credits(third, 5, now=NOW)
    book(org, third, week[0], django_capture_on_commit_callbacks)
    row = rows_by_id(client.get(URL))[str(week[0].pk)]
    assert (row["booked_count"], row["available_spots"]) == (2, 1)


@pytest.mark.django_db
@cached
def test_every_change_the_timetable_shows_drops_the_page(api, org, week, member, django_capture_on_commit_callbacks):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    give_credits(member, 5, now=NOW)
    client = api(user=member.user, org=org)
    staff = api(user=admin, org=org)
    session = week[0]

    def seen():
        return rows_by_id(client.get(URL))

    assert seen()[str(session.pk)]["booked_count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        booking = client.post("/api/bookings", {"session_id": str(session.pk)}, format="json").json()
    assert seen()[str(session.pk)]["my_booking_id"] == booking["id"]
    assert seen()[str(session.pk)]["booked_count"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/bookings/{booking['id']}/cancel").status_code == 200
    assert seen()[str(session.pk)]["booked_count"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert staff.patch(f"/api/sessions/{session.pk}", {"capacity": 2}, format="json").status_code == 200
    assert seen()[str(session.pk)]["capacity"] == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert staff.patch(f"/api/classes/{session.ride_class_id}", {"name": "Climb"}, format="json").status_code == 200
    assert seen()[str(session.pk)]["class"]["name"] == "Climb"

    with django_capture_on_commit_callbacks(execute=True):
        new = make_session(org, local(6, 7), layout=session.seat_layout)
        services.session_update(organization=org, session_id=new.pk, data={"capacity": 1})
    assert str(new.pk) in seen()

    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"/api/sessions/{week[1].pk}/cancel").status_code == 200
    assert seen()[str(week[1].pk)]["status"] == "CANCELLED"


@pytest.mark.django_db
@cached
def test_waitlist_count_and_my_entry_follow_joins_and_leaves(api, org, member, django_capture_on_commit_callbacks):
    full = make_session(org, local(4, 9), layout=make_layout(org, ["N"]))
    rider = MemberFactory(organization=org)
    for person in (rider, member):
        give_credits(person, 5, now=NOW)
    book(org, rider, full, django_capture_on_commit_callbacks)
    client = api(user=member.user, org=org)
    assert rows_by_id(client.get(URL))[str(full.pk)]["waitlist_count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        entry = client.post(f"/api/sessions/{full.pk}/waitlist").json()
    row = rows_by_id(client.get(URL))[str(full.pk)]
    assert (row["waitlist_count"], row["my_waitlist_entry_id"]) == (1, entry["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/waitlist/{entry['id']}/leave").status_code in (200, 204)
    row = rows_by_id(client.get(URL))[str(full.pk)]
    assert (row["waitlist_count"], row["my_waitlist_entry_id"]) == (0, None)


@pytest.mark.django_db
@cached
def test_a_priority_holder_sees_their_earlier_opening_on_the_shared_page(api, org):
    later = make_session(org, local(12, 8))  # booking opens for everyone on the 5th
    everyone, priority = MemberFactory(organization=org), MemberFactory(organization=org)
    elite_30(priority, now=NOW)
    opens_everyone = rows_by_id(api(user=everyone.user, org=org).get("/api/sessions?from=2026-03-12&to=2026-03-12"))
    opens_priority = rows_by_id(api(user=priority.user, org=org).get("/api/sessions?from=2026-03-12&to=2026-03-12"))
    first, second = opens_everyone[str(later.pk)]["booking_opens_at"], opens_priority[str(later.pk)]["booking_opens_at"]
    assert second < first  # 24 hours earlier (DOMAIN.md 8), though the page came from the cache
    again = rows_by_id(api(user=everyone.user, org=org).get("/api/sessions?from=2026-03-12&to=2026-03-12"))
    assert again[str(later.pk)]["booking_opens_at"] == first


@pytest.mark.django_db
@cached
def test_a_failing_cache_is_a_miss_not_a_500(api, org, week, member):
    from django.core.cache import cache

    down = ConnectionError("redis down")
    with mock.patch.object(cache, "get_many", side_effect=down), mock.patch.object(cache, "get", side_effect=down):
        response = api(user=member.user, org=org).get(URL)
    assert response.status_code == 200 and len(response.json()["results"]) == 3
    with mock.patch.object(cache, "set", side_effect=ConnectionError("redis down")):
        assert api(user=member.user, org=org).get(URL).status_code == 200


# --- under concurrent bookings (PostgreSQL, committed transactions) ----------------------------------
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@cached
def test_after_each_booking_commits_no_reader_sees_its_bike_free(api, org):
    """Riders book one session at once; each, right after its 201 (committed, version bumped),
    reads the timetable, and so do readers in a loop: nobody ever sees fewer bookings than have
    been answered 201 before their read began, and the last read equals the database."""
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL")
    session = make_session(org, local(4, 18), layout=make_layout(org, ["NNNNNN"]))
    riders = [MemberFactory(organization=org) for _ in range(6)]
    for rider in riders:
        give_credits(rider, 2, now=NOW)
    lock = threading.Lock()
    answered = {"n": 0}
    problems: list[str] = []
    barrier = threading.Barrier(len(riders) + 2)
    done = threading.Event()

    def booked_seen(client) -> int:
        rows = {row["id"]: row for row in client.get(URL).json()["results"]}
        return rows[str(session.pk)]["booked_count"]

    def rider_books(rider):
        client = api(user=rider.user, org=org)
        try:
            barrier.wait(timeout=10)
            response = client.post("/api/bookings", {"session_id": str(session.pk)}, format="json")
            if response.status_code != 201:
                problems.append(f"booking answered {response.status_code}")
                return
            with lock:
                answered["n"] += 1
                floor = answered["n"]
            if booked_seen(client) < floor:
                problems.append(f"after {floor} bookings answered, the timetable showed fewer")
        finally:
            connection.close()

    def reader():
        client = api(user=riders[0].user, org=org)
        try:
            barrier.wait(timeout=10)
            while not done.is_set():
                with lock:
                    floor = answered["n"]
                seen = booked_seen(client)
                if seen < floor:
                    problems.append(f"a reader saw {seen} after {floor} were answered")
        finally:
            connection.close()

    threads = [threading.Thread(target=rider_books, args=(r,)) for r in riders]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    with time_machine.travel(NOW, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads[: len(riders)]:
            thread.join(timeout=60)
        done.set()
        for thread in threads[len(riders) :]:
            thread.join(timeout=60)
        final = booked_seen(api(user=riders[1].user, org=org))
    assert problems == []
    live = Booking.objects.filter(LIVE, session=session).count()
    assert answered["n"] == live == 6 and final == live


@pytest.mark.django_db
@cached
def test_a_bump_is_one_statement_and_the_cache_reads_it_back(org, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from bookings_app.timetable_cache import _version_key, timetable_changed

    for _ in range(2):  # the first bump inserts the row, the next one updates it
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            timetable_changed(org.pk)
        before = cache.get(_version_key(org.pk))
        with CaptureQueriesContext(connection) as bump:
            callbacks[0]()
        assert len(bump.captured_queries) == 1
        assert cache.get(_version_key(org.pk)) not in (None, before)


@pytest.mark.django_db
def test_cached_pages_are_exactly_what_the_database_renders(api, org, django_capture_on_commit_callbacks):
    """Every kind of caller and page: with the cache off, on a miss, on a hit — the same body."""
    layout = make_layout(org, ["NN"])
    sessions = [make_session(org, local(3 + i % 4, 7 + i), layout=layout) for i in range(6)]
    member, priority = MemberFactory(organization=org), MemberFactory(organization=org)
    give_credits(member, 5, now=NOW)
    elite_30(priority, now=NOW)
    book(org, member, sessions[0], django_capture_on_commit_callbacks)
    book(org, priority, sessions[1], django_capture_on_commit_callbacks)
    admin = staff_user(org, StaffRole.Role.ADMIN)
    anonymous = api()
    anonymous.credentials(HTTP_X_ORGANIZATION=org.slug)
    callers = {
        "member": api(user=member.user, org=org),
        "priority": api(user=priority.user, org=org),
        "staff": api(user=admin, org=org),
        "anonymous": anonymous,
    }
    paths = [URL, URL + "&page_size=2&page=2", "/api/sessions?from=2026-03-05&to=2026-03-05", "/api/sessions"]
    for name, client in callers.items():
        for path in paths:
            with override_settings(TIMETABLE_CACHE=False):
                plain = client.get(path)
            with override_settings(TIMETABLE_CACHE=True):
                miss, hit = client.get(path), client.get(path)
            assert plain.status_code == miss.status_code == hit.status_code == 200, (name, path)
            assert plain.json() == miss.json() == hit.json(), (name, path)
            # the spliced body is byte for byte what DRF renders for the whole page
            assert hit.content == miss.content == plain.content == JSONRenderer().render(plain.json())
            assert hit["Content-Type"] == "application/json"


@pytest.mark.django_db
@cached
def test_a_change_of_the_studios_time_zone_or_booking_window_is_seen_at_once(api, org, week):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    before = rows_by_id(api().get(URL, HTTP_X_ORGANIZATION=org.slug))[str(week[0].pk)]
    assert before["starts_at"].endswith("+03:00")
    response = api(user=admin, org=org).patch(
        "/api/organization", {"timezone": "Europe/London", "booking_window_days": 2}, format="json"
    )
    assert response.status_code == 200, response.json()
    after = rows_by_id(api().get(URL, HTTP_X_ORGANIZATION=org.slug))[str(week[0].pk)]
    assert after["starts_at"].endswith("Z") and after["booking_opens_at"] != before["booking_opens_at"]


@pytest.mark.django_db
@cached
def test_a_members_ids_are_read_per_request_even_from_a_page_held_in_process(
    api, org, week, member, django_capture_on_commit_callbacks
):
    """The page is shared and may be held; the caller's own ids never are: a booking and a waiting
    entry show at once, even when their commit's bump never came (the page itself stays)."""
    give_credits(member, 5, now=NOW)
    client = api(user=member.user, org=org)
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["my_booking_id"] is None
    with django_capture_on_commit_callbacks(execute=False):  # no bump: the held page stays current
        booking = services.booking_create(organization=org, session_id=week[0].pk, member_id=member.pk, now=NOW)
    with CaptureQueriesContext(connection) as hit:
        row = rows_by_id(client.get(URL))[str(week[0].pk)]
    assert (row["my_booking_id"], row["booked_count"]) == (str(booking.pk), 0)  # the held page, my id
    assert not [q for q in hit.captured_queries if 'FROM "bookings_app_session" ' in q["sql"].split("JOIN")[0]]
    others = rows_by_id(client.get(URL))
    assert [others[str(s.pk)]["my_booking_id"] for s in week[1:]] == [None, None]


@pytest.mark.django_db
@cached
def test_a_priority_holder_with_a_booking_gets_both_spliced(api, org, django_capture_on_commit_callbacks):
    sessions = [make_session(org, local(12, 8)), make_session(org, local(12, 18))]
    holder, everyone = MemberFactory(organization=org), MemberFactory(organization=org)
    elite_30(holder, now=NOW)
    path = "/api/sessions?from=2026-03-12&to=2026-03-12"
    plain = rows_by_id(api(user=everyone.user, org=org).get(path))
    with django_capture_on_commit_callbacks(execute=True):  # booking opens for everyone on the 5th
        booking = services.booking_create(
            organization=org, session_id=sessions[1].pk, member_id=holder.pk, now=local(5, 19)
        )
    client = api(user=holder.user, org=org)
    client.get(path)
    seen = rows_by_id(client.get(path))  # held in process now
    for session in sessions:
        row, theirs = seen[str(session.pk)], plain[str(session.pk)]
        assert row["booking_opens_at"] < theirs["booking_opens_at"]
        assert row["booking_opens_at"] == selectors_opens(org, session, priority=True)
    assert seen[str(sessions[1].pk)]["my_booking_id"] == str(booking.pk)
    assert seen[str(sessions[0].pk)]["my_booking_id"] is None
    # and without the cache, the same body
    with override_settings(TIMETABLE_CACHE=False):
        assert client.get(path).content == client.get(path).content


def selectors_opens(org, session, *, priority):
    from rest_framework.fields import DateTimeField

    from bookings_app.selectors import booking_opens_at

    with timezone_override(org.timezone):
        return DateTimeField().to_representation(booking_opens_at(session=session, organization=org, priority=priority))


@pytest.mark.django_db
@cached
def test_a_held_page_expires_after_the_cache_seconds_without_a_bump(api, org, week, member):
    """The bound on staleness should a process die between a commit and its bump holds for the
    page a process holds, too."""
    client = api(user=member.user, org=org)
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["capacity"] == week[0].capacity
    type(week[0]).objects.filter(pk=week[0].pk).update(capacity=1)  # a change that never bumps
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["capacity"] == week[0].capacity
    with time_machine.travel(NOW + timedelta(seconds=31), tick=False):
        assert rows_by_id(client.get(URL))[str(week[0].pk)]["capacity"] == 1


@pytest.mark.django_db
@cached
def test_the_browsable_api_and_indented_json_still_render(api, org, week, member):
    client = api(user=member.user, org=org)
    compact = client.get(URL)
    indented = client.get(URL, HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200 and indented.json() == compact.json()
    assert indented.content != compact.content and b"\n  " in indented.content
    html = client.get(URL, HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")


# --- a cache outside the database (Redis in production; here the local-memory cache) -----------------
other_cache = override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "timetable-test"}}
)


@pytest.mark.django_db
@cached
@other_cache
def test_with_a_cache_outside_the_database_the_version_comes_from_it(
    api, org, week, member, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    other = MemberFactory(organization=org)
    give_credits(other, 5, now=NOW)
    client = api(user=member.user, org=org)
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["booked_count"] == 0
    with CaptureQueriesContext(connection) as hit:
        assert rows_by_id(client.get(URL))[str(week[0].pk)]["booked_count"] == 0
    assert not [q for q in hit.captured_queries if 'FROM "bookings_app_session" ' in q["sql"].split("JOIN")[0]]
    book(org, other, week[0], django_capture_on_commit_callbacks)  # the bump drops the held page
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["booked_count"] == 1
    with mock.patch.object(cache, "get", side_effect=ConnectionError("redis down")):
        response = client.get(URL)  # the version cannot be read: the database answers
    assert response.status_code == 200 and rows_by_id(response)[str(week[0].pk)]["booked_count"] == 1
    cache.clear()


with_redis = override_settings(  # production with REDIS_URL: the pages in Redis, the database cache beside it
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "timetable-redis"},
        "fallback": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "spinning_cache"},
    }
)


@pytest.mark.django_db
@cached
@with_redis
def test_beside_redis_the_versions_live_in_the_database_and_a_held_page_outlives_redis(
    api, org, week, member, django_capture_on_commit_callbacks
):
    """The studio's version is in the database cache even when the pages are in Redis: a hit is one
    statement and no Redis call, a bump is one UPSERT, and while Redis is down a page the process
    holds is still served at the current version (a bump while it is down is still seen)."""
    from django.core.cache import cache, caches

    from bookings_app.timetable_cache import _version_key

    other = MemberFactory(organization=org)
    give_credits(other, 5, now=NOW)
    client = api(user=member.user, org=org)
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["booked_count"] == 0
    assert caches["fallback"].get(_version_key(org.pk)) is not None and cache.get(_version_key(org.pk)) is None
    down = ConnectionError("redis down")
    with (
        mock.patch.object(cache, "get", side_effect=down),
        mock.patch.object(cache, "get_many", side_effect=down),
        mock.patch.object(cache, "set", side_effect=down),
        CaptureQueriesContext(connection) as hit,
    ):
        assert rows_by_id(client.get(URL))[str(week[0].pk)]["booked_count"] == 0
        assert len(hit.captured_queries) <= 3  # token, studio, the one
        assert not [q for q in hit.captured_queries if 'FROM "bookings_app_session" ' in q["sql"].split("JOIN")[0]]
        with CaptureQueriesContext(connection) as bump:
            book(org, other, week[0], django_capture_on_commit_callbacks)
        assert [q for q in bump.captured_queries if q["sql"].startswith('INSERT INTO "spinning_cache"')]
        assert rows_by_id(client.get(URL))[str(week[0].pk)]["booked_count"] == 1  # rebuilt, not stored
    assert rows_by_id(client.get(URL))[str(week[0].pk)]["booked_count"] == 1
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("cache_on", [True, False])
@pytest.mark.parametrize(
    "change",
    [
        {},
        {"credits_expire_at": NOW - timedelta(seconds=1)},
        {"credits_expire_at": NOW + timedelta(days=1)},
        {"status": "CANCELLED"},
        {"status": "USED"},
        {"benefits": ["friend_pass"]},
        {"benefits": []},
    ],
)
def test_the_priority_in_the_members_statement_is_member_has_priority(api, org, cache_on, change):
    """The page reads the priority benefit in the member's own statement (raw SQL): it must
    agree with `selectors.member_has_priority` for every state a redemption can be in."""
    from bookings_app import selectors
    from packages_app.models import Redemption

    session = make_session(org, local(12, 8))
    holder = MemberFactory(organization=org)
    redemption = elite_30(holder, now=NOW)
    Redemption.objects.filter(pk=redemption.pk).update(**change)
    expected = selectors.member_has_priority(member=holder, now=NOW)
    path = "/api/sessions?from=2026-03-12&to=2026-03-12"
    with override_settings(TIMETABLE_CACHE=cache_on):
        client = api(user=holder.user, org=org)
        rows = [rows_by_id(client.get(path))[str(session.pk)] for _ in range(2)]  # a miss, then a hit
    for row in rows:
        assert row["booking_opens_at"] == selectors_opens(org, session, priority=expected), change
    assert expected is (change in ({}, {"credits_expire_at": NOW + timedelta(days=1)}))


@pytest.mark.django_db
@cached
def test_my_booking_id_is_the_riders_own_live_booking_not_their_guests(
    api, org, week, member, django_capture_on_commit_callbacks
):
    elite_30(member, now=NOW)
    client = api(user=member.user, org=org)
    client.get(URL)  # the page held from here on
    with django_capture_on_commit_callbacks(execute=True):
        host = services.booking_create(organization=org, session_id=week[0].pk, member_id=member.pk, now=NOW)
        services.booking_create(
            organization=org,
            session_id=week[0].pk,
            member_id=member.pk,
            payment_method="FRIEND_PASS",
            guest_name="Ayşe",
            host_booking_id=host.pk,
            now=NOW,
        )
    row = rows_by_id(client.get(URL))[str(week[0].pk)]
    assert (row["my_booking_id"], row["booked_count"]) == (str(host.pk), 2)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(organization=org, booking_id=host.pk, now=NOW)  # the guest goes with it
    row = rows_by_id(client.get(URL))[str(week[0].pk)]
    assert (row["my_booking_id"], row["booked_count"]) == (None, 0)

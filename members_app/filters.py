import django_filters

from members_app.models import Member, Notification
from members_app.selectors import member_search


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        help_text="Words of the name, email or phone; Turkish letters match loosely (yilmaz finds Yılmaz).",
    )
    status = django_filters.ChoiceFilter(choices=Member.Status.choices)
    has_all_access = django_filters.BooleanFilter()
    is_elite_member = django_filters.BooleanFilter()

    class Meta:
        model = Member
        fields = ["q", "status", "has_all_access", "is_elite_member"]

    def filter_q(self, queryset, name, value):
        return member_search(queryset, value)


class NotificationFilter(django_filters.FilterSet):
    """`GET /api/notifications`: `status` is one of the three states the API shows (QUEUED also
    covers a message a worker is sending right now), `kind` one of the kinds; any other value is
    a 400 `validation_error` naming the parameter, never silently ignored (a client misspelling
    FAILED must not get every message of the studio as if it were the failed ones)."""

    status = django_filters.ChoiceFilter(choices=[(s, s) for s in ("QUEUED", "SENT", "FAILED")], method="filter_status")
    kind = django_filters.ChoiceFilter(choices=Notification.Kind.choices)

    class Meta:
        model = Notification
        fields: list = []

    def filter_status(self, queryset, name, value):
        if value == Notification.Status.QUEUED:
            return queryset.filter(status__in=[Notification.Status.QUEUED, Notification.Status.SENDING])
        return queryset.filter(status=value)

import django_filters

from members_app.models import Member
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

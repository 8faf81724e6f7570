"""Template tags of the back office: the studio's day on the admin's home page."""

from django import template

from bookings_app.admin.today import today_context

register = template.Library()


@register.inclusion_tag("admin/today.html", takes_context=True)
def studio_day(context):
    request = context.get("request")
    return {"studios": today_context(request) if request is not None else []}

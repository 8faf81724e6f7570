from members_app.admin_base import ADMIN, orgs_with_role


def reports_link(request) -> dict:
    """Whether the admin's header shows the Reports link: for a studio ADMIN or a superuser."""
    if not request.path.startswith("/admin/") or not getattr(request, "user", None):
        return {}
    user = request.user
    if not user.is_authenticated:
        return {}
    return {"show_reports_link": user.is_superuser or bool(orgs_with_role(request, {ADMIN}))}

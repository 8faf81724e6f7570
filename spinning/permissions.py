"""Who may call (API.md): public, member, staff (ADMIN, FRONT_DESK), ADMIN, instructor.

Each permission first requires authentication (DRF answers 401), then resolves the tenant
(400/403/404 from spinning.tenancy), then checks the caller's standing in that studio (403).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from spinning.tenancy import resolve_tenant


def _authenticated(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class PublicReadAdminWrite(BasePermission):
    """GET for anyone (anonymous must name the studio); writes for the studio's ADMIN."""

    message = "Only the studio's admins may change this."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            resolve_tenant(request)
            return True
        if not _authenticated(request):
            return False
        return resolve_tenant(request).is_admin


class Public(BasePermission):
    def has_permission(self, request, view):
        resolve_tenant(request)
        return True


class IsMemberOrStaff(BasePermission):
    message = "Only members and staff of this studio may do this."

    def has_permission(self, request, view):
        if not _authenticated(request):
            return False
        tenant = resolve_tenant(request)
        return tenant.is_member or tenant.is_staff


class IsMemberOrStaffOrInstructor(BasePermission):
    def has_permission(self, request, view):
        if not _authenticated(request):
            return False
        tenant = resolve_tenant(request)
        return tenant.is_member or tenant.can_check_in


class IsStaff(BasePermission):
    message = "Only the studio's staff may do this."

    def has_permission(self, request, view):
        if not _authenticated(request):
            return False
        return resolve_tenant(request).is_staff


class IsStaffOrInstructor(BasePermission):
    message = "Only the studio's staff and instructors may do this."

    def has_permission(self, request, view):
        if not _authenticated(request):
            return False
        return resolve_tenant(request).can_check_in


class IsAdminRole(BasePermission):
    message = "Only the studio's admins may do this."

    def has_permission(self, request, view):
        if not _authenticated(request):
            return False
        return resolve_tenant(request).is_admin


class StaffWriteAdminOnly(BasePermission):
    """Reads for staff; writes for ADMIN (coupons)."""

    message = "Only the studio's admins may change this."

    def has_permission(self, request, view):
        if not _authenticated(request):
            return False
        tenant = resolve_tenant(request)
        if request.method in SAFE_METHODS:
            return tenant.is_staff
        return tenant.is_admin

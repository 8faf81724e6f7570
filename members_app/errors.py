from django.utils.translation import gettext_lazy

from spinning.errors import Conflict


class InsufficientCredits(Conflict):
    code = "insufficient_credits"
    detail = gettext_lazy("The member does not have enough credits.")


class MemberInactive(Conflict):
    code = "member_inactive"
    detail = gettext_lazy("Only ACTIVE members may buy or book.")


class MemberExists(Conflict):
    code = "member_exists"
    detail = gettext_lazy("This person is already a member of this studio.")


class EmailTaken(Conflict):
    code = "email_taken"
    detail = gettext_lazy("An account with this email already exists; log in with its password to join this studio.")


class LastAdmin(Conflict):
    code = "last_admin"
    detail = gettext_lazy("A studio keeps at least one ADMIN: give the role to someone else first.")

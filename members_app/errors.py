from spinning.errors import Conflict


class InsufficientCredits(Conflict):
    code = "insufficient_credits"
    detail = "The member does not have enough credits."


class MemberInactive(Conflict):
    code = "member_inactive"
    detail = "Only ACTIVE members may buy or book."


class MemberExists(Conflict):
    code = "member_exists"
    detail = "This person is already a member of this studio."


class EmailTaken(Conflict):
    code = "email_taken"
    detail = "An account with this email already exists; log in with its password to join this studio."

"""Accounts (DOMAIN.md 1): tokens, password change and reset.

A token is the person's, valid in every studio they belong to. Tokens are django-rest-knox
rows (only a digest stored) that expire after TOKEN_TTL_DAYS without use; every token of a
person is revoked when their password changes or is reset. Reset links carry Django's
`default_token_generator` token, which stops working once the password changes (so a link works
once) or after PASSWORD_RESET_TIMEOUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from members_app.models import Notification, User
from members_app.notifications import notify_account
from spinning.errors import DomainError, Invalid


class InvalidCredentials(DomainError):
    status = 400
    code = "invalid_credentials"
    detail = _("Email or password is wrong.")


class InvalidResetToken(DomainError):
    status = 400
    code = "invalid_token"
    detail = _("This password reset link is wrong, used or expired.")


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the secret: shown to the person once, never stored
    expires_at: datetime


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise Invalid(fields={"new_password": list(error.messages)}) from None


def token_issue(*, user: User) -> IssuedToken:
    """A new token for the person; their expired tokens are deleted on the way."""
    AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    instance, token = AuthToken.objects.create(user=user)
    return IssuedToken(token=token, expires_at=instance.expiry)


def token_revoke(*, token: AuthToken) -> None:
    """Log out: the token in use answers 401 from now on."""
    AuthToken.objects.filter(pk=token.pk).delete()


def password_change(*, user: User, old_password: str, new_password: str) -> IssuedToken:
    """Change the password (old one required); every token of the person is revoked, a new one issued."""
    if not user.check_password(old_password):
        raise InvalidCredentials("The current password is wrong.")
    _validate_password(new_password, user)
    with transaction.atomic(durable=True):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        AuthToken.objects.filter(user=user).delete()
        return token_issue(user=user)


def password_reset_link(*, user: User) -> str:
    query = urlencode(
        {"uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)}
    )
    return f"{settings.PASSWORD_RESET_URL}?{query}"


def password_reset_request(*, email: str) -> None:
    """Mail a reset link if the email has an active account; the caller learns nothing either way."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    link = password_reset_link(user=user)
    # Through the outbox (DOMAIN.md 15), in the language the request asked for (Accept-Language).
    with transaction.atomic(durable=True):
        notify_account(
            kind=Notification.Kind.PASSWORD_RESET,
            user=user,
            language=translation.get_language() or "en",
            context={"link": link},
        )


def _user_of_reset_link(uid: str, token: str) -> User:
    try:
        user_id = force_str(urlsafe_base64_decode(uid))
        user = User.objects.get(pk=user_id, is_active=True)
    except (ValueError, TypeError, OverflowError, ValidationError, User.DoesNotExist):
        raise InvalidResetToken() from None
    if not default_token_generator.check_token(user, token):
        raise InvalidResetToken()
    return user


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link then stops working and every token is revoked."""
    user = _user_of_reset_link(uid, token)
    _validate_password(new_password, user)
    with transaction.atomic(durable=True):
        locked = User.objects.select_for_update().get(pk=user.pk)
        # Checked again under the lock: two confirms with one link, exactly one wins.
        if not default_token_generator.check_token(locked, token):
            raise InvalidResetToken()
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        AuthToken.objects.filter(user=locked).delete()
    return locked


def user_language_set(*, user: User, language: str) -> User:
    """The staff user's admin language (`en`, `tr`, or "" for the browser's)."""
    if language not in {"", *(code for code, _ in settings.LANGUAGES)}:
        raise Invalid({"language": _("en or tr.")})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return user

"""`Authorization: Bearer <token>` with django-rest-knox tokens (DOMAIN.md 1).

Only a SHA-512 digest of each token is stored. A request costs one query: the token row by its
15-character `token_key` prefix, not expired, with its user and the user's memberships (their
studios and roles: what `spinning.tenancy.resolve_tenant` needs next, so a member of one studio
costs no second query; `tenancy.token_with_memberships`); the digest is compared in constant time. knox's own `_cleanup_token` would read every other token of the
user on each request (a second query), so expired rows are filtered in the query instead and
deleted when the person next logs in (`members_app.services.accounts.token_issue`).

Each use pushes the expiry out to now + TOKEN_TTL_DAYS, but the row is written only when that
moves it by more than REST_KNOX["MIN_REFRESH_INTERVAL"] seconds (at most once an hour).
"""

import re
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

# Tokens we issue: 64 lower-case hex characters (knox's default, no prefix). Anything else is
# refused before the database sees it (a NUL byte would otherwise reach PostgreSQL).
TOKEN_PATTERN = re.compile(rf"[0-9a-f]{{{knox_settings.AUTH_TOKEN_CHARACTER_LENGTH}}}")


class BearerTokenAuthentication(TokenAuthentication):
    """knox's authentication in one query; the token is the person's, valid in every studio."""

    def authenticate_header(self, request):
        return "Bearer"

    def authenticate_credentials(self, token: bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not TOKEN_PATTERN.fullmatch(token):
            raise exceptions.AuthenticationFailed("Invalid token.")
        from spinning.tenancy import token_with_memberships  # not at import: DRF loads this class early

        digest = hash_token(token)
        for auth_token, memberships in token_with_memberships(token[: CONSTANTS.TOKEN_KEY_LENGTH], now=timezone.now()):
            if compare_digest(digest, auth_token.digest):
                self.renew_token(auth_token)
                user, auth_token = self.validate_user(auth_token)
                user._memberships = memberships  # resolve_tenant reads them instead of querying
                return user, auth_token
        raise exceptions.AuthenticationFailed("Invalid token.")


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The schema's `bearerAuth` security scheme (SPECTACULAR_SETTINGS) for this authentication."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <token>`"}

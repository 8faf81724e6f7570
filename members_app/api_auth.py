"""HTTP endpoints for accounts (API.md "Auth and people"): token, logout, password change and reset.

Thin: parse, check the throttle, call `members_app.services.accounts`, render. Registration stays in
`members_app.api` (it makes a member of a studio).
"""

from django.contrib.auth import authenticate, logout
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from members_app.serializers import (
    MessageSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from members_app.services import accounts
from spinning.schema import operation
from spinning.throttling import PasswordResetEmailThrottle, PasswordResetThrottle, login_failure_keys, login_failures

THROTTLED = OpenApiResponse(description="`throttled`: too many attempts; `Retry-After` says when to retry.")


def token_body(issued: accounts.IssuedToken) -> dict:
    return TokenResponseSerializer({"token": issued.token, "expires_at": issued.expires_at}).data


@extend_schema(tags=["auth"])
class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @operation(
        summary="Log in: exchange email and password for a token",
        description=(
            "Returns a new token for `Authorization: Bearer <token>`, valid in every studio the person "
            "belongs to (no `X-Organization` needed). It expires after `TOKEN_TTL_DAYS` days without "
            "use (`expires_at`; each use pushes it out). Wrong passwords are throttled per client "
            "address and per email (`THROTTLE_LOGIN_FAILURES`): once either is full, every attempt "
            "answers 429 until the window slides on."
        ),
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(description="`invalid_credentials` (wrong email or password), `validation_error`."),
            429: THROTTLED,
        },
        errors=[(400, ["invalid_credentials"]), (429, ["throttled"])],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"].lower()
        failures = login_failures()
        keys = login_failure_keys(request, email)
        wait = failures.wait(keys)
        if wait is not None:
            raise Throttled(wait=wait)
        user = authenticate(request, username=email, password=serializer.validated_data["password"])
        if user is None or not user.is_active:
            failures.hit(keys)
            raise accounts.InvalidCredentials()
        return Response(token_body(accounts.token_issue(user=user)))


@extend_schema(tags=["auth"])
class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @operation(
        summary="Log out: revoke the token in use",
        description=(
            "The token of this request answers 401 from then on; the person's other tokens keep "
            "working. With a session (browsable API), the session ends."
        ),
        request=None,
        responses={204: None, 401: OpenApiResponse(description="`not_authenticated`, `authentication_failed`.")},
    )
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            accounts.token_revoke(token=request.auth)
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @operation(
        summary="Change the password",
        description=(
            "Needs the current password. Every token of the person is revoked (other devices log "
            "out) and a new token is returned."
        ),
        request=PasswordChangeSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(
                description="`invalid_credentials` (the current password is wrong), `validation_error` "
                "(e.g. the new password is too weak, in `fields.new_password`)."
            ),
            401: OpenApiResponse(description="`not_authenticated`, `authentication_failed`."),
        },
        errors=[(400, ["invalid_credentials"])],
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = accounts.password_change(user=request.user, **serializer.validated_data)
        return Response(token_body(issued))


@extend_schema(tags=["auth"])
class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [PasswordResetThrottle, PasswordResetEmailThrottle]

    @operation(
        summary="Ask for a password reset link",
        description=(
            "Always 202 with the same body, whether or not the email has an account. If it has, the "
            "person gets an email with a link `{PASSWORD_RESET_URL}?uid=<uid>&token=<token>` (valid "
            "once, for `PASSWORD_RESET_TIMEOUT` seconds). Throttled per client address and per email "
            "(`THROTTLE_PASSWORD_RESET`)."
        ),
        request=PasswordResetSerializer,
        responses={
            202: OpenApiResponse(
                MessageSerializer, description="Accepted: if the email has an account, a link is on its way."
            ),
            400: OpenApiResponse(description="`validation_error`."),
            429: THROTTLED,
        },
    )
    def post(self, request):
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accounts.password_reset_request(email=serializer.validated_data["email"])
        return Response(
            {"detail": gettext("If this email has an account, a link to reset the password is on its way.")},
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(tags=["auth"])
class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @operation(
        summary="Set a new password from a reset link",
        description=(
            "Takes `uid` and `token` from the link and the new password. Every token of the person is "
            "revoked; log in again with the new password. The link then stops working."
        ),
        request=PasswordResetConfirmSerializer,
        responses={
            200: OpenApiResponse(MessageSerializer, description="The password is changed."),
            400: OpenApiResponse(
                description="`invalid_token` (a wrong, used or expired link), `validation_error` "
                "(e.g. a weak password, in `fields.new_password`)."
            ),
        },
        errors=[(400, ["invalid_token"])],
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accounts.password_reset_confirm(**serializer.validated_data)
        return Response({"detail": gettext("The password is changed. Log in with the new password.")})

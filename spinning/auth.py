from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`; the token is the person's, valid in every studio."""

    keyword = "Bearer"

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    """Paths answer with and without a trailing slash, for every method, without a redirect."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"

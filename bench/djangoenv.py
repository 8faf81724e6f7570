"""Load Django in a harness subprocess (DATABASE_URL and the rest come from bench.common.server_env)."""

import os


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinning.settings")
    import django

    django.setup()

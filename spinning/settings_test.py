"""Settings for the test suite: the production settings with a throwaway key and a fast hasher."""

import os

os.environ.setdefault("SPINNING_ALLOW_DEV_SECRET", "1")
os.environ.setdefault("FAST_PASSWORD_HASHER", "1")

from spinning.settings import *  # noqa: E402,F403

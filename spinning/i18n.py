"""Our message catalogs (locale/<lang>/LC_MESSAGES/django.po) are compiled in the build, never
committed as .mo: `make run`/`make test`/`make venv` and the deploy's `manage.py compilemessages`
do it, and the test run compiles them itself when a .mo is missing or older than its .po (so
`pytest` on a fresh clone reads Turkish too). Why not commit .mo: a binary that silently drifts
from its .po is the classic stale-translation bug; msgfmt is part of gettext, present wherever
`makemessages` works."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.conf import settings


def stale_catalogs() -> list[Path]:
    found = []
    for locale_dir in settings.LOCALE_PATHS:
        for po in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
            mo = po.with_suffix(".mo")
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                found.append(po)
    return found


def compile_catalogs() -> list[Path]:
    """Compile what is stale with msgfmt; returns the catalogs compiled (none without msgfmt)."""
    msgfmt = shutil.which("msgfmt")
    stale = stale_catalogs()
    if msgfmt is None:
        return []
    for po in stale:
        subprocess.run([msgfmt, "--check-format", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
    if stale:
        from django.utils.translation import trans_real

        trans_real._translations = {}  # re-read the catalogs on next use
        trans_real._default = None
    return stale

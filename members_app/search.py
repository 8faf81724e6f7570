"""Loose matching of names for search (DOMAIN.md 16): `yilmaz`, `YILMAZ` and `Yılmaz` all find
"Yılmaz"; `sahin` and `şahin` find "Şahin".

One folding rule, written twice on purpose: `fold()` for the query text in Python and
`fold_expression()` for the stored key in SQL (a generated column, so the database keeps it true
for every writer: services, the admin, seeds, bulk loads). SQLite's `lower()` only knows ASCII,
so the Turkish (and circumflexed) letters are replaced explicitly before lower-casing; the two
agree on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from django.db.models import Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower, Replace

LETTER_FOLDS: dict[str, str] = {
    "İ": "i",
    "I": "i",
    "ı": "i",
    "Ş": "s",
    "ş": "s",
    "Ğ": "g",
    "ğ": "g",
    "Ü": "u",
    "ü": "u",
    "Ö": "o",
    "ö": "o",
    "Ç": "c",
    "ç": "c",
    "Â": "a",
    "â": "a",
    "Î": "i",
    "î": "i",
    "Û": "u",
    "û": "u",
}
#: dropped from phone numbers in the key, so `5550000001` finds "+90 555 000 00 01"
PHONE_SEPARATORS = (" ", "-", "(", ")", ".", "+")

_TABLE = str.maketrans(LETTER_FOLDS)


def fold(text: str) -> str:
    """The search form of a text: Turkish letters to their plain Latin ones, lower case."""
    return text.translate(_TABLE).lower()


def fold_expression(expression: Combinable) -> Combinable:
    """`fold()` as a database expression (immutable: usable in a generated column)."""
    for letter, plain in LETTER_FOLDS.items():
        expression = Replace(expression, Value(letter), Value(plain))
    return Lower(expression)


def strip_phone_separators(expression: Combinable) -> Combinable:
    for separator in PHONE_SEPARATORS:
        expression = Replace(expression, Value(separator), Value(""))
    return expression

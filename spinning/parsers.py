"""The API's one request-body parser (API.md conventions: JSON in, JSON only).

`JsonOnlyParser` is the only entry of DEFAULT_PARSER_CLASSES, so a form, multipart or any other
body is refused with 415 `unsupported_media_type` wherever a view reads `request.data`
(`spinning.middleware.RequestInputMiddleware` refuses it for the views that never read a body).
On top of DRF's JSONParser it refuses, with 400 and a machine code, what would otherwise reach a
500 further in:

- nesting deeper than `MAX_DEPTH` (`too_deeply_nested`): Python's json recursion would raise
  RecursionError at ~1,000 levels, and no request of this API nests past a handful;
- the NUL character anywhere in a key or a string (`null_character`): PostgreSQL text cannot
  hold it, so it would fail in the database, or be stored where SQLite lets it through.
"""

from __future__ import annotations

import codecs
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

MAX_DEPTH = 32

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON text whose arrays/objects nest deeper than `max_depth`, before parsing it.

    Brackets inside strings do not count. Linear in the text; free when the text holds no more
    brackets than the bound (every ordinary request)."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                from spinning.errors import TooDeeplyNested  # spinning.errors imports DRF's views

                raise TooDeeplyNested()
        else:
            depth -= 1


def contains_nul(value) -> bool:
    """True when a parsed JSON value holds U+0000 in any key or string (depth already bounded)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(inner) for key, inner in value.items())
    if isinstance(value, list):
        return any(contains_nul(inner) for inner in value)
    return False


class JsonOnlyParser(JSONParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (ValueError, UnicodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        check_depth(text)
        try:
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        # A raw NUL is invalid JSON already; only the escape can put one into a value.
        if "\\u0000" in text and contains_nul(data):
            from spinning.errors import NullCharacter  # spinning.errors imports DRF's views

            raise NullCharacter()
        return data

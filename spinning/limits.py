"""Bounds on free text that has no column length of its own (API.md: never a 500 for bad input).

Every string a request may carry has a `max_length` in its serializer: the model column's for a
varchar (so the database never refuses it), these for text columns and passwords (so no request
stores or hashes megabytes). `spinning/tests/test_input.py` walks every request body of the
schema and fails on a string without a bound.
"""

LONG_TEXT_MAX_LENGTH = 5000  # descriptions, bios
PASSWORD_MAX_LENGTH = 256  # raw passwords, before hashing

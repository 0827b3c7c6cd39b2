"""The schemas' errors: the ``InputError`` family (``configuration.errors`` states the rule: no
personal data in a message; a cell is quoted only through ``schemas.danish_formats.shown``).

Row-level problems are not raised: a row that breaks its schema is quarantined with its
reasons, and a study file's problems are collected (``schemas.study_file``). What is raised is
input refused as a whole.
"""

from __future__ import annotations

from configuration.errors import PanelError


class InputError(PanelError):
    """Input refused as a whole (an export that is not one); the base of the schemas' errors."""

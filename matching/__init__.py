"""Matching volunteers against study criteria: pure logic, no I/O (the next issue builds it).

It will read current profiles from the panel store's ``volunteer`` and ``profile`` tables, never
``contact`` or ``submission_note``.
"""

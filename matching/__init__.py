"""Matching volunteers against study criteria: pure logic, no I/O.

``panel`` turns the store's profile columns (read by ``store.arrow_read``, never ``contact`` or
``submission_note``) into the columns criteria compare as of a date; ``engine`` evaluates a
study's criteria over every volunteer at once in three-valued logic (``outcomes``, walked by
``three_valued`` through ``schemas.study.dispatch``); ``funnel`` counts the attrition;
``evidence`` and ``candidates`` word why each candidate fits; ``reference`` is the row-by-row
evaluator the tests hold the engine to; ``regions`` maps postcodes to regions.
"""

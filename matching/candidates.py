"""A study's candidates as records to keep: who (pseudonymous), on which profile version,
eligible or needing screening, what to screen, and per criterion the outcome and evidence.

The two JSON columns are assembled from distinct cases (``matching.evidence``): each case's JSON
is written once by ``json.dumps`` and spread to the rows by Arrow, so a study with 100,000
candidates needs no Python loop over them.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as json_string

import numpy as np
import pandas as pd
import pyarrow as pa

from matching.engine import StudyMatch
from matching.evidence import distinct_cases, explain


def candidate_records(match: StudyMatch) -> pd.DataFrame:
    """volunteer_id, submission_id, status, and as JSON text: unknown_criteria (the criterion
    ids to screen) and explanation (``{criterion id: [outcome, evidence], ...}`` in the order
    written; the labels are in the study version); then age, sex and region."""
    rows = match.candidates
    taken = pa.array(rows, pa.int64())
    return pa.table(
        {
            "volunteer_id": match.panel.volunteer_ids.take(taken),
            "submission_id": match.panel.submission_ids.take(taken),
            "status": pa.array(match.status(rows), pa.string()),
            "unknown_criteria": _to_screen(match, rows),
            "explanation": _explanation(match, rows),
            **_filters(match, rows),
        }
    ).to_pandas(types_mapper=pd.ArrowDtype)


def _filters(match: StudyMatch, rows: np.ndarray) -> dict[str, pa.Array]:
    """Age, sex and region on the match date: what coordinators filter candidate lists by."""
    fields = match.panel.fields
    age = fields["age"]
    columns = {"age": pa.array(age.values[rows], mask=~age.known[rows]).cast(pa.int16())}
    for name in ("sex", "region"):
        field = fields[name]
        positions = pa.array(field.values[rows], pa.int8(), mask=~field.known[rows])
        columns[name] = pa.array(field.choices, pa.string()).take(positions)
    return columns


def _explanation(match: StudyMatch, rows: np.ndarray) -> pa.Array:
    explained = explain(match, rows)
    if not explained:
        return pa.array(["{}"] * len(rows), pa.string())
    # Every criterion's case fragments in one array; per row, one fragment of each criterion.
    # Ids (a-z, 0-9, '-', '_') and outcome words need no escaping; evidence does.
    fragments: list[str] = []
    picked = []
    last = len(explained) - 1
    for number, (ident, criterion) in enumerate(explained.items()):
        picked.append(criterion.case + len(fragments))
        fragments += [
            ("{" if number == 0 else ", ")
            + f'"{ident}": ["{outcome}", {json_string(said)}]'
            + ("}" if number == last else "")
            for outcome, said in zip(criterion.outcome, criterion.evidence, strict=True)
        ]
    row_major = pa.array(fragments, pa.large_string()).take(
        pa.array(np.stack(picked, axis=1).ravel())
    )
    # The taken fragments lie one row after another in one buffer: every row's JSON already,
    # so the rows are that buffer with every len(picked)-th fragment boundary (no copy).
    _, boundaries, text = row_major.buffers()
    first = row_major.offset
    fragment_ends = np.frombuffer(boundaries, dtype=np.int64)[first : first + len(row_major) + 1]
    row_ends = np.ascontiguousarray(fragment_ends[:: len(picked)])
    return pa.LargeStringArray.from_buffers(len(rows), pa.py_buffer(row_ends), text)


def _to_screen(match: StudyMatch, rows: np.ndarray) -> pa.Array:
    ids = list(match.screening)
    flags = [match.screening[ident][rows] for ident in ids]
    case, first_row = distinct_cases(flags) if ids else (np.zeros(len(rows), np.int64), [0])
    lists = [
        json.dumps([i for i, f in zip(ids, flags, strict=True) if f[row]]) for row in first_row
    ]
    return pa.array(lists, pa.string()).take(pa.array(case))

"""A study's candidates as records to keep: who (pseudonymous), on which profile version,
eligible or needing screening, what to screen, and per criterion the outcome and evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.engine import StudyMatch
from matching.evidence import explain


def candidate_records(match: StudyMatch) -> pd.DataFrame:
    """volunteer_id, submission_id, status, unknown_criteria, explanation: one row a candidate."""
    rows = match.candidates
    evidence = explain(match, rows)
    criteria = match.study.criteria()
    labels = {criterion.id: criterion.label for criterion in criteria}
    outcome_columns = [evidence[c.id].to_numpy() for c in criteria]
    evidence_columns = [evidence[f"{c.id}.evidence"].to_numpy() for c in criteria]
    ids = [c.id for c in criteria]
    explanation = (
        [
            [
                {"id": ident, "label": labels[ident], "outcome": outcome, "evidence": said}
                for ident, outcome, said in zip(ids, outcomes_of_row, evidence_of_row, strict=True)
            ]
            for outcomes_of_row, evidence_of_row in zip(
                zip(*outcome_columns, strict=True), zip(*evidence_columns, strict=True), strict=True
            )
        ]
        if len(rows)
        else []
    )
    to_screen = (
        np.stack([match.screening[i][rows] for i in match.screening]) if match.screening else None
    )
    screened = list(match.screening)
    unknown = [
        [screened[k] for k in np.flatnonzero(to_screen[:, j])] if to_screen is not None else []
        for j in range(len(rows))
    ]
    return pd.DataFrame(
        {
            "volunteer_id": match.panel.volunteer_ids[rows],
            "submission_id": match.panel.submission_ids[rows],
            "status": match.status(rows),
            "unknown_criteria": unknown,
            "explanation": explanation,
        }
    )

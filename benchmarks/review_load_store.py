"""The review benchmark's store, made once (run in a process of its own, with the store's
settings in its environment): a generated export ingested, a broad study matched, and a
coordinator. Prints "candidates: N", then one candidate id a line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from sqlalchemy import func, select

STUDY_ID, USER, PASSWORD = "review-load", "bench@example.org", "benchmark passphrase"
#: Share of generated rows that end up candidates (contactable, aged 18 to 110).
YIELD = 0.8


def prepare(candidates: int) -> None:
    from benchmarks.ingest_benchmark import generated_export
    from configuration.settings import load_settings
    from flows.ingest_flow import PLAIN_STEPS, ingest_file
    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from matching.panel import prepare_panel
    from review.passwords import hash_password
    from schemas.act import Act
    from schemas.review import Role
    from schemas.study import StudyDefinition
    from store import match_runs, review_users, studies
    from store.panel_store import PanelStore
    from store.tables import Candidate

    store = PanelStore.open(load_settings().store)
    now = datetime.now(UTC)
    with store.reading() as connection:
        published = studies.current_definition(connection, STUDY_ID) is not None
    if not published:
        rows = int(candidates / YIELD * 1.05)
        ingest_file(
            store,
            generated_export(rows, 11, 0.0),
            "benchmark",
            load_settings().ingest,
            run=PLAIN_STEPS,
        )
        study = StudyDefinition.model_validate(
            {
                "id": STUDY_ID,
                "title": "Review load benchmark",
                "status": "recruiting",
                "recruitment_target": 500,
                "contact": {"organiser": "Benchmark", "reply_to": "bench@example.org"},
                "inclusion": [{"id": "adult", "label": "Adult", "field": "age", "at_least": 18}],
                "exclusion": [
                    {"id": "pregnant", "label": "Pregnant", "field": "pregnant", "equals": True}
                ],
            }
        )
        with store.writing() as connection:
            studies.publish(connection, study, "", Act("benchmark", now))
        with store.reading() as connection:
            profiles, _ = match_runs.contactable_panel(connection)
        match = match_study(study, prepare_panel(profiles, now.date()))
        with store.writing() as connection:
            match_runs.record_match(
                connection,
                attrition_funnel(match),
                candidate_records(match),
                now.date(),
                Act("benchmark", now),
            )
        with store.writing() as connection:
            user_id = review_users.add_user(
                connection, USER, Role.COORDINATOR, hash_password(PASSWORD), Act("benchmark", now)
            )
            review_users.grant(connection, user_id, [STUDY_ID], Act("benchmark", now))
    with store.reading() as connection:
        ids = list(
            connection.execute(
                select(Candidate.volunteer_id).where(Candidate.study_id == STUDY_ID)
            ).scalars()
        )
        assert connection.execute(select(func.count()).select_from(Candidate)).scalar_one() == len(
            ids
        )
    print(f"candidates: {len(ids)}")
    print("\n".join(ids))


if __name__ == "__main__":
    prepare(int(sys.argv[1]))

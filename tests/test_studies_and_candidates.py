"""Publishing studies and keeping candidate lists, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from matching.candidates import candidate_records
from matching.engine import match_study
from matching.funnel import attrition_funnel
from matching.panel import prepare_panel
from store.candidate_changes import NO_LONGER_ELIGIBLE
from store.invitations import hold_candidates
from store.panel_store import PanelStore
from store.tables import Candidate, StudyVersion
from tests.helpers import (
    AS_OF,
    SAMPLES,
    STUDIES,
    contactable,
    definition,
    ingest,
    match_and_record,
    publish,
    published,
    record_match,
    rls_person,
    signup,
    submission_id,
    whole_list,
    write_signups,
    write_withdrawals,
)

#: Moments of later match runs, in order.
LATER = [datetime(2026, 11, 28, 13 + hour, 0, tzinfo=UTC) for hour in range(3)]


def test_publishing_keeps_every_version(store: PanelStore, tmp_path: Path) -> None:
    first = publish(store, STUDIES / "rls-magnesium.yaml")
    again = publish(store, STUDIES / "rls-magnesium.yaml")
    changed = tmp_path / "rls.yaml"
    changed.write_text(
        (STUDIES / "rls-magnesium.yaml").read_text().replace("at_most: 75", "at_most: 70")
    )
    second = publish(store, changed)
    assert (first.number, first.new, again.number, again.new) == (1, True, 1, False)  # type: ignore[attr-defined]
    assert (second.number, second.new) == (2, True)  # type: ignore[attr-defined]
    (summary,) = published(store)
    assert (summary.number, summary.versions, summary.version) == (2, 2, second.version)  # type: ignore[attr-defined]
    current = definition(store, "rls-magnesium")
    assert current is not None and current.inclusion[0].at_most == 70  # type: ignore[union-attr]
    with store.engine.connect() as connection:
        sources = (
            connection.execute(select(StudyVersion.source).order_by(StudyVersion.number))
            .scalars()
            .all()
        )
    assert "at_most: 75" in sources[0] and "at_most: 70" in sources[1]


def test_only_contactable_volunteers_are_ever_candidates(store: PanelStore, tmp_path: Path) -> None:
    people = [
        rls_person(1),
        rls_person(2, samtykke_kontakt="Nej", kontaktform=""),  # no consent
        rls_person(3),  # will withdraw
        rls_person(4),  # will be erased
    ] + [
        signup(
            indsendelse_id=submission_id(10 + i),
            email=f"x{i}@example.dk",
            diagnoser="I10",
            rls_trang="Nej",
        )
        for i in range(20)
    ]
    ingest(store, write_signups(tmp_path / "a.csv", people))
    ingest(
        store,
        write_withdrawals(
            tmp_path / "w.csv",
            [
                ("p3@example.dk", "01-04-2026 10:00:00", "afmeld"),
                ("p4@example.dk", "01-04-2026 10:00:00", "slet"),
            ],
        ),
    )
    publish(store, STUDIES / "rls-magnesium.yaml")
    found = match_and_record(store, "rls-magnesium")
    profiles, panel_size = contactable(store)
    assert [status for _, status in found] == ["eligible"]  # p1 only
    assert len(profiles) == 21 and panel_size == 23


def test_a_candidate_who_no_longer_fits_is_marked_not_deleted(
    store: PanelStore, tmp_path: Path
) -> None:
    ingest(
        store,
        write_signups(
            tmp_path / "a.csv", [rls_person(1, medicin="INGEN"), rls_person(2, medicin="INGEN")]
        ),
    )
    publish(store, STUDIES / "rls-magnesium.yaml")
    before = match_and_record(store, "rls-magnesium")
    assert [status for _, status in before] == ["eligible", "eligible"]
    # p2 starts taking magnesium: a newer profile says so.
    newer = rls_person(3, email="p2@example.dk", medicin="A12CC05", indsendt="01-06-2026 10:00:00")
    ingest(store, write_signups(tmp_path / "b.csv", [newer]))
    after = dict(match_and_record(store, "rls-magnesium"))
    assert sorted(after.values()) == ["eligible", NO_LONGER_ELIGIBLE]
    # The one still eligible was updated in place: its explanation reads back as JSON.
    (kept,) = whole_list(store, "rls-magnesium").itertuples()
    assert kept.explanation["age-18-75"] == ["met", "age 65"] and kept.unknown_criteria == []


def test_the_same_inputs_give_the_same_candidates(store: PanelStore) -> None:
    ingest(store, SAMPLES / "signups.csv")
    publish(store, STUDIES / "rls-magnesium.yaml")
    profiles, _ = contactable(store)
    study = definition(store, "rls-magnesium")
    assert study is not None
    first = candidate_records(match_study(study, prepare_panel(profiles, AS_OF)))
    second = candidate_records(
        match_study(study, prepare_panel(profiles.sample(frac=1, random_state=3), AS_OF))
    )
    key = ["volunteer_id"]
    assert (
        first.sort_values(key)
        .reset_index(drop=True)
        .equals(second.sort_values(key).reset_index(drop=True))
    )
    assert len(first) > 10


def test_the_panel_reads_back_as_stored(store: PanelStore, tmp_path: Path) -> None:
    empty, size = contactable(store)
    assert empty.empty and size == 0 and "submitted_at" in empty.columns
    answered = rls_person(1)
    unanswered = rls_person(
        2,
        koen="Kvinde",
        gravid="Ved ikke",
        hoejde_cm="",
        vaegt_kg="",
        diagnoser="",
        medicin="",
        ryger="",
        rls_trang="",
        rls_hvile="",
        rls_bevaegelse="",
        rls_aften="",
        rls_naetter_pr_uge="",
        soevnkvalitet="",
    )
    ingest(store, write_signups(tmp_path / "a.csv", [unanswered, answered]))
    profiles, _ = contactable(store)
    assert list(profiles["volunteer_id"]) == sorted(profiles["volunteer_id"])
    by_submission = {row["submission_id"]: row for row in profiles.to_dict("records")}
    first, second = by_submission[submission_id(1)], by_submission[submission_id(2)]
    assert first["submitted_at"] == datetime(2026, 3, 2, 20, 14, 5, tzinfo=UTC)  # 21:14 in CET
    assert first["birth_date"] == date(1961, 7, 14) and first["postcode"] == "8000"
    assert (first["height_cm"], first["weight_kg"], first["sex"]) == (182, 88.5, "male")
    assert (first["diagnoses"], first["medicines"], first["pregnant"]) == ("G25.8", "", None)
    assert first["smoker"] is False and first["rls_urge"] is True
    assert (first["rls_nights_per_week"], first["sleep_quality"]) == (5, 2)
    assert second["pregnant"] == "unknown" and second["sex"] == "female"
    for name in ("height_cm", "weight_kg", "diagnoses", "medicines", "smoker", "rls_urge"):
        assert second[name] is None or second[name] is pd.NA, name


def test_erasure_removes_the_candidate_rows_and_their_evidence(
    store: PanelStore, tmp_path: Path
) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [rls_person(1), rls_person(2)]))
    publish(store, STUDIES / "rls-magnesium.yaml")
    assert len(match_and_record(store, "rls-magnesium")) == 2
    ingest(
        store,
        write_withdrawals(tmp_path / "w.csv", [("p2@example.dk", "01-04-2026 10:00:00", "slet")]),
    )
    with store.engine.connect() as connection:
        left = connection.execute(select(Candidate.volunteer_id, Candidate.explanation)).all()
    assert len(left) == 1 and "G25.8" in str(left[0].explanation)
    assert len(whole_list(store, "rls-magnesium")) == 1


def rematch(store: PanelStore, as_of: date, now: datetime) -> dict[str, tuple[object, ...]]:
    """Match the RLS trial again and record it at ``now``; every row of its list."""
    profiles, _ = contactable(store)
    study = definition(store, "rls-magnesium")
    assert study is not None
    match = match_study(study, prepare_panel(profiles, as_of))
    record_match(store, attrition_funnel(match), candidate_records(match), as_of, "test", now)
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(
                Candidate.volunteer_id,
                Candidate.status,
                Candidate.age,
                Candidate.study_version,
                Candidate.hold_reason,
                Candidate.explanation,
                Candidate.updated_at,
            ).where(Candidate.study_id == "rls-magnesium")
        )
        return {row[0]: tuple(row[1:]) for row in rows}


def test_a_rematch_writes_only_the_candidates_whose_outcome_changed(
    store: PanelStore, tmp_path: Path
) -> None:
    birthday, steady = "29-11-1961", "14-07-1961"  # the first turns 65 on 29-11-2026
    people = [rls_person(1, foedselsdato=birthday)] + [
        rls_person(n, foedselsdato=steady) for n in range(2, 6)
    ]
    ingest(store, write_signups(tmp_path / "a.csv", people))
    publish(store, STUDIES / "rls-magnesium.yaml")
    first = rematch(store, AS_OF, LATER[0])
    assert len(first) == 5 and {row[0] for row in first.values()} == {"eligible"}

    again = rematch(store, AS_OF, LATER[1])
    assert again == first  # nothing changed, so no row was written, not even updated_at

    after_birthday = rematch(store, date(2026, 11, 30), LATER[2])
    changed = {v for v in first if after_birthday[v] != first[v]}
    assert len(changed) == 1
    (who,) = changed
    assert after_birthday[who][1] == 65 and after_birthday[who][-1] == LATER[2]
    assert "age 65" in str(after_birthday[who][4])


def test_a_new_study_version_reaches_every_row_and_a_held_candidate_is_listed_again(
    store: PanelStore, tmp_path: Path
) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [rls_person(n) for n in range(1, 4)]))
    publish(store, STUDIES / "rls-magnesium.yaml")
    first = rematch(store, AS_OF, LATER[0])
    (held, *_) = sorted(first)
    with store.engine.begin() as connection:
        hold_candidates(connection, "rls-magnesium", {held: "no longer fits"}, {held}, LATER[1])

    target_changed = tmp_path / "rls.yaml"
    target_changed.write_text(
        (STUDIES / "rls-magnesium.yaml")
        .read_text()
        .replace("recruitment_target: 120", "recruitment_target: 150")
    )
    version = publish(store, target_changed).version  # type: ignore[attr-defined]
    second = rematch(store, AS_OF, LATER[2])
    assert {row[2] for row in second.values()} == {version}
    assert second[held][0] == "eligible" and second[held][3] is None


def test_a_large_drop_is_recorded_in_chunks(store: PanelStore, tmp_path: Path) -> None:
    people = [rls_person(n) for n in range(1, 1201)]
    ingest(store, write_signups(tmp_path / "a.csv", people))
    publish(store, STUDIES / "rls-magnesium.yaml")
    assert len(rematch(store, AS_OF, LATER[0])) == 1200
    narrowed = tmp_path / "rls.yaml"
    narrowed.write_text(
        (STUDIES / "rls-magnesium.yaml").read_text().replace("at_most: 75", "at_most: 30")
    )
    publish(store, narrowed)
    after = rematch(store, AS_OF, LATER[1])
    assert {row[0] for row in after.values()} == {NO_LONGER_ELIGIBLE}

"""The answer benchmark's store: a generated panel ingested, a study matched, and a wave of
invitations queued and sent as ``panel contact`` does (to the local outbox folders), each
carrying its answer link. Made fresh for every run (answering changes it).

The settings come from the environment (``PANEL_*``), as a ``panel`` command reads them;
``PANEL_PUBLIC_URL`` must be set, or the invitations carry no link.
"""

from __future__ import annotations

from datetime import UTC, datetime

STUDY_ID = "answer-load"
#: What the answer page shows of the study: its organiser, neutral title and what it involves.
CONTACT = {
    "organiser": "Benchmark Universitetshospital",
    "reply_to": "svar-benchmark@example.org",
    "invitation_title": "En undersøgelse af søvn og hverdag",
    "involves": "To besøg på hospitalet og et spørgeskema. Du får en godtgørelse for din tid.",
    "auto_approve_eligible": True,
    "invitation_budget": 1.0,
}
#: Queue-and-send rounds at most: a contact run may invite in waves smaller than the budget.
ROUNDS = 5


def sent_wave(invitations: int, volunteers: int) -> list[str]:
    """Build the store for a wave of ``invitations`` sent invitations among ``volunteers``
    generated signups; the answer-link token of each sent invitation."""
    from benchmarks.ingest_benchmark import generated_export
    from configuration.settings import load_settings
    from flows.ingest_flow import PLAIN_STEPS, ingest_file
    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from matching.panel import prepare_panel
    from outreach.contact_run import queue_invitations, send_invitations
    from schemas.act import Act
    from schemas.danish_formats import today_in_denmark
    from schemas.study import StudyDefinition
    from store import match_runs, outbox, studies
    from store.invitations import SENT
    from store.panel_store import PanelStore

    settings = load_settings()
    if settings.outreach.public_url is None:
        raise SystemExit("PANEL_PUBLIC_URL is not set: the invitations would carry no link")
    store = PanelStore.open(settings.store)
    now, today = datetime.now(UTC), today_in_denmark()
    export = generated_export(volunteers, 11, 0.0)
    ingested = ingest_file(store, export, "benchmark", settings.ingest, PLAIN_STEPS)
    if ingested.status != "accepted":
        raise SystemExit(f"the generated panel was {ingested.status}: {ingested.refusal}")
    study = StudyDefinition.model_validate(
        {
            "id": STUDY_ID,
            "title": "Answer page load benchmark",
            "status": "recruiting",
            "recruitment_target": invitations,
            "contact": CONTACT,
            "inclusion": [{"id": "adult", "label": "Adult", "field": "age", "at_least": 18}],
        }
    )
    with store.writing() as connection:
        studies.publish(connection, study, "", Act("benchmark", now))
    with store.reading() as connection:
        profiles, _ = match_runs.contactable_panel(connection)
    match = match_study(study, prepare_panel(profiles, today))
    with store.writing() as connection:
        match_runs.record_match(
            connection,
            attrition_funnel(match),
            candidate_records(match),
            today,
            Act("benchmark", now),
        )
    sent: list[str] = []
    for _ in range(ROUNDS):
        queue_invitations(store, settings.outreach, [STUDY_ID], today, "benchmark", now)
        send_invitations(store, settings.outreach, today)
        before = len(sent)
        with store.reading() as connection:
            statuses = outbox.message_ids(connection, STUDY_ID)
        sent = [message_id for message_id, status in statuses.items() if status == SENT]
        if len(sent) >= invitations or len(sent) == before:
            break
    store.close()
    if len(sent) < invitations:
        raise SystemExit(f"only {len(sent)} of {invitations} invitations were sent")
    return [store.answer_links.token(message_id) for message_id in sent]

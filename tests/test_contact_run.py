"""Outreach against a real store: who is queued, who is held back by which rule, and that the
sender delivers each invitation once, checking the rules again at the moment of sending."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from configuration.settings import Settings
from outreach.channels import OutboxFolder, SmsFolder
from outreach.contact_rules import ContactPlan, HeldBack
from outreach.contact_run import queue_invitations, send_invitations
from outreach.sender import Channels, SendReport
from schemas.act import Act
from schemas.review import Action
from schemas.study_file import load_study
from store import decisions, outbox
from store.panel_store import PanelStore
from store.tables import Candidate, Contact, Decision, Invitation
from tests.helpers import (
    AS_OF,
    NOW,
    RLS,
    STUDIES,
    everyone,
    ingest,
    match_and_record,
    publish,
    rls_person,
    snapshot,
    submission_id,
    write_signups,
    write_withdrawals,
)

LATER = "20-11-2026 10:00:00"


def volunteer(store: PanelStore, number: int) -> str:
    with store.engine.connect() as connection:
        return connection.execute(
            select(Contact.volunteer_id).where(Contact.email == f"p{number}@example.dk")
        ).scalar_one()


def approve(store: PanelStore, *numbers: int, study_id: str = RLS) -> None:
    with store.engine.begin() as connection:
        for number in numbers:
            volunteer_id = volunteer(store, number)
            version = connection.execute(
                select(Candidate.review_version).where(
                    Candidate.study_id == study_id, Candidate.volunteer_id == volunteer_id
                )
            ).scalar_one()
            decisions.decide(
                connection, study_id, volunteer_id, Action.APPROVE,
                act=Act("coordinator@example.dk", NOW), seen_version=version,
            )  # fmt: skip


def panel_of(store: PanelStore, tmp_path: Path, numbers: Sequence[int], **cells: str) -> None:
    ingest(store, write_signups(tmp_path / "s.csv", [rls_person(n, **cells) for n in numbers]))
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)


def rls_variant(store: PanelStore, tmp_path: Path, *replacements: tuple[str, str]) -> None:
    """Publish and match the RLS trial's file with these text replacements."""
    text = (STUDIES / f"{RLS}.yaml").read_text()
    for old, new in replacements:
        text = text.replace(old, new)
    path = tmp_path / "variant.yaml"
    path.write_text(text)
    publish(store, path)
    definition = load_study(path).definition
    assert definition is not None
    match_and_record(store, definition.id)


def queue(store: PanelStore, settings: Settings, dry_run: bool = False) -> ContactPlan:
    (plan,) = queue_invitations(
        store, settings.outreach, [RLS], AS_OF, "test-run", NOW, dry_run=dry_run
    )
    return plan


def channels(settings: Settings) -> Channels:
    return Channels(
        OutboxFolder(settings.outreach.outbox_dir), SmsFolder(settings.outreach.sms_dir)
    )


def send(store: PanelStore, settings: Settings, after: timedelta = timedelta()) -> SendReport:
    return send_invitations(
        store, settings.outreach, AS_OF, channels(settings), clock=lambda: NOW + after
    )


def held(plan: ContactPlan) -> dict[HeldBack, list[str]]:
    return {rule: sorted(ids) for rule, ids in plan.held_back.items()}


def test_only_approved_volunteers_whose_current_profile_fits_and_who_consent_are_queued(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 7))
    approve(store, 1, 3, 4, 5, 6)
    changed = [
        # 4 no longer reports restless legs in any way: the RLS trial no longer fits.
        rls_person(
            4, indsendelse_id=submission_id(40), indsendt=LATER, diagnoser="INGEN",
            rls_trang="Nej", rls_hvile="Nej", rls_bevaegelse="Nej", rls_aften="Nej",
            rls_naetter_pr_uge="0",
        ),
        # 5 takes back consent to be contacted.
        rls_person(5, indsendelse_id=submission_id(50), indsendt=LATER, samtykke_kontakt="Nej"),
    ]  # fmt: skip
    ingest(store, write_signups(tmp_path / "changed.csv", changed))
    ingest(store, write_withdrawals(tmp_path / "w.csv", [("p3@example.dk", LATER, "afmeld")]))

    dry = queue(store, settings, dry_run=True)
    plan = queue(store, settings)

    ids = {n: volunteer(store, n) for n in range(1, 7)}
    assert sorted(plan.invite) == sorted([ids[1], ids[6]])
    assert held(plan) == {
        HeldBack.NOT_APPROVED: [ids[2]],
        HeldBack.WITHDRAWN: [ids[3]],
        HeldBack.NO_LONGER_FITS: [ids[4]],
        HeldBack.NO_CONSENT: [ids[5]],
    }
    assert dry.invite == plan.invite and dry.held_back == plan.held_back
    with store.engine.connect() as connection:
        row = connection.execute(
            select(Candidate.status, Candidate.hold_reason).where(Candidate.volunteer_id == ids[4])
        ).one()
        queued = connection.execute(
            select(Invitation.volunteer_id, Invitation.status, Invitation.submission_id)
        ).all()
    assert row.status == "no_longer_eligible"
    assert "no longer fits" in row.hold_reason and "(restless-legs)" in row.hold_reason
    assert sorted(queued) == sorted(
        [(ids[1], "queued", submission_id(1)), (ids[6], "queued", submission_id(6))]
    )
    before = snapshot(store)
    queue(store, settings)  # a re-run finds the same and changes nothing
    assert snapshot(store) == before


def test_a_dry_run_changes_nothing(store: PanelStore, settings: Settings, tmp_path: Path) -> None:
    panel_of(store, tmp_path, range(1, 4))
    approve(store, 1, 2)
    before = snapshot(store)
    plan = queue(store, settings, dry_run=True)
    assert len(plan.invite) == 2
    assert snapshot(store) == before


def test_the_sender_delivers_each_invitation_once_and_a_rerun_sends_nothing(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 4))
    approve(store, 1, 2)
    queue(store, settings)
    first = send(store, settings)
    again = queue(store, settings)
    second = send(store, settings)

    assert first.sent == 2 and second.sent == 0
    assert again.invite == []
    assert sorted(again.held_back[HeldBack.ALREADY_INVITED]) == sorted(
        [volunteer(store, 1), volunteer(store, 2)]
    )
    files = sorted(settings.outreach.outbox_dir.glob("*.eml"))
    messages = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files
    ]
    assert sorted(m["To"] for m in messages) == ["p1@example.dk", "p2@example.dk"]
    with store.engine.connect() as connection:
        recorded = outbox.message_ids(connection)
    assert sorted(recorded) == sorted(m["Message-ID"] for m in messages)
    assert set(recorded.values()) == {"sent"}


def test_a_withdrawal_after_queueing_stops_the_invitation(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 3))
    approve(store, 1, 2)
    queue(store, settings)
    ingest(store, write_withdrawals(tmp_path / "w.csv", [("p2@example.dk", LATER, "afmeld")]))
    report = send(store, settings)

    assert report.sent == 1 and sum(report.cancelled.values()) == 1
    (only,) = settings.outreach.outbox_dir.glob("*.eml")
    assert "p1@example.dk" in only.read_text()
    with store.engine.connect() as connection:
        reason = connection.execute(
            select(Invitation.cancel_reason).where(Invitation.volunteer_id == volunteer(store, 2))
        ).scalar_one()
    assert reason == "withdrawn since it was queued"


def test_the_local_outboxes_forget_an_erased_volunteers_messages(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    """The folders stand in for the mail server and the SMS gateway on this machine: once a
    volunteer is erased, the copies of what was sent to them are deleted at once."""
    panel_of(store, tmp_path, [1, 2])
    ingest(store, write_signups(tmp_path / "t.csv", [rls_person(3, kontaktform="sms")]))
    match_and_record(store, RLS)
    approve(store, 1, 2, 3)
    queue(store, settings)
    assert send(store, settings).sent == 3
    erasures = [("p2@example.dk", LATER, "slet"), ("p3@example.dk", LATER, "slet")]
    ingest(store, write_withdrawals(tmp_path / "w.csv", erasures))

    (kept,) = settings.outreach.outbox_dir.glob("*.eml")
    assert "p1@example.dk" in kept.read_text()
    assert list(settings.outreach.sms_dir.glob("*")) == []
    report = send(store, settings)
    assert (report.sent, report.forgotten, report.not_forgotten) == (0, 0, 0)  # none left


def test_sms_volunteers_get_an_sms_and_no_email(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, [1], kontaktform="sms")
    approve(store, 1)
    queue(store, settings)
    assert send(store, settings).sent == 1
    assert list(settings.outreach.outbox_dir.glob("*")) == []
    (sms,) = settings.outreach.sms_dir.glob("*.sms.json")
    assert "+45" in sms.read_text() and "Søren" in sms.read_text()


def test_the_contact_policy_holds_across_studies_and_the_budget_per_study(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 6))
    rls_variant(
        store,
        tmp_path,
        (f"id: {RLS}", "id: rls-small"),
        ("recruitment_target: 120", "recruitment_target: 1"),
        ("invitation_budget: 3", "invitation_budget: 2"),
    )
    approve(store, 1, 2)
    approve(store, 1, 2, 3, 4, 5, study_id="rls-small")

    plans = {
        p.study_id: p for p in queue_invitations(store, settings.outreach, None, AS_OF, "t", NOW)
    }

    # Studies go by id: rls-magnesium invites 1 and 2, so rls-small may not invite them again
    # within 30 days, and of 3, 4 and 5 its budget (2 x 1) takes two, in the seeded order.
    assert sorted(plans[RLS].invite) == sorted([volunteer(store, 1), volunteer(store, 2)])
    small_plan = plans["rls-small"]
    assert sorted(small_plan.held_back[HeldBack.INVITED_RECENTLY]) == sorted(plans[RLS].invite)
    assert len(small_plan.invite) == 2
    assert len(small_plan.held_back[HeldBack.BUDGET_SPENT]) == 1
    assert set(small_plan.invite) | set(small_plan.held_back[HeldBack.BUDGET_SPENT]) == {
        volunteer(store, n) for n in (3, 4, 5)
    }


def test_a_study_approving_eligible_candidates_itself_records_the_approval_as_it_invites(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 4))
    rls_variant(
        store,
        tmp_path,
        ("invitation_budget: 3", "invitation_budget: 3\n  auto_approve_eligible: true"),
    )
    eligible = {row.volunteer_id for row in everyone(store, status="eligible")}
    plan = queue(store, settings)
    assert set(plan.invite) == eligible and eligible
    with store.engine.connect() as connection:
        invited = connection.execute(select(Invitation.decision_id, Invitation.approved_by)).all()
        recorded = connection.execute(
            select(Decision.decision_id, Decision.action, Decision.decided_by, Decision.note)
        ).all()
    # A decision like any other: by the study's rule, named by the invitation it led to.
    assert {d for d, _ in invited} == {d for d, *_ in recorded} and len(recorded) == len(eligible)
    assert {who for _, who in invited} == {"automatic approval (study setting)"}
    assert {(action, who) for _, action, who, _ in recorded} == {
        ("approve", "automatic approval (study setting)")
    }
    assert {note for *_, note in recorded} == {decisions.AUTOMATIC_RULE}
    assert {row.review_state for row in everyone(store, status="eligible")} == {"approved"}
    assert all(row.automatic for row in everyone(store, status="eligible"))

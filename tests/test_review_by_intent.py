"""Issue 19 over HTTP, on both databases: decisions only by intent, typed words never lost,
limits the server enforces, page numbers worked out, automatic approvals and invitations
shown, denied looks logged, and no identifier of the form on any page or export."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from configuration.settings import load_settings
from outreach.contact_run import queue_invitations, send_invitations
from schemas.review import NOTE_MAX_LENGTH
from store import candidate_list
from store.panel_store import PanelStore
from store.tables import AccessLog, Candidate, Contact, Decision, Profile
from tests.helpers import AS_OF, NOW, RLS, STUDIES, everyone, match_and_record, publish
from tests.review_fixtures import OTHER, csrf, log_in

LIST = f"/studies/{RLS}/candidates"


def states(store: PanelStore) -> dict[str, str]:
    return {row.volunteer_id: row.review_state for row in everyone(store)}


def ask(client: TestClient, address: str, **form: str) -> str:
    """The bulk form sent once (as the button does): the confirmation page."""
    token = csrf(client, LIST)
    page = client.post(f"{LIST}-bulk?{address}", data={"csrf_token": token, **form})
    assert page.status_code == 200, page.text
    return page.text


def digest_of(page: str) -> str:
    return re.findall(r'name="confirm" value="([0-9a-f]+)"', page)[0]


def test_a_bulk_form_without_a_decision_decides_nothing_and_keeps_the_selection(
    client: TestClient, reviewed: PanelStore
) -> None:
    log_in(client, "coord@example.org")
    before = states(reviewed)
    token = csrf(client, LIST)
    sent = client.post(
        f"{LIST}-bulk?status=eligible&region=midtjylland",
        data={"csrf_token": token, "note": "asked on the phone"},
    )
    assert sent.status_code == 422 and "Nothing decided: choose a decision" in sent.text
    assert "asked on the phone</textarea>" in sent.text  # the note, as typed
    assert 'value="midtjylland" selected' in sent.text  # the selection, as filtered
    assert states(reviewed) == before
    with reviewed.engine.connect() as connection:
        seen = connection.execute(select(AccessLog.what, AccessLog.detail)).all()
    assert ("candidate list", "status=eligible&region=midtjylland") in seen  # shown: logged


def test_a_bulk_approval_states_its_numbers_and_needs_their_confirmation(
    client: TestClient, reviewed: PanelStore
) -> None:
    log_in(client, "coord@example.org")
    eligible = everyone(reviewed, status="eligible")
    screening = everyone(reviewed, status="needs_screening")
    unknown = {c for row in screening for c in row.unknown_criteria}
    page = ask(client, "", action="approve-unscreened")
    everybody = len(eligible) + len(screening)
    assert (
        f"approve {everybody}</strong>:\n    {len(eligible)} eligible, {len(screening)} needing "
        f"screening on {len(unknown)} criteria." in page
    )
    assert "invited although some criteria are unknown" in page
    assert set(states(reviewed).values()) == {"undecided"}  # asked, not done
    # Someone decides meanwhile: the confirmation names another selection, and is refused.
    one = eligible[0]
    with reviewed.engine.begin() as connection:
        connection.execute(
            update(Candidate)
            .where(Candidate.volunteer_id == one.volunteer_id)
            .values(review_state="rejected", review_version=Candidate.review_version + 1)
        )
    token = csrf(client, LIST)
    form = {"csrf_token": token, "action": "approve-unscreened", "confirm": digest_of(page)}
    again = client.post(f"{LIST}-bulk", data=form)
    assert "the selection changed since it was shown" in again.text
    assert f"approve {everybody - 1}</strong>" in again.text
    assert "approved" not in states(reviewed).values()
    done = client.post(f"{LIST}-bulk", data=form | {"confirm": digest_of(again.text)})
    assert f"approved {everybody - 1} (left alone: 1 already rejected)" in done.text
    assert list(states(reviewed).values()).count("approved") == everybody - 1


def test_plain_approval_leaves_out_who_needs_screening(
    client: TestClient, reviewed: PanelStore
) -> None:
    log_in(client, "coord@example.org")
    screening = everyone(reviewed, status="needs_screening")
    page = ask(client, "", action="approve")
    assert f"Left alone: {len(screening)} need screening" in page
    token = csrf(client, LIST)
    client.post(
        LIST + "-bulk", data={"csrf_token": token, "action": "approve", "confirm": digest_of(page)}
    )
    assert {row.review_state for row in everyone(reviewed, status="needs_screening")} == {
        "undecided"
    }
    assert {row.review_state for row in everyone(reviewed, status="eligible")} == {"approved"}


def test_approving_one_who_needs_screening_is_a_choice_of_its_own_a_study_can_forbid(
    client: TestClient, reviewed: PanelStore, tmp_path: Path
) -> None:
    one = everyone(reviewed, status="needs_screening")[0]
    log_in(client, "coord@example.org")
    path = f"{LIST}/{one.volunteer_id}"
    page = client.get(path).text
    assert f"Approve although {len(one.unknown_criteria)} unknown" in page
    form = {"csrf_token": csrf(client, path), "seen_version": str(one.review_version)}
    plain = client.post(f"{path}/decision", data=form | {"action": "approve", "note": "ok"})
    assert plain.status_code == 422 and "needs screening on" in plain.text
    assert ">ok</textarea>" in plain.text
    # The study file now forbids it: the page no longer offers it, and the server refuses it.
    text = (STUDIES / f"{RLS}.yaml").read_text().replace("approve_needs_screening: true", "")
    (tmp_path / "rls.yaml").write_text(text)
    publish(reviewed, tmp_path / "rls.yaml")
    match_and_record(reviewed, RLS)
    one = next(r for r in everyone(reviewed) if r.volunteer_id == one.volunteer_id)
    page = client.get(path).text
    assert "Approve although" not in page and "invites only eligible candidates" in page
    form["seen_version"] = str(one.review_version)
    refused = client.post(f"{path}/decision", data=form | {"action": "approve-unscreened"})
    assert refused.status_code == 422 and "approve_needs_screening: true" in refused.text
    assert states(reviewed)[one.volunteer_id] == "undecided"


def test_every_refusal_comes_back_with_what_was_typed(
    client: TestClient, reviewed: PanelStore
) -> None:
    one = everyone(reviewed, status="eligible")[0]
    log_in(client, "coord@example.org")
    path = f"{LIST}/{one.volunteer_id}?status=eligible"
    form = {"csrf_token": csrf(client, path), "seen_version": str(one.review_version)}
    words = "Spoke to the study nurse; & <not> sure"
    escaped = "Spoke to the study nurse; &amp; &lt;not&gt; sure</textarea>"
    no_reason = client.post(
        f"{LIST}/{one.volunteer_id}/decision?status=eligible",
        data=form | {"action": "reject", "note": words},
    )
    assert no_reason.status_code == 422 and "a rejection needs a reason" in no_reason.text
    assert escaped in no_reason.text
    client.post(f"{LIST}/{one.volunteer_id}/decision", data=form | {"action": "defer"})
    late = client.post(
        f"{LIST}/{one.volunteer_id}/decision",
        data=form | {"action": "reject", "reason": "other", "note": words},
    )
    assert late.status_code == 409 and escaped in late.text
    assert 'value="other" selected' in late.text
    bulk = client.post(
        f"{LIST}-bulk?status=eligible",
        data={"csrf_token": form["csrf_token"], "action": "reject", "note": words},
    )
    assert bulk.status_code == 422 and escaped in bulk.text
    assert 'value="reject" selected' in bulk.text and 'value="eligible" selected' in bulk.text


def test_the_server_enforces_the_limits_and_answers_with_its_own_pages(
    client: TestClient, reviewed: PanelStore
) -> None:
    one = everyone(reviewed, status="eligible")[0]
    log_in(client, "coord@example.org")
    path = f"{LIST}/{one.volunteer_id}"
    token = csrf(client, path)
    long = client.post(
        f"{path}/decision", data={"csrf_token": token, "action": "note", "note": "x" * 300_000}
    )
    assert long.status_code == 422 and f"at most {NOTE_MAX_LENGTH:,} characters" in long.text
    with reviewed.engine.connect() as connection:
        assert connection.scalar(select(Decision.decision_id)) is None
    odd = client.post(f"{path}/decision", data={"csrf_token": token, "seen_version": "x"})
    assert odd.status_code == 400 and "<html" in odd.text and "seen_version" in odd.text
    assert "detail" not in odd.text and odd.headers["content-type"].startswith("text/html")
    bulk = client.post(
        f"{LIST}-bulk", data={"csrf_token": token, "action": "defer", "note": "y" * 2001}
    )
    assert bulk.status_code == 422 and "at most 2,000 characters" in bulk.text


def test_a_page_number_is_worked_out_not_taken_from_the_address(
    client: TestClient, reviewed: PanelStore, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(candidate_list, "PAGE_SIZE", 5)
    log_in(client, "coord@example.org")
    order = [r.volunteer_id for r in everyone(reviewed, sort="volunteer_id")]
    pages = -(-len(order) // 5)
    beyond = client.get(LIST, params={"sort": "volunteer_id", "page": 99}).text
    assert f"page {pages} of {pages}" in beyond
    second = client.get(LIST, params={"sort": "volunteer_id", "page": 1, "after": order[4]}).text
    assert f"page 2 of {pages}" in second
    assert re.findall(r"<code>(V[0-9A-Z]+)</code>", second) == order[5:10]


def test_an_automatic_approval_is_shown_as_one_and_an_invited_candidate_offers_no_decision(
    client: TestClient, reviewed: PanelStore
) -> None:
    match_and_record(reviewed, OTHER)
    queue_invitations(reviewed, load_settings().outreach, [OTHER], AS_OF, "t", NOW)
    send_invitations(reviewed, load_settings().outreach, AS_OF, clock=lambda: NOW)
    log_in(client, "other@example.org")
    invited = [r for r in everyone(reviewed, study=OTHER) if r.invitation == "sent"]
    assert invited and all(r.review_state == "approved" and r.automatic for r in invited)
    page = client.get(f"/studies/{OTHER}/candidates", params={"invitation": "sent"}).text
    assert page.count("approved (automatic)") == min(len(invited), 50)  # a page
    one = client.get(f"/studies/{OTHER}/candidates/{invited[0].volunteer_id}").text
    assert "approve (automatic)" in one and "auto_approve_eligible" in one
    assert 'value="approve"' not in one and 'value="reject"' not in one
    assert 'value="note"' in one and "can no longer take effect" in one
    token = csrf(client, f"/studies/{OTHER}/candidates/{invited[0].volunteer_id}")
    refused = client.post(
        f"/studies/{OTHER}/candidates/{invited[0].volunteer_id}/decision",
        data={"csrf_token": token, "action": "reject", "reason": "declined"},
    )
    assert refused.status_code == 422 and "has been invited already" in refused.text
    overview = client.get(f"/studies/{OTHER}").text
    assert "approved" in overview


def test_a_denied_look_is_in_the_access_log(client: TestClient, reviewed: PanelStore) -> None:
    one = everyone(reviewed)[0]
    log_in(client, "other@example.org")
    assert client.get(f"{LIST}/{one.volunteer_id}").status_code == 404
    log_in(client, "research@example.org")
    assert client.get(LIST).status_code == 403
    with reviewed.engine.connect() as connection:
        denied = connection.execute(
            select(
                AccessLog.actor, AccessLog.study_id, AccessLog.volunteer_id, AccessLog.detail
            ).where(AccessLog.what == "denied")
        ).all()
    assert (
        "other@example.org",
        RLS,
        one.volunteer_id,
        f"404 GET {LIST}/{one.volunteer_id}",
    ) in denied
    assert ("research@example.org", RLS, None, f"403 GET {LIST}") in denied


def test_no_identifier_of_the_form_on_any_page_or_export(
    client: TestClient, reviewed: PanelStore
) -> None:
    match_and_record(reviewed, OTHER)
    rows = everyone(reviewed)
    log_in(client, "admin@example.org")
    pages = [
        client.get("/").text,
        client.get(f"/studies/{RLS}").text,
        client.get(f"/studies/{OTHER}").text,
    ]
    for study in (RLS, OTHER):
        base = f"/studies/{study}/candidates"
        pages.append(client.get(base).text)
        pages += [
            client.get(f"{base}/{r.volunteer_id}").text for r in everyone(reviewed, study=study)
        ]
        pages.append(client.get(f"{base}.csv").content.decode("utf-8-sig"))
        with zipfile.ZipFile(io.BytesIO(client.get(f"{base}.xlsx").content)) as book:
            pages += [book.read(name).decode() for name in book.namelist()]
    pages.append(ask(client, "", action="approve-unscreened"))
    text = "\n".join(pages)
    with reviewed.engine.connect() as connection:
        people = connection.execute(
            select(
                Profile.submission_id,
                Profile.birth_date,
                Contact.first_name,
                Contact.last_name,
                Contact.email,
                Contact.phone,
            ).join(Contact, Contact.volunteer_id == Profile.volunteer_id)
        ).all()
    assert people and rows
    for submission, born, first, last, email, phone in people:
        found = [
            what
            for what in (
                submission,
                email,
                phone,
                f"{first} {last}",
                born.isoformat(),
                born.strftime("%d-%m-%Y"),
                born.strftime("%d.%m.%Y"),
            )
            if what and what in text
        ]
        assert not found, found
    assert "profile version 1" in text and "profile_version" in text

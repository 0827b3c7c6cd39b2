"""The review app over HTTP: login, sessions, CSRF, security headers, authorisation on
every route and object, decisions (with conflicts), exports and the access log."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from store import candidate_list
from store.panel_store import PanelStore
from store.tables import AccessLog, Contact
from tests.helpers import PASSWORD, RLS, everyone
from tests.review_fixtures import OTHER, csrf, log_in, login_token


def test_every_page_needs_a_login_and_carries_security_headers(client: TestClient) -> None:
    for path in ("/", f"/studies/{RLS}", f"/studies/{RLS}/candidates"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    page = client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_login_sets_a_strict_cookie_and_logout_ends_the_session(client: TestClient) -> None:
    token = login_token(client)
    response = client.post(
        "/login",
        data={"email": "COORD@example.org", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    assert client.get("/").status_code == 200
    session = client.cookies.get("panel_session")
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    client.cookies.set("panel_session", session or "")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_without_its_form_token_is_refused(client: TestClient) -> None:
    response = client.post(
        "/login", data={"email": "coord@example.org", "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403 and "panel_session" not in client.cookies


# Refused logins, their limits and the rest of the accounts: tests/test_review_accounts.py


def study_routes(study_id: str, volunteer_id: str) -> list[tuple[str, str]]:
    base = f"/studies/{study_id}"
    return [
        ("GET", base),
        ("GET", f"{base}/candidates"),
        ("GET", f"{base}/candidates.csv"),
        ("GET", f"{base}/candidates.xlsx"),
        ("GET", f"{base}/candidates/{volunteer_id}"),
        ("POST", f"{base}/candidates/{volunteer_id}/decision"),
        ("POST", f"{base}/candidates-bulk"),
    ]


def answers(client: TestClient, study_id: str, volunteer_id: str) -> dict[str, int]:
    """Every study route's status for this client (forms carry its CSRF token)."""
    data = {"csrf_token": csrf(client, "/"), "action": "approve", "status": "eligible"}
    return {
        f"{method} {path}": client.request(
            method, path, data=data if method == "POST" else None
        ).status_code
        for method, path in study_routes(study_id, volunteer_id)
    }


def test_a_study_not_granted_is_not_found_on_any_route(
    client: TestClient, reviewed: PanelStore
) -> None:
    volunteer = everyone(reviewed)[0].volunteer_id
    log_in(client, "other@example.org")
    assert RLS not in client.get("/").text
    found = answers(client, RLS, volunteer)
    assert set(found.values()) == {404}, found
    assert {r.review_state for r in everyone(reviewed)} == {"undecided"}


def test_a_researcher_sees_counts_but_never_candidates(
    client: TestClient, reviewed: PanelStore
) -> None:
    volunteer = everyone(reviewed)[0].volunteer_id
    log_in(client, "research@example.org")
    overview = client.get(f"/studies/{RLS}")
    assert overview.status_code == 200 and "Attrition funnel" in overview.text
    assert volunteer not in overview.text and "/candidates" not in overview.text
    found = answers(client, RLS, volunteer)
    assert found.pop(f"GET /studies/{RLS}") == 200
    assert set(found.values()) == {403}, found


def test_a_candidate_of_another_study_is_not_found_here(
    client: TestClient, reviewed: PanelStore
) -> None:
    listed = {r.volunteer_id for r in everyone(reviewed)}
    with reviewed.engine.connect() as connection:
        outsider = connection.execute(
            select(Contact.volunteer_id).where(Contact.volunteer_id.not_in(listed)).limit(1)
        ).scalar_one()
    log_in(client, "coord@example.org")
    assert client.get(f"/studies/{RLS}/candidates/{outsider}").status_code == 404


def test_an_admin_sees_every_study(client: TestClient) -> None:
    log_in(client, "admin@example.org")
    page = client.get("/")
    assert RLS in page.text and OTHER in page.text
    assert client.get(f"/studies/{OTHER}/candidates").status_code == 200


def test_no_name_e_mail_or_phone_reaches_a_page(client: TestClient, reviewed: PanelStore) -> None:
    rows = everyone(reviewed)
    with reviewed.engine.connect() as connection:
        contacts = connection.execute(
            select(Contact.first_name, Contact.last_name, Contact.email, Contact.phone).where(
                Contact.volunteer_id.in_([r.volunteer_id for r in rows])
            )
        ).all()
    log_in(client, "coord@example.org")
    pages = [client.get(f"/studies/{RLS}/candidates").text]
    pages += [client.get(f"/studies/{RLS}/candidates/{r.volunteer_id}").text for r in rows[:10]]
    pages.append(client.get(f"/studies/{RLS}/candidates.csv").text)
    text = "\n".join(pages)
    for first, last, email, phone in contacts:
        assert email not in text and f"{first} {last}" not in text
        assert phone is None or phone not in text


def test_deciding_keeps_history_and_a_conflict_is_told(
    client: TestClient, reviewed: PanelStore
) -> None:
    one = everyone(reviewed, status="eligible")[0]
    log_in(client, "coord@example.org")
    path = f"/studies/{RLS}/candidates/{one.volunteer_id}"
    token = csrf(client, path)
    form = {"csrf_token": token, "seen_version": str(one.review_version)}
    done = client.post(f"{path}/decision", data=form | {"action": "approve"})
    assert done.status_code == 200 and "Saved: approved" in done.text
    assert "coord@example.org" in done.text  # the history names who decided
    late = client.post(f"{path}/decision", data=form | {"action": "reject", "reason": "declined"})
    assert late.status_code == 409 and "someone else decided first" in late.text
    assert "is now approved" in late.text
    note = client.post(
        f"{path}/decision",
        data={"csrf_token": token, "action": "note", "note": "<script>alert(1)</script>"},
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in note.text
    assert "<script>alert(1)" not in note.text


def test_a_form_without_the_session_token_changes_nothing(
    client: TestClient, reviewed: PanelStore
) -> None:
    one = everyone(reviewed, status="eligible")[0]
    log_in(client, "coord@example.org")
    path = f"/studies/{RLS}/candidates/{one.volunteer_id}/decision"
    for token in ("", "forged"):
        response = client.post(path, data={"csrf_token": token, "action": "approve"})
        assert response.status_code == 403
    assert everyone(reviewed, status="eligible")[0].review_state == "undecided"


def test_bulk_approval_of_a_filtered_selection(client: TestClient, reviewed: PanelStore) -> None:
    log_in(client, "coord@example.org")
    token = csrf(client, f"/studies/{RLS}/candidates")
    form = {"csrf_token": token, "action": "approve"}
    asked = client.post(f"/studies/{RLS}/candidates-bulk?status=eligible&region=", data=form)
    eligible = everyone(reviewed, status="eligible")
    assert asked.status_code == 200 and f"approve {len(eligible)}</strong>" in asked.text
    assert {r.review_state for r in everyone(reviewed)} == {"undecided"}  # only asked
    digest = re.findall(r'name="confirm" value="([0-9a-f]+)"', asked.text)[0]
    response = client.post(
        f"/studies/{RLS}/candidates-bulk?status=eligible", data=form | {"confirm": digest}
    )
    assert response.status_code == 200 and f"approved {len(eligible)}" in response.text
    assert {r.review_state for r in everyone(reviewed, status="eligible")} == {"approved"}
    assert {r.review_state for r in everyone(reviewed, status="needs_screening")} == {"undecided"}


def test_filters_pages_and_bad_filters(client: TestClient, reviewed: PanelStore) -> None:
    log_in(client, "coord@example.org")
    page = client.get(f"/studies/{RLS}/candidates", params={"status": "needs_screening"})
    shown = set(re.findall(r"<code>(V[0-9A-Z]+)</code>", page.text))
    assert shown == {r.volunteer_id for r in everyone(reviewed, status="needs_screening")}
    partial = client.get(
        f"/studies/{RLS}/candidates", params={"status": "eligible"}, headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200 and "<html" not in partial.text
    bad = client.get(f"/studies/{RLS}/candidates", params={"age_min": "old"})
    assert bad.status_code == 400 and "age_min" in bad.text


def test_next_and_previous_links_page_through_the_list(
    client: TestClient, reviewed: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(candidate_list, "PAGE_SIZE", 3)
    log_in(client, "coord@example.org")
    order = [r.volunteer_id for r in everyone(reviewed, sort="age", descending="true")]
    seen, path = [], f"/studies/{RLS}/candidates?sort=age&descending=true"
    while path:
        page = client.get(path).text
        seen += re.findall(r"<code>(V[0-9A-Z]+)</code>", page)
        links = dict(
            (title, href.replace("&amp;", "&"))
            for href, title in re.findall(
                r'<a href="([^"]+)"[^>]*>(← Previous page|Next page →)</a>', page
            )
        )
        assert "after=" in links.get("Next page →", "after=") and "descending=true" in page
        path = links.get("Next page →", "")
    assert seen == order and len(order) > 6
    back = client.get(links["← Previous page"]).text
    assert re.findall(r"<code>(V[0-9A-Z]+)</code>", back) == order[-(len(order) % 3 or 3) - 3 :][:3]
    beyond = client.get(f"/studies/{RLS}/candidates?sort=age&descending=true&page=99").text
    last = -(-len(order) // 3)  # a typed page past the end is the last one
    assert f"page {last} of {last}" in beyond
    assert re.findall(r"<code>(V[0-9A-Z]+)</code>", beyond) == order[(last - 1) * 3 :]


def test_exports_are_formula_safe_and_every_view_is_logged(
    client: TestClient, reviewed: PanelStore
) -> None:
    log_in(client, "coord@example.org")
    one = everyone(reviewed)[0]
    client.get(f"/studies/{RLS}/candidates", params={"region": "midtjylland"})
    client.get(f"/studies/{RLS}/candidates/{one.volunteer_id}")
    exported = client.get(f"/studies/{RLS}/candidates.csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {r["volunteer_id"] for r in rows} == {r.volunteer_id for r in everyone(reviewed)}
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    assert client.get(f"/studies/{RLS}/candidates.xlsx").content[:2] == b"PK"
    with reviewed.engine.connect() as connection:
        logged = connection.execute(
            select(AccessLog.actor, AccessLog.what, AccessLog.volunteer_id, AccessLog.detail)
        ).all()
    assert ("coord@example.org", "candidate list", None, "region=midtjylland") in logged
    assert ("coord@example.org", "candidate", one.volunteer_id, None) in logged
    assert {"export csv", "export xlsx"} <= {what for _, what, _, _ in logged}


def test_a_crafted_link_cannot_put_words_on_a_page(client: TestClient) -> None:
    log_in(client, "coord@example.org")
    path = f"/studies/{RLS}/candidates"
    assert "call 5550100" not in client.get(path, params={"done": "call 5550100"}).text
    assert "approved 3" in client.get(path, params={"done": "approved 3"}).text


def test_the_candidate_page_says_whether_they_were_invited_without_saying_where(
    client: TestClient, reviewed: PanelStore
) -> None:
    from configuration.settings import load_settings
    from outreach.contact_run import queue_invitations, send_invitations
    from tests.helpers import AS_OF, NOW

    one = everyone(reviewed, status="eligible")[0]
    log_in(client, "coord@example.org")
    path = f"/studies/{RLS}/candidates/{one.volunteer_id}"
    assert "Not invited." in client.get(path).text
    form = {"csrf_token": csrf(client, path), "seen_version": str(one.review_version)}
    client.post(f"{path}/decision", data=form | {"action": "approve"})
    queue_invitations(reviewed, load_settings().outreach, [RLS], AS_OF, "t", NOW)
    send_invitations(reviewed, load_settings().outreach, AS_OF, clock=lambda: NOW)

    page = client.get(path).text
    assert 'class="badge sent">sent<' in page and "Not invited." not in page
    with reviewed.engine.connect() as connection:
        address = connection.scalar(
            select(Contact.email).where(Contact.volunteer_id == one.volunteer_id)
        )
    assert address and address not in page

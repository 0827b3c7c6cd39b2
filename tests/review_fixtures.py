"""Shared fixtures of the review app's HTTP tests: a matched store with a coordinator of each
study, a researcher and an admin, and a TestClient on the app over it (on both databases)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from schemas.review import Role
from store.panel_store import PanelStore
from tests.helpers import PASSWORD, RLS, STUDIES, add_user, publish

#: The second study: it approves its eligible candidates itself.
OTHER = "sleep-healthy"


@pytest.fixture
def reviewed(matched: PanelStore) -> PanelStore:
    publish(matched, STUDIES / f"{OTHER}.yaml")
    add_user(matched, "coord@example.org", Role.COORDINATOR, RLS)
    add_user(matched, "other@example.org", Role.COORDINATOR, OTHER)
    add_user(matched, "research@example.org", Role.RESEARCHER, RLS)
    add_user(matched, "admin@example.org", Role.ADMIN)
    return matched


@pytest.fixture
def client(reviewed: PanelStore) -> Iterator[TestClient]:
    with TestClient(create_app(reviewed), base_url="https://testserver") as client:
        yield client


def login_token(client: TestClient) -> str:
    """The login form's CSRF token (its cookie is set on the client too)."""
    return csrf(client, "/login")


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    token = login_token(client)
    client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    return client


def csrf(client: TestClient, path: str) -> str:
    """The CSRF token of the form on ``path``."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert token is not None, path
    return token[1]

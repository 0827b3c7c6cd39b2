"""The demo's volunteers answer: the answer page served on loopback, scripted volunteers who
follow the links in the invitations they were sent (some yes, some no, one stop, one who
answers the screening questions), and the study team who gets the names of those who said yes.

Every answer goes through the real page over HTTP, as a browser would send it: the page is
opened, its form token read, the form posted. Nothing is written into the store behind its
back.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from rich.console import Console
from sqlalchemy import Connection

from configuration.settings import load_settings
from schemas.act import Act
from schemas.referral import ReferralStep
from schemas.review import Action, CandidateQuery
from schemas.study import CriterionBase, StudyDefinition, children
from store.panel_store import PanelStore

#: The study whose volunteers answer (the demo's model study) and the one whose waves follow.
STUDY = "rls-magnesium"
WAVE_STUDY = "sleep-healthy"
#: What the model study's invited volunteers answer, in the order they were invited (the
#: rest do not answer); the last one invited, a candidate who needed screening, says yes and
#: answers the questions.
RLS_SCRIPT = ("yes", "yes", "no", "stop", "yes", "no")
#: The first of the sleep study's volunteers answer; the rest have not answered yet.
WAVE_SCRIPT = ("yes", "no", "no", "yes", "no", "no", "yes", "no", "no", "no")
#: Whom the study team is, in the access log.
STUDY_TEAM = "rls-mag study team (panel demo)"

_LINK = re.compile(r"https?://[^\s\"'<>]+/svar/[A-Za-z0-9_-]{43}")
_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_QUESTION = re.compile(r'<input type="radio" name="(svar-[^"]+)"')


@contextmanager
def answer_page_served() -> Iterator[str]:
    """``panel respond`` on a free loopback port, for the demo's duration; invitations sent
    meanwhile carry links to it (``PANEL_PUBLIC_URL``, restored afterwards)."""
    import uvicorn  # deferred, as every command's heavy imports

    from respond.app import create_app
    from respond.limits import RateLimit

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    # Every scripted volunteer comes from 127.0.0.1: one address's share would not do.
    app = create_app(rate_limit=RateLimit(burst=1000, per_minute=1000))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    serving = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    before = os.environ.get("PANEL_PUBLIC_URL")
    os.environ["PANEL_PUBLIC_URL"] = url
    serving.start()
    try:
        while not server.started:
            serving.join(0.02)
        yield url
    finally:
        server.should_exit = True
        serving.join()
        listening.close()
        if before is None:
            del os.environ["PANEL_PUBLIC_URL"]
        else:
            os.environ["PANEL_PUBLIC_URL"] = before


@dataclass
class Answered:
    """What the scripted volunteers did."""

    given: dict[str, int]
    questions: int = 0


def approve_one_to_screen(out: Console, store: PanelStore, as_of: date) -> None:
    """A coordinator approves one candidate of the model study who needs screening (the study
    allows it), and `panel contact` invites them: the answer page will ask what is unknown."""
    from flows.contact_flow import contact_volunteers
    from store import decisions
    from store.candidate_list import selection

    with store.writing() as connection:
        waiting = selection(connection, STUDY, CandidateQuery(status="needs_screening"))
        chosen = min(row.volunteer_id for row in waiting)
        decisions.decide(
            connection, STUDY, chosen, Action.APPROVE,
            act=Act("panel demo", datetime.now(UTC)), seen_version=None, unscreened=True,
        )  # fmt: skip
    run = contact_volunteers([STUDY], as_of, actor="panel demo")
    out.print(
        f"{STUDY}: a coordinator approves one candidate who needs screening; "
        f"{sum(len(plan.invite) for plan in run.plans)} more invited"
    )


def answer_invitations(out: Console, store: PanelStore) -> None:
    """The model study's and the sleep study's volunteers follow their links and answer."""
    from store.answer_links import sent_copies

    with store.reading() as connection:
        rls = sent_copies(connection, STUDY)
        sleep = sent_copies(connection, WAVE_STUDY)
        definition = _definition(connection, STUDY)
    script: list[str | None] = [*RLS_SCRIPT[: len(rls) - 1]]
    script += [None] * (len(rls) - 1 - len(script)) + ["yes"]
    with httpx.Client(timeout=30) as client:
        answered = _answer(client, rls, script, definition)
        out.print(_said(STUDY, answered, len(rls)))
        waves = _answer(client, sleep, list(WAVE_SCRIPT), None)
        out.print(_said(WAVE_STUDY, waves, len(sleep)))


def study_team_takes(out: Console, store: PanelStore) -> None:
    """The study team exports its referrals (names only of those who said yes and passed the
    questions), takes them, reaches one and enrols another."""
    from panelmatch import referrals_cli
    from store import referral_list

    path = load_settings().data_dir / f"referrals-{STUDY}.csv"
    referrals_cli.export(STUDY, "csv", path, STUDY_TEAM)
    act = Act(STUDY_TEAM, datetime.now(UTC))
    with store.writing() as connection:
        listed = referral_list.referral_list(connection, STUDY)
        for referral in listed:
            referral_list.take(connection, STUDY, referral.invitation_id, act)
        steps = [ReferralStep.REACHED, ReferralStep.ENROLLED]
        for referral, step in zip(listed, steps, strict=False):
            referral_list.record_step(connection, STUDY, referral.invitation_id, step, act)
    out.print(
        f"the study team takes its {len(listed)} referrals, reaches one and enrols one "
        "(their answers are final from now on)"
    )


def _answer(
    client: httpx.Client,
    copies: list[str],
    script: list[str | None],
    definition: StudyDefinition | None,
) -> Answered:
    answered = Answered(given={})
    for copy, choice in zip(copies, script, strict=False):
        if choice is None:
            continue
        link = _link_in(Path(copy))
        page = client.get(link)
        page.raise_for_status()
        shown = client.post(link, data={"answer": choice, "form_token": _form_token(page.text)})
        shown.raise_for_status()
        answered.given[choice] = answered.given.get(choice, 0) + 1
        fields = _QUESTION.findall(shown.text)
        if fields and definition is not None:
            client.post(
                f"{link}/spoergsmaal",
                data=_fitting_answers(definition, fields) | {"form_token": _form_token(shown.text)},
            ).raise_for_status()
            answered.questions += len(set(fields))
    return answered


def _fitting_answers(definition: StudyDefinition, fields: list[str]) -> dict[str, str]:
    """What a volunteer who fits answers: met for what the study includes, not met for what
    it excludes (each question's option by its position, as the form sends it)."""
    excluded = {c.id for top in definition.exclusion for c in _subtree(top)}
    by_id = {criterion.id: criterion for criterion in definition.criteria()}
    chosen = {}
    for field in dict.fromkeys(fields):
        criterion = by_id[field.removeprefix("svar-")]
        wanted = "not_met" if criterion.id in excluded else "met"
        assert criterion.question is not None
        options: list[str] = [option.means for option in criterion.question.answers]
        chosen[field] = str(options.index(wanted))
    return chosen


def _subtree(criterion: CriterionBase) -> Iterator[CriterionBase]:
    yield criterion
    for child in children(criterion):
        yield from _subtree(child)


def _link_in(copy: Path) -> str:
    """The answer link in a copy a folder channel wrote (``.eml`` or ``.sms.json``)."""
    if copy.suffix == ".eml":
        import email
        import email.policy

        message = email.message_from_bytes(copy.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
    else:
        text = copy.read_text(encoding="utf-8")
    found = _LINK.search(text)
    assert found is not None, f"no answer link in {copy.name}"
    return found.group(0)


def _form_token(page: str) -> str:
    found = _FORM_TOKEN.search(page)
    assert found is not None, "the answer page carries no form token"
    return found.group(1)


def _definition(connection: Connection, study_id: str) -> StudyDefinition:
    from store import studies

    definition = studies.current_definition(connection, study_id)
    assert definition is not None
    return definition


def _said(study_id: str, answered: Answered, invited: int) -> str:
    given = ", ".join(f"{count} {choice}" for choice, count in answered.given.items())
    asked = f"; {answered.questions} screening questions answered" if answered.questions else ""
    return f"{study_id}: of {invited} invited, {given or 'nobody'} answered{asked}"

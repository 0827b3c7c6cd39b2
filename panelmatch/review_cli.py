"""``panel users ...``, ``panel candidates decide`` and ``panel review``: who may review, deciding
from scripts, and the review web app."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from configuration.settings import load_settings
from panelmatch.command_base import open_store, serve
from panelmatch.console import err, out
from schemas.act import Act
from schemas.danish_formats import COPENHAGEN
from schemas.review import REJECT_REASONS, Action, CandidateQuery, Role

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from store.review_users import User

users_app = typer.Typer(help="Who may use the review app.", no_args_is_help=True)


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]
Studies = Annotated[
    list[str] | None,
    typer.Option("--study", help="A study id to grant (repeatable).", show_default=False),
]
Revoked = Annotated[
    list[str] | None,
    typer.Option("--study", help="A study id to revoke (repeatable).", show_default=False),
]


@users_app.command("add")
def add_user(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    role: Annotated[Role, typer.Option(help="What they may do.")],
    study: Studies = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user with a password (asked for twice, or read with --password-stdin)."""
    from review.passwords import hash_password
    from store import review_users

    if "@" not in email:
        _fail(f"'{email}' is not an e-mail address")
    password = _new_password(password_stdin)
    store = open_store()
    act = _act()
    # UserExists, UnknownStudy: said by the one handler (panelmatch.command_base), exit code 1.
    with store.writing() as connection:
        user_id = review_users.add_user(connection, email, role, hash_password(password), act)
        review_users.grant(connection, user_id, study or [], act)
    granted = f", granted {', '.join(study)}" if study else ""
    out.print(f"added {email.strip().lower()} as {role.value}{granted}")


@users_app.command("grant")
def grant(email: str, study: Studies = None) -> None:
    """Grant a user more studies."""
    from store import review_users

    store = open_store()
    with store.writing() as connection:
        user = _user(connection, email)
        review_users.grant(  # UnknownStudy: said by the one handler
            connection, user.user_id, study or [], _act()
        )
    out.print(f"{user.email} may now see {', '.join(sorted({*user.studies, *(study or [])}))}")


@users_app.command("revoke")
def revoke(email: str, study: Revoked = None) -> None:
    """Take studies away from a user: their next request already goes without them."""
    from store import review_users

    if not study:
        _fail("name the studies to revoke with --study ID")
    with open_store().writing() as connection:
        user = _user(connection, email)
        try:
            review_users.revoke(connection, user.user_id, study, _act())
        except review_users.NotGranted as problem:
            _fail(f"{user.email} has {problem}")
    left = ", ".join(sorted(user.studies - set(study))) or "no study"
    out.print(f"{user.email} may now see {left}")


@users_app.command("disable")
def disable(email: str) -> None:
    """Stop a user from logging in; their sessions end at once."""
    from store import review_users

    _switch(email, review_users.disable, "disabled", "was disabled already")


@users_app.command("enable")
def enable(email: str) -> None:
    """Let a disabled user log in again."""
    from store import review_users

    _switch(email, review_users.enable, "enabled", "was not disabled")


def _switch(
    email: str, change: Callable[[Connection, int, Act], bool], done: str, unchanged: str
) -> None:
    """Disable or enable ``email``'s account, saying which it did."""
    with open_store().writing() as connection:
        user = _user(connection, email)
        changed = change(connection, user.user_id, _act())
    out.print(f"{user.email} {done if changed else unchanged}")


@users_app.command("list")
def list_users() -> None:
    """Every user, their role, the studies granted, and who disabled them when."""
    from store import review_users

    with open_store().reading() as connection:
        accounts = review_users.all_accounts(connection)
    if not accounts:
        out.print("no users yet: `panel users add EMAIL --role coordinator --study ID`")
    for account in accounts:
        user = account.user
        studies = "every study" if user.role is Role.ADMIN else ", ".join(sorted(user.studies))
        disabled = (
            f"  DISABLED {account.disabled_at.astimezone(COPENHAGEN):%Y-%m-%d %H:%M} "
            f"by {account.disabled_by}"
            if account.disabled_at
            else ""
        )
        out.print(
            f"{user.email}  {user.role.value}  {studies or 'no study granted'}{disabled}",
            markup=False,
            highlight=False,
        )


@users_app.command("unlock")
def unlock(email: str) -> None:
    """Forgive a user's failed logins so far (logins are throttled per client address; the
    limits lift on their own after 15 minutes)."""
    from store import review_users

    with open_store().writing() as connection:
        user = _user(connection, email)
        review_users.unlock(connection, user.user_id, _act())
    out.print(f"{user.email}: failed logins forgiven")


@users_app.command("password")
def password(email: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password; every session of the user ends."""
    from review.passwords import hash_password
    from store import review_users

    new = _new_password(password_stdin)
    with open_store().writing() as connection:
        user = _user(connection, email)
        review_users.change_password(connection, user.user_id, hash_password(new), _act())
    out.print(f"new password set for {user.email}; their sessions have ended")


def decide(
    study_id: Annotated[str, typer.Argument(help="The study's id.")],
    volunteer_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Candidates' volunteer ids (or --all-eligible).", show_default=False),
    ] = None,
    action: Annotated[
        str, typer.Argument(help="approve, reject or defer.", show_default=False)
    ] = "",
    all_eligible: Annotated[
        bool,
        typer.Option("--all-eligible", help="Every eligible candidate still undecided."),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option(help="Why (rejections): " + ", ".join(REJECT_REASONS) + ", or any text."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Who decides (default: PANEL_ACTOR).")] = None,
    needing_screening: Annotated[
        bool,
        typer.Option(
            "--needing-screening",
            help="Approve named candidates although they need screening (invited with "
            "unknowns; the study file must allow it: approve_needs_screening).",
        ),
    ] = False,
) -> None:
    """Approve, reject or defer candidates, for scripted use.

    Each decision is kept with who, when, and the study and profile versions it was made on.
    Approval is refused for a candidate whose profile changed since the match, and for one
    who needs screening unless --needing-screening says so and the study allows it.
    """
    from store import decisions, studies

    ids = list(volunteer_ids or [])
    if action not in (Action.APPROVE, Action.REJECT, Action.DEFER):
        _fail(f"say what to do: approve, reject or defer (not '{action}')")
    what = Action(action)
    if bool(ids) == all_eligible:
        _fail("name the candidates, or give --all-eligible (not both)")
    key, note = _reason(reason)
    who = actor or load_settings().actor
    store = open_store()
    with store.reading() as connection:
        known = studies.current_definition(connection, study_id) is not None
    if not known:
        _fail(f"no published study {study_id!r} (see `panel study list`)")
    act = Act(who, datetime.now(UTC))
    with store.writing() as connection:
        if all_eligible:
            result = decisions.decide_all(  # DecisionRefused: said by the one handler
                connection,
                study_id,
                CandidateQuery(status="eligible"),
                what,
                act=act,
                reason=key,
                note=note,
            )
            skipped = ", ".join(f"{n} {why}" for why, n in result.skipped.items())
            out.print(
                f"{what.value}: {result.decided}" + (f"; skipped {skipped}" if skipped else "")
            )
            return
        problems = []
        for volunteer_id in ids:
            try:
                decisions.decide(
                    connection,
                    study_id,
                    volunteer_id,
                    what,
                    act=act,
                    seen_version=None,
                    reason=key,
                    note=note,
                    unscreened=needing_screening,
                )
            except decisions.DecisionRefused as problem:
                problems.append(str(problem))
        if problems:
            connection.rollback()
            _fail("nothing decided: " + "; ".join(problems))
    out.print(f"{what.value}: {len(ids)}")


def _reason(text: str | None) -> tuple[str | None, str | None]:
    """A listed reason's key, or 'other' with the text as the note."""
    if text is None:
        return None, None
    return (text, None) if text in REJECT_REASONS else ("other", text)


def _new_password(from_stdin: bool) -> str:
    from review.passwords import password_problem

    if from_stdin:
        new = sys.stdin.readline().rstrip("\n")
    else:
        new = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(new)
    if problem:
        _fail(problem)
    return new


def _user(connection: Connection, email: str) -> User:
    from store import review_users

    found = review_users.user_by_email(connection, email)
    if found is None:
        _fail(f"no user {email.strip().lower()} (see `panel users list`)")
    return found[0]


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)


def review(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (about one per CPU core).")
    ] = 1,
) -> None:
    """Start the review web app (default http://127.0.0.1:8000).

    Coordinators log in with accounts from `panel users add`. Cookies are Secure: browsers
    keep them on localhost; anywhere else, serve it behind HTTPS.
    """
    serve("review.app:create_app", host, port, workers, "review app")


def _act() -> Act:
    """The operator (``PANEL_ACTOR``), now: who changes an account, and when."""
    return Act(load_settings().actor, datetime.now(UTC))

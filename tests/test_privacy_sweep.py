"""After an erasure, not one byte of the erased people is left anywhere panelmatch writes.

End to end, with real commands, each a process of its own with Prefect's temporary server on
a fresh PREFECT_HOME, as on a panel's machine: a cycle whose store write fails (a database
trigger refuses it, quoting the row's values as PostgreSQL would), the same export again,
quarantined rows, a match, invitations in folder mode (e-mail and SMS), then over SMTP (a
real server on loopback, one of them refused with an answer quoting the address), a yes on
the answer page by the link in the invitation (with its screening questions), and an
erasure. Then every byte under PANEL_DATA_DIR and PREFECT_HOME (SQLite files and their logs
included) and every PostgreSQL table is read for the erased people's names, e-mails, phones,
birth dates, submission ids, answer-link tokens and their hashes: zero hits, while the people kept are still found (the sweep
can see).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from configuration.settings import Settings
from respond.app import create_app
from schemas.danish_formats import COPENHAGEN
from store.panel_store import PanelStore
from store.tables import Contact
from tests.helpers import (
    STUDIES,
    overview,
    rls_person,
    signup,
    submission_id,
    write_signups,
    write_withdrawals,
)
from tests.processes import PANEL
from tests.smtp_server import SmtpServer, start_smtp_server

pytestmark = [pytest.mark.slow]

FIRST_NAMES = [
    "Zelmira",
    "Quirinus",
    "Oddveig",
    "Ulvhild",
    "Xaverius",
    "Yrsaline",
    "Tovemor",
    "Vigand",
]
LAST_NAMES = [
    "Brumlebakke",
    "Fjordkvist",
    "Hyldegrav",
    "Krusemynte",
    "Lynghoj",
    "Mosekone",
    "Pilegaard",
    "Ravnsholt",
]


@dataclass(frozen=True)
class Person:
    number: int
    channel: str = "email"

    @property
    def first_name(self) -> str:
        return FIRST_NAMES[self.number - 1]

    @property
    def last_name(self) -> str:
        return LAST_NAMES[self.number - 1]

    @property
    def email(self) -> str:
        return f"{self.first_name.lower()}.{self.last_name.lower()}@example.dk"

    @property
    def phone_digits(self) -> str:
        return f"3{self.number}7{self.number}4{self.number}9{self.number}"

    @property
    def birth_date(self) -> tuple[str, str]:
        """As the export writes it, and as a database keeps it."""
        day, month, year = 10 + self.number, 5, 1950 + 3 * self.number
        return f"{day:02d}-{month:02d}-{year}", f"{year}-{month:02d}-{day:02d}"

    @property
    def submissions(self) -> list[str]:
        """The ids of the person's rows: one, and a second for the one with two."""
        first, second = submission_id(700 + self.number), submission_id(800 + self.number)
        return [first, second] if self.number == 6 else [first]

    def row(self, *, broken: bool = False, second: bool = False) -> dict[str, str]:
        cells = {
            "indsendelse_id": self.submissions[-1 if second else 0],
            "fornavn": self.first_name,
            "efternavn": self.last_name,
            "email": self.email,
            "telefon": self.phone_as_written,
            "foedselsdato": self.birth_date[0],
            "kontaktform": self.channel,
            "indsendt": "05-05-2026 10:00:00" if second else "02-03-2026 21:14:05",
        }
        if broken:
            cells["vaegt_kg"] = "69.5"  # a decimal point: quarantined
        return rls_person(700 + self.number, **cells)

    @property
    def phone_as_written(self) -> str:
        digits = self.phone_digits
        return f"+45 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"

    def needles(self) -> list[str]:
        """The person's data as the export writes it, and, for one with a valid row, as the
        store keeps it (a normalised phone number, an ISO date)."""
        written = [
            self.first_name,
            self.last_name,
            self.email,
            self.phone_as_written,
            self.birth_date[0],
            *self.submissions,
        ]
        if self is ONLY_QUARANTINED:
            return written
        return [*written, f"+45{self.phone_digits}", self.birth_date[1]]


FOLDER_MAIL, FOLDER_SMS, SMTP_SENT, SMTP_REFUSED, ONLY_QUARANTINED, ALSO_QUARANTINED = (
    Person(1),
    Person(2, "sms"),
    Person(3),
    Person(4),
    Person(5),
    Person(6),
)
ERASED = [FOLDER_MAIL, FOLDER_SMS, SMTP_SENT, SMTP_REFUSED, ONLY_QUARANTINED, ALSO_QUARANTINED]
KEPT = [Person(7), Person(8)]


def export_rows() -> list[dict[str, str]]:
    rows = [person.row() for person in [*ERASED, *KEPT] if person is not ONLY_QUARANTINED]
    rows.append(ONLY_QUARANTINED.row(broken=True))
    rows.append(ALSO_QUARANTINED.row(broken=True, second=True))
    # Others enough that two broken rows stay under the 5 % that would refuse the file.
    rows += [
        signup(indsendelse_id=submission_id(1000 + i), email=f"other{i}@example.dk")
        for i in range(60)
    ]
    return rows


@dataclass
class Machine:
    """One panel machine: its settings, a fresh PREFECT_HOME, and its commands."""

    settings: Settings
    prefect_home: Path
    smtp: SmtpServer

    def panel(self, *args: str | Path, smtp: bool = False, expect: int = 0) -> str:
        env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
        env["PREFECT_HOME"] = str(self.prefect_home)
        env.pop("PANEL_SMTP_URL", None)
        if smtp:
            env["PANEL_SMTP_URL"] = self.smtp.url + "?timeout=5"
        result = subprocess.run(
            [str(PANEL), *map(str, args)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == expect, (args, result.stdout, result.stderr)
        return result.stdout

    def cycle_with(self, export: Path, *, smtp: bool = False, expect: int = 0) -> None:
        inbox = self.settings.cycle.inbox_dir
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copy(export, inbox / export.name)
        self.panel("cycle", smtp=smtp, expect=expect)


@pytest.fixture
def machine(settings: Settings, tmp_path: Path) -> Iterator[Machine]:
    with start_smtp_server() as server:
        yield Machine(settings, tmp_path / "prefect-home", server)


def refuse_profile_writes(store: PanelStore) -> None:
    """A trigger that refuses every profile row, its message quoting the row's values."""
    with store.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'refused % born % of %', NEW.submission_id, "
                    "NEW.birth_date, NEW.volunteer_id; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON profile "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON profile "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )


def allow_profile_writes(store: PanelStore) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "DROP TRIGGER refuse"
                + (" ON profile" if connection.dialect.name == "postgresql" else "")
            )
        )
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP FUNCTION refuse()"))


def volunteer_ids(store: PanelStore, *people: Person) -> list[str]:
    with store.engine.connect() as connection:
        return [
            connection.execute(
                select(Contact.volunteer_id).where(Contact.email == person.email)
            ).scalar_one()
            for person in people
        ]


def found_in_files(places: list[Path], needles: list[str]) -> dict[str, list[str]]:
    """Each needle, and the files holding it (compared without case), in these folders and
    files."""
    hits: dict[str, list[str]] = {}
    wanted = {needle: needle.lower().encode() for needle in needles}
    files = {place for place in places if place.is_file()}
    files |= {path for place in places if place.is_dir() for path in place.rglob("*")}
    for path in sorted(files):
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes().lower()
            for needle, raw in wanted.items():
                if raw in content:
                    hits.setdefault(needle, []).append(str(path))
    return hits


def found_in_tables(url: str, needles: list[str]) -> dict[str, list[str]]:
    engine = create_engine(url)
    hits: dict[str, list[str]] = {}
    try:
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                rows = connection.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()
                content = "\n".join(rows).lower()
                for needle in needles:
                    if needle.lower() in content:
                        hits.setdefault(needle, []).append(table)
    finally:
        engine.dispose()
    return hits


def everywhere(machine: Machine, needles: list[str]) -> dict[str, list[str]]:
    places = [machine.settings.data_dir, machine.prefect_home]
    url = make_url(machine.settings.store.database_url)
    if url.get_backend_name() == "sqlite":  # the test's store lies beside the data folder
        database = Path(url.database or "")
        places += [database.with_name(database.name + end) for end in ("", "-wal", "-shm")]
    hits = found_in_files(places, needles)
    if url.get_backend_name() == "postgresql":
        for needle, tables in found_in_tables(machine.settings.store.database_url, needles).items():
            hits.setdefault(needle, []).extend(tables)
    return hits


def answer_yes(store: PanelStore, settings: Settings, person: Person) -> list[str]:
    """``person`` follows the answer link in the e-mail they were sent and says yes (and
    answers any screening question with its first option), on the answer page. Returns what
    the link left behind that would lead to them: the token, and its hash the store keeps."""
    sent = [
        message
        for path in settings.outreach.outbox_dir.glob("*.eml")
        if (message := email.message_from_bytes(path.read_bytes(), policy=email.policy.default))[
            "To"
        ]
        == person.email
    ]
    body = sent[0].get_body(("plain",))
    assert body is not None
    found = re.search(r"/svar/([A-Za-z0-9_-]{43})", body.get_content())
    assert found is not None
    token = found.group(1)
    app = create_app(store, pseudonym_key=settings.store.pseudonym_key_bytes())
    with TestClient(app) as client:
        page = client.get(f"/svar/{token}")
        form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and form_token is not None
        said = client.post(f"/svar/{token}", data={"answer": "yes", "form_token": form_token[1]})
        assert said.status_code == 200
        questions = set(re.findall(r'type="radio" name="(svar-[^"]+)"', said.text))
        if questions:
            fields = dict.fromkeys(questions, "0") | {"form_token": form_token[1]}
            assert client.post(f"/svar/{token}/spoergsmaal", data=fields).status_code == 200
    return [token, hashlib.sha256(token.encode()).hexdigest()]


def test_an_erasure_leaves_no_byte_of_the_person_in_data_prefect_or_the_database(
    machine: Machine, store: PanelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every invitation carries an answer link, as on a panel that has the answer page.
    monkeypatch.setenv("PANEL_PUBLIC_URL", "https://panel.example.dk")
    export = write_signups(tmp_path / "2026-12-01-signups.csv", export_rows())
    refuse_profile_writes(store)
    machine.cycle_with(export, expect=1)  # the store write fails: set aside, nothing stored
    assert overview(store).profiles == 0
    allow_profile_writes(store)
    machine.cycle_with(export)  # the same export again, now stored (two rows quarantined)
    assert overview(store).quarantined_open == 2

    machine.panel("study", "publish", STUDIES / "rls-magnesium.yaml")
    machine.panel("match", "--study", "rls-magnesium")
    decide = ("candidates", "decide", "rls-magnesium")
    machine.panel(*decide, *volunteer_ids(store, FOLDER_MAIL, FOLDER_SMS, *KEPT), "approve")
    machine.panel("contact")  # folder mode: .eml files and SMS files
    assert len(list(machine.settings.outreach.outbox_dir.glob("*.eml"))) == 3
    assert len(list(machine.settings.outreach.sms_dir.glob("*.json"))) == 1

    machine.panel(*decide, *volunteer_ids(store, SMTP_REFUSED), "approve")
    machine.smtp.refuse_next(1, 550, f"5.1.1 <{SMTP_REFUSED.email}>: Recipient address rejected")
    machine.panel("contact", smtp=True, expect=1)  # the server refused it for good
    machine.panel(*decide, *volunteer_ids(store, SMTP_SENT), "approve")
    machine.panel("contact", smtp=True)
    assert len(machine.smtp.received) == 1

    # One to be erased and one kept said yes on the answer page: their answers, referrals
    # and links are in the store, the links in the copies of what they were sent.
    links = {
        person: answer_yes(store, machine.settings, person) for person in (FOLDER_MAIL, KEPT[0])
    }
    everyone = [needle for person in [*ERASED, *KEPT] for needle in person.needles()]
    everyone += [needle for found in links.values() for needle in found]
    assert set(everywhere(machine, everyone)) == set(everyone)  # the sweep sees them all

    now = datetime.now(COPENHAGEN) - timedelta(minutes=1)
    erasure = write_withdrawals(
        tmp_path / "2026-12-02-afmeldinger.csv",
        [(person.email, f"{now:%d-%m-%Y %H:%M:%S}", "slet") for person in ERASED],
    )
    machine.cycle_with(erasure, smtp=True)  # with SMTP configured, as the night runs it

    erased = [needle for person in ERASED for needle in person.needles()] + links[FOLDER_MAIL]
    left = everywhere(machine, erased)
    assert not left, "\n".join(
        f"{needle} in {', '.join(places)}" for needle, places in left.items()
    )
    kept = [needle for person in KEPT for needle in person.needles()] + links[KEPT[0]]
    assert set(everywhere(machine, kept)) == set(kept)

"""Each study's recruitment funnel as a Prefect table artifact, published by every cycle
(``store.recruitment_funnel``; docs/recruitment.md): one row a study, counts of volunteers and
the time to a first answer, never an id."""

from __future__ import annotations

from prefect.artifacts import create_table_artifact

from flows.task_options import panel_task, retried_io
from store.panel_store import PanelStore
from store.recruitment_funnel import RecruitmentFunnel, duration_words, recruitment_funnels

#: The artifact's key: Prefect's UI lists the cycles' tables under it, newest first.
KEY = "recruitment-funnel"


@panel_task("count recruitment", **retried_io(120))
def count_recruitment(store: PanelStore) -> list[RecruitmentFunnel]:
    with store.reading() as connection:
        return list(recruitment_funnels(connection).values())


def publish_recruitment(funnels: list[RecruitmentFunnel]) -> None:
    """The table, when any study has a candidate or an invitation."""
    if funnels:
        create_table_artifact(
            key=KEY,
            table=[_row(funnel) for funnel in funnels],
            description="recruitment funnel per study: counts of volunteers (docs/recruitment.md)",
        )


def _row(funnel: RecruitmentFunnel) -> dict[str, object]:
    times = funnel.times
    rate = funnel.answer_rate
    return {
        "study": funnel.study_id,
        "matched": funnel.matched,
        "approved": funnel.approved,
        "invited": funnel.invited,
        "opened the page": funnel.opened,
        "yes": funnel.yes,
        "no": funnel.no,
        "stop": funnel.stop,
        "no answer": funnel.no_answer,
        "answered of invited": (
            f"{funnel.answered} of {funnel.invited} ({round(rate * 100)} %)" if rate else "-"
        ),
        "passed the questions": funnel.passed,
        "ruled out by them": funnel.ruled_out,
        "still answering": funnel.answering,
        "enrolled": funnel.enrolled,
        "not eligible at screening": funnel.not_eligible,
        "declined": funnel.declined,
        "withdrawn or erased since": funnel.left,
        "with the study team": funnel.with_study_team,
        "answers timed": times.answers if times else 0,
        "median time to answer": duration_words(times.median) if times else "-",
        "90 % answered within": duration_words(times.p90) if times else "-",
    }

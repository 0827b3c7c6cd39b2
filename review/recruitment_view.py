"""The study overview's recruitment funnel (``store.recruitment_funnel``; docs/recruitment.md):
each step with how many volunteers reached it and what it is a share of, as this user sees
counts (``review.studies.Counts``: exact, or suppressed and rounded for researchers).

A share is only ever shown with its two counts. A researcher's is computed from the rounded
counts they see, so it tells nothing they do not say, and only from ``SHARE_FROM`` invited
on, where rounding moves it by a few points at most (8 of 10 would read 10 of 10, 100 %);
none is shown beside a suppressed count. How long answers took is shown to researchers only
when at least as many answers as the smallest count they see went into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from store.recruitment_funnel import RecruitmentFunnel, duration_words, recruitment_funnels


class Counts(Protocol):
    """How this user's pages show counts of people (``review.studies.Counts``)."""

    @property
    def show(self) -> Callable[[int], str]: ...
    @property
    def value(self) -> Callable[[int], int]: ...
    @property
    def protected(self) -> bool: ...


#: The smallest (rounded) count a researcher sees a share of.
SHARE_FROM = 100


@dataclass(frozen=True)
class FunnelStep:
    label: str
    #: The count as this user sees it.
    shown: str
    #: What it is a share of, in words ("of 40 invited"), or "".
    of: str = ""
    #: A detail of the step above (yes, no, stop under the answers), not a step of its own.
    detail: bool = False


@dataclass(frozen=True)
class RecruitmentView:
    steps: list[FunnelStep]
    #: How long answers took, in a sentence, or why that is not shown.
    times: str


def recruitment_view(
    connection: Connection, study_id: str, counts: Counts, smallest_shown: int
) -> RecruitmentView:
    funnel = recruitment_funnels(connection, study_id).get(study_id, RecruitmentFunnel(study_id))
    return funnel_view(funnel, counts, smallest_shown)


def funnel_view(funnel: RecruitmentFunnel, counts: Counts, smallest_shown: int) -> RecruitmentView:
    show = counts.show

    def of(n: int, what: str) -> str:
        return f"of {show(n)} {what}"

    steps = [
        FunnelStep("Matched (on the candidate list)", show(funnel.matched)),
        FunnelStep("Approved", show(funnel.approved), of(funnel.matched, "matched")),
        FunnelStep("Invited (sent)", show(funnel.invited), of(funnel.approved, "approved")),
        FunnelStep("Opened the answer page", show(funnel.opened), of(funnel.invited, "invited")),
        FunnelStep(
            "Answered",
            show(funnel.answered),
            of(funnel.invited, "invited")
            + _share(funnel.answered, funnel.invited, counts, smallest_shown),
        ),
        FunnelStep("Yes", show(funnel.yes), detail=True),
        FunnelStep("No", show(funnel.no), detail=True),
        FunnelStep("Stop (no more contact)", show(funnel.stop), detail=True),
        FunnelStep("No answer", show(funnel.no_answer), detail=True),
        FunnelStep("Passed the screening questions", show(funnel.passed), of(funnel.yes, "yes")),
        FunnelStep("Ruled out by the questions", show(funnel.ruled_out), detail=True),
        FunnelStep("Still answering the questions", show(funnel.answering), detail=True),
        FunnelStep("Enrolled", show(funnel.enrolled), of(funnel.passed, "passed")),
        FunnelStep("Not eligible at screening", show(funnel.not_eligible), detail=True),
        FunnelStep("Declined", show(funnel.declined), detail=True),
        FunnelStep("Withdrawn or erased since", show(funnel.left), detail=True),
        FunnelStep("With the study team", show(funnel.with_study_team), detail=True),
    ]
    return RecruitmentView(steps, _times(funnel, counts, smallest_shown))


def _share(part: int, whole: int, counts: Counts, smallest_shown: int) -> str:
    if not counts.protected:
        return f" ({round(part / whole * 100)} %)" if whole else ""
    shown_part, shown_whole = counts.value(part), counts.value(whole)
    if shown_whole < SHARE_FROM or 0 < part < smallest_shown:
        return ""
    return f" (≈ {round(shown_part / shown_whole * 100)} %)"


def _times(funnel: RecruitmentFunnel, counts: Counts, smallest_shown: int) -> str:
    times = funnel.times
    if times is None:
        return "No answers yet."
    if counts.protected and times.answers < smallest_shown:
        return f"Fewer than {smallest_shown} answers: too few to say how long answering takes."
    return (
        f"From the invitation to a first answer: median {duration_words(times.median)}; "
        f"90 % answered within {duration_words(times.p90)} "
        f"({counts.show(times.answers)} answers)."
    )

"""How ``panel status`` shows each study's recruitment funnel (``store.recruitment_funnel``):
counts of volunteers only, each share with what it is a share of."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from store.recruitment_funnel import RecruitmentFunnel


def print_recruitment(out: Console, funnels: Sequence[RecruitmentFunnel]) -> None:
    """A few lines a study: the steps from the list to the answers, what came of the yeses,
    and how long answers took (studies nobody was invited to: their first line only)."""
    if not funnels:
        return
    out.print("recruitment by study (docs/recruitment.md):")
    for funnel in funnels:
        for line in recruitment_lines(funnel):
            out.print(line)


def recruitment_lines(funnel: RecruitmentFunnel) -> list[str]:
    from store.recruitment_funnel import duration_words  # deferred: the store (see cli.py)

    lines = [
        f"  {funnel.study_id}: {funnel.matched:,} matched → {funnel.approved:,} approved → "
        f"{funnel.invited:,} invited → {funnel.opened:,} opened the answer page"
    ]
    if not funnel.invited:
        return lines
    percent = round(funnel.answered / funnel.invited * 100)
    lines += [
        f"    answered {funnel.answered:,} of {funnel.invited:,} invited ({percent} %):"
        f" {funnel.yes:,} yes, {funnel.no:,} no, {funnel.stop:,} stop;"
        f" {funnel.no_answer:,} no answer",
        f"    of the {funnel.yes:,} yes: {funnel.passed:,} passed the screening questions,"
        f" {funnel.ruled_out:,} ruled out by them, {funnel.answering:,} still answering",
        f"    of the {funnel.passed:,} passed: {funnel.enrolled:,} enrolled,"
        f" {funnel.not_eligible:,} not eligible at screening, {funnel.declined:,} declined,"
        f" {funnel.left:,} withdrawn or erased since, {funnel.with_study_team:,} with the"
        " study team",
    ]
    if funnel.times is not None:
        times = funnel.times
        lines.append(
            f"    time to a first answer: median {duration_words(times.median)}, 90 % within"
            f" {duration_words(times.p90)} ({times.answers:,} answers)"
        )
    return lines

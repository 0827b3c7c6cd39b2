"""The attrition funnel as an image (PNG or SVG, by the file's suffix) a researcher can paste
into a protocol: one bar a step, remaining volunteers, with the number lost beside it."""

from __future__ import annotations

from pathlib import Path

from matching.funnel import Funnel


def write_funnel_chart(funnel: Funnel, title: str, path: Path) -> None:
    # Deferred: matplotlib only when a chart is asked for; and Agg is chosen before pyplot loads.
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    labels = ["Contactable volunteers", *(_label(step.label, step.kind) for step in funnel.steps)]
    remaining = [funnel.start, *(step.remaining for step in funnel.steps)]
    lost = [0, *(step.lost for step in funnel.steps)]
    height = 1.2 + 0.45 * len(labels)
    figure, axes = plt.subplots(figsize=(9, height), layout="constrained")
    positions = list(range(len(labels)))[::-1]
    colours = ["#4c72b0"] + [
        "#55a868" if s.kind == "inclusion" else "#c44e52" for s in funnel.steps
    ]
    axes.barh(positions, remaining, color=colours, height=0.6)
    top = max(remaining) or 1
    for y, kept, gone in zip(positions, remaining, lost, strict=True):
        text = f"{kept:,}" + (f"  (−{gone:,})" if gone else "")
        axes.text(kept + top * 0.01, y, text, va="center", fontsize=9)
    axes.set_yticks(positions, labels, fontsize=9)
    axes.set_xlim(0, top * 1.25)
    axes.set_xlabel("volunteers remaining")
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(
        f"{title}\n{funnel.eligible:,} eligible, {funnel.needs_screening:,} need screening",
        fontsize=11,
        loc="left",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)
    plt.close(figure)


def _label(text: str, kind: str) -> str:
    short = text if len(text) <= 48 else text[:47] + "…"
    return short if kind == "inclusion" else f"not: {short}"

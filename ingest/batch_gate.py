"""The batch gate: run a file's Great Expectations suite, keep the result, render Data Docs,
and say in plain words why a refused file was refused.

Importing Great Expectations takes seconds; ``warm_up()`` starts that import in the background
while the file is read and its rows validated.
"""

from __future__ import annotations

import difflib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.export_file import ExportFile
from panel.runtime import apply_offline_defaults
from schemas.exports import ExportKind

apply_offline_defaults()  # before Great Expectations is imported

#: Derived batch columns are reported under the export column they come from.
_SOURCE_COLUMN = {
    "_birth_year": "foedselsdato",
    "_postcode": "postnummer",
    "_submitted_at": "indsendt",
    "_requested_at": "tidspunkt",
    "_bmi": "hoejde_cm and vaegt_kg (BMI)",
}


def warm_up() -> None:
    """Import Great Expectations in a background thread (the import takes seconds)."""
    threading.Thread(target=_import_gx, name="gx-import", daemon=True).start()


def _import_gx() -> None:
    import great_expectations  # noqa: F401


@dataclass
class BatchVerdict:
    passed: bool
    #: One plain sentence per failed expectation.
    failures: list[str] = field(default_factory=list)
    result_path: Path | None = None
    docs_path: Path | None = None


def check_batch(
    export: ExportFile,
    quarantined_rows: list[int],
    *,
    threshold: float,
    received_at: datetime,
    report_dir: Path,
) -> BatchVerdict:
    """Validate ``export`` as a whole; results and Data Docs go to ``report_dir``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from schemas.batch_expectations import batch_suite

    suite = batch_suite(export.kind, threshold, received_at)
    inspected = {str(e.column) for e in suite.expectations if hasattr(e, "column")}
    frame = batch_frame(export, quarantined_rows, inspected)
    report_dir = report_dir.resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(report_dir / "data_docs"),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            data_docs_sites={"panel": site},
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    batch = (
        context.data_sources.add_pandas("export")
        .add_dataframe_asset(export.path.name)
        .add_batch_definition_whole_dataframe("whole file")
    )
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=f"{export.kind.value} {export.sha256[:12]}", data=batch, suite=suite
        )
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="ingest",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data docs", site_names=["panel"])],
            result_format={"result_format": "SUMMARY"},
        )
    )
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    (result,) = run.run_results.values()
    result_path = report_dir / "validation_result.json"
    result_path.write_text(json.dumps(result.to_json_dict(), indent=2, default=str))
    failures = [
        _explain(config.type, config.kwargs, outcome.result, export, frame)
        for outcome in result.results
        if not outcome.success and (config := outcome.expectation_config) is not None
    ]
    if not export.columns_as_expected:  # the rest follows from the columns: say only that
        failures = [column_differences(export.header, list(export.kind.columns))]
    return BatchVerdict(
        passed=bool(run.success),
        failures=failures,
        result_path=result_path,
        docs_path=report_dir / "data_docs" / "index.html",
    )


def batch_frame(
    export: ExportFile, quarantined_rows: list[int], inspected: set[str]
) -> pd.DataFrame:
    """The frame the suite sees, one row per record: the file's columns, holding values only
    where the suite looks (``inspected``; never contact details or free text), then the derived
    columns. Values are categorical or numeric, which Great Expectations filters fast."""
    from schemas.batch_expectations import DERIVED_COLUMNS

    total = export.record_count
    unreadable = pa.nulls(len(export.malformed), pa.string())
    cells = {
        name: pa.concat_arrays([export.rows.column(name).combine_chunks(), unreadable])
        for name in export.header
        if export.columns_as_expected and name in inspected
    }
    if set(cells) & export.kind.unquoted_columns:
        raise ValueError("the batch suite must not look at contact details or free text")
    frame = pd.DataFrame(
        {
            name: _categorical(cells[name]) if name in cells else _blank(total)
            for name in export.header
        }
    )
    quarantined = np.zeros(total, dtype=np.int64)
    quarantined[quarantined_rows] = 1
    quarantined[export.rows.num_rows :] = 1
    frame["_line"] = np.concatenate([export.lines, [m.line for m in export.malformed]]).astype(
        np.int64
    )
    frame["_quarantined"] = quarantined
    derived = _derived(export, len(export.malformed)) if export.columns_as_expected else {}
    for column in DERIVED_COLUMNS[export.kind][2:]:
        frame[column] = derived.get(column, np.full(total, np.nan))
    return frame


def _categorical(values: pa.Array) -> pd.Categorical:
    encoded = values.dictionary_encode()
    return pd.Categorical.from_codes(
        encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False),
        categories=pd.Index(encoded.dictionary.to_pandas()),
    )


def _blank(length: int) -> pd.Categorical:
    return pd.Categorical.from_codes(
        np.full(length, -1, dtype=np.int8), categories=pd.Index([], dtype=object)
    )


def _derived(export: ExportFile, unreadable: int) -> dict[str, Any]:
    """Leniently parsed values, vectorised: what a cell means if it can be read, else missing."""

    def column(name: str) -> pa.Array:
        cells = export.rows.column(name).combine_chunks()
        return pa.concat_arrays([cells, pa.nulls(unreadable, pa.string())])

    if export.kind is ExportKind.WITHDRAWALS:
        return {"_requested_at": _timestamps(column("tidspunkt"))}
    weight = _numbers(column("vaegt_kg"), r"^\d+(,\d+)?$")
    height = _numbers(column("hoejde_cm"), r"^\d+$")
    birth_year = pc.utf8_slice_codeunits(column("foedselsdato"), 6, 10)
    valid_date = pc.match_substring_regex(column("foedselsdato"), r"^\d{2}-\d{2}-\d{4}$")
    return {
        "_birth_year": _numbers(pc.if_else(valid_date, birth_year, None), r"^\d{4}$"),
        "_postcode": _numbers(pc.utf8_trim_whitespace(column("postnummer")), r"^\d{4}$"),
        "_submitted_at": _timestamps(column("indsendt")),
        "_bmi": np.round(weight / (height / 100) ** 2, 1),
    }


def _numbers(text: pa.Array, pattern: str) -> np.ndarray:
    """Cells matching ``pattern`` as numbers (decimal comma read), NaN elsewhere."""
    readable = pc.if_else(pc.match_substring_regex(text, pattern), text, None)
    values = pc.cast(pc.replace_substring(readable, ",", "."), pa.float64())
    return values.to_numpy(zero_copy_only=False)


def _timestamps(text: pa.Array) -> pd.Series:
    """Danish local ``dd-mm-yyyy HH:MM:SS`` cells as UTC timestamps (NaT where unreadable)."""
    local = pc.strptime(text, format="%d-%m-%Y %H:%M:%S", unit="s", error_is_null=True)
    aware = pc.assume_timezone(
        local, timezone="Europe/Copenhagen", ambiguous="earliest", nonexistent="earliest"
    )
    return pd.Series(aware.cast(pa.timestamp("us", tz="UTC")).to_pandas())


def _explain(
    kind: str,
    kwargs: dict[str, Any],
    result: dict[str, Any],
    export: ExportFile,
    frame: pd.DataFrame,
) -> str:
    column = kwargs.get("column")
    shown = _SOURCE_COLUMN.get(column, column) if column else None
    share = result.get("unexpected_percent")
    if kind == "expect_table_columns_to_match_ordered_list":
        return column_differences(export.header, list(export.kind.columns))
    if kind == "expect_table_row_count_to_be_between":
        return "the file holds no rows"
    if kind == "expect_column_mean_to_be_between":
        bad = int(frame["_quarantined"].sum())
        return (
            f"{bad:,} of {len(frame):,} rows ({bad / max(len(frame), 1):.1%}) fail validation: "
            f"a file is refused when {kwargs['max_value']:.0%} or more do "
            "(PANEL_QUARANTINE_THRESHOLD)"
        )
    if kind == "expect_column_values_to_be_unique":
        return _duplicates(frame, str(column))
    if kind == "expect_column_values_to_be_between":
        return (
            f"{shown}: {result.get('unexpected_count', 0):,} values ({share:.1f} %) lie outside "
            f"{_when(kwargs.get('min_value'))} to {_when(kwargs.get('max_value'))}"
        )
    if kind == "expect_column_values_to_be_in_set":
        examples = ", ".join(
            sorted({repr(v) for v in result.get("partial_unexpected_list", [])})[:5]
        )
        allowed = ", ".join(kwargs["value_set"])
        return f"{shown}: {share:.1f} % of values are not one of {allowed} (e.g. {examples})"
    if kind == "expect_column_values_to_not_be_null":
        return f"{shown}: {share:.1f} % of rows leave it empty"
    return f"{kind} failed on {shown}"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H:%M")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _duplicates(frame: pd.DataFrame, column: str) -> str:
    values = frame[column].str.strip().str.lower()
    repeated = frame[values.duplicated(keep=False) & values.notna()]
    groups = repeated.groupby(values[repeated.index])["_line"].apply(list)
    first_id, lines = next(iter(groups.items()))
    more = f" ({len(groups) - 1:,} more ids are repeated too)" if len(groups) > 1 else ""
    where = " and ".join(str(line) for line in lines[:5])
    return f"{column} {first_id} appears {len(lines)} times, on lines {where}{more}"


def column_differences(found: list[str], expected: list[str]) -> str:
    """What changed in a header, in words: renamed, added, missing or reordered columns."""
    sentences = []
    matcher = difflib.SequenceMatcher(a=expected, b=found, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        gone, came = expected[a0:a1], found[b0:b1]
        if tag == "replace" and len(gone) == len(came):
            sentences += [
                f"column {old!r} is renamed {new!r}" for old, new in zip(gone, came, strict=True)
            ]
        elif tag in ("replace", "delete", "insert"):
            sentences += [f"column {name!r} is missing" for name in gone if name not in found]
            after = f" (after {found[b0 - 1]!r})" if b0 else " (first)"
            sentences += [
                f"column {name!r} is added{after}" for name in came if name not in expected
            ]
    if not sentences:
        sentences.append("the columns are all there, but in another order")
    return "; ".join(sentences) + " (FORMAT.md fixes the columns and their order)"

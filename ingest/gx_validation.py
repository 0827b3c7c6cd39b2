"""Running a file's Great Expectations suite, in the process ``ingest.gx_process`` keeps for it.

Everything here works on a ``BatchInput``: the file's rows without contact details and free
text, and what the suite needs besides. It builds the frame the suite sees, runs the suite,
keeps the validation result, renders Data Docs, and explains every failure in plain words.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from configuration.library_defaults import apply_offline_defaults
from ingest.gx_batch import SUITE_READS, BatchInput, BatchVerdict
from schemas.danish_formats import shown
from schemas.exports import ExportKind, column_differences

apply_offline_defaults()  # before Great Expectations is imported

import great_expectations as gx  # noqa: E402  (this module runs in the GX process: import it now)
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from schemas.batch_expectations import DERIVED_COLUMNS, batch_suite  # noqa: E402

#: Derived batch columns are reported under the export column they come from.
_SOURCE_COLUMN = {
    "_birth_year": "foedselsdato",
    "_postcode": "postnummer",
    "_submitted_at": "indsendt",
    "_requested_at": "tidspunkt",
    "_bmi": "hoejde_cm and vaegt_kg (BMI)",
}


def run_suite(batch: BatchInput) -> BatchVerdict:
    """Validate the file as a whole; results and Data Docs go to ``batch.report_dir``."""
    with pa.OSFile(str(batch.rows)) as handoff:
        rows = pa.ipc.open_file(handoff).read_all()
    batch.rows.unlink(missing_ok=True)
    suite = batch_suite(batch.kind, batch.threshold, batch.received_at)
    inspected = {str(e.column) for e in suite.expectations if hasattr(e, "column")}
    inspected &= set(batch.header)  # the derived columns are not the file's
    frame = batch_frame(batch, rows, inspected)
    report_dir = batch.report_dir.resolve()
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
    whole_file = (
        context.data_sources.add_pandas("export")
        .add_dataframe_asset(batch.file_name)
        .add_batch_definition_whole_dataframe("whole file")
    )
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=f"{batch.kind.value} {batch.sha256[:12]}", data=whole_file, suite=suite
        )
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="ingest",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data docs", site_names=["panel"])],
            # Counts and shares, never the values themselves: results and Data Docs are kept
            # for years and read by anyone who audits an ingest.
            result_format={"result_format": "SUMMARY", "exclude_unexpected_values": True},
        )
    )
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    (result,) = run.run_results.values()
    result_path = report_dir / "validation_result.json"
    result_path.write_text(json.dumps(result.to_json_dict(), indent=2, default=str))
    if batch.columns_as_expected:
        failures = [
            _explain(config.type, config.kwargs, outcome.result, batch, frame)
            for outcome in result.results
            if not outcome.success and (config := outcome.expectation_config) is not None
        ]
    else:  # the rest follows from the columns (their cells were not even looked at): say that
        failures = [column_differences(batch.header, list(batch.kind.columns))]
    return BatchVerdict(
        passed=bool(run.success),
        failures=failures,
        result_path=result_path,
        docs_path=report_dir / "data_docs" / "index.html",
    )


def batch_frame(batch: BatchInput, rows: pa.Table, inspected: set[str]) -> pd.DataFrame:
    """The frame the suite sees, one row per record: the file's columns, holding values only
    where the suite looks (``inspected``; never contact details or free text), then the derived
    columns. Values are categorical or numeric, which Great Expectations filters fast."""
    total = rows.num_rows + batch.malformed
    unreadable = pa.nulls(batch.malformed, pa.string())

    def column(name: str) -> pa.Array:
        return pa.concat_arrays([rows.column(name).combine_chunks(), unreadable])

    if not inspected <= set(SUITE_READS[batch.kind]) - batch.kind.unquoted_columns:
        raise ValueError("the batch suite reads columns it may not see (see SUITE_READS)")
    seen = inspected if batch.columns_as_expected else set()
    frame = pd.DataFrame(
        {
            name: _seen(column(name), pseudonymous=name == batch.kind.id_column)
            if name in seen
            else _blank(total)
            for name in batch.header
        }
    )
    quarantined = np.zeros(total, dtype=np.int64)
    quarantined[batch.quarantined_rows] = 1
    quarantined[rows.num_rows :] = 1
    frame["_line"] = np.array(batch.lines, dtype=np.int64)
    frame["_quarantined"] = quarantined
    derived = _derived(batch.kind, column) if batch.columns_as_expected else {}
    for name in DERIVED_COLUMNS[batch.kind][2:]:
        frame[name] = derived.get(name, np.full(total, np.nan))
    return frame


def _seen(values: pa.Array, *, pseudonymous: bool) -> pd.Categorical:
    """A column as the suite sees it. An id column is replaced by numbers that stand for its
    normalised ids in this file only: the suite checks that they are there and unique, and no
    result or Data Docs page can hold an id."""
    if pseudonymous:
        values = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    encoded = values.dictionary_encode()
    categories = encoded.dictionary.to_pandas()
    return pd.Categorical.from_codes(
        encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False),
        categories=pd.RangeIndex(len(categories)) if pseudonymous else pd.Index(categories),
    )


def _blank(length: int) -> pd.Categorical:
    return pd.Categorical.from_codes(
        np.full(length, -1, dtype=np.int8), categories=pd.Index([], dtype=object)
    )


def _derived(kind: ExportKind, column: Any) -> dict[str, Any]:
    """Leniently parsed values, vectorised: what a cell means if it can be read, else missing."""
    if kind is ExportKind.WITHDRAWALS:
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
    batch: BatchInput,
    frame: pd.DataFrame,
) -> str:
    column = kwargs.get("column")
    named = _SOURCE_COLUMN.get(column, column) if column else None
    share = _share(result)
    if kind == "expect_table_columns_to_match_ordered_list":
        return column_differences(batch.header, list(batch.kind.columns))
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
            f"{named}: {result.get('unexpected_count', 0):,} values ({share}) lie outside "
            f"{_when(kwargs.get('min_value'))} to {_when(kwargs.get('max_value'))}"
        )
    if kind == "expect_column_values_to_be_in_set":
        allowed = ", ".join(kwargs["value_set"])
        return (
            f"{named}: {share} of values are not one of {allowed} "
            f"(e.g. {_outside(frame[str(column)], kwargs['value_set'])})"
        )
    if kind == "expect_column_values_to_not_be_null":
        return f"{named}: {share} of rows leave it empty"
    return f"{kind} failed on {named}"


def _share(result: dict[str, Any]) -> str:
    """The share of unexpected values, in words (GX leaves it out when every cell is empty)."""
    share = result.get("unexpected_percent")
    return "an unknown share" if share is None else f"{share:.1f} %"


def _outside(values: pd.Series, allowed: list[str]) -> str:
    """A few of the values outside ``allowed``, quoted short (answers, never contact details:
    those columns are blank here)."""
    found = values.dropna().astype(str)
    examples = sorted(set(found[~found.isin(allowed)]))[:3]
    return ", ".join(f"'{shown(value)}'" for value in examples)


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H:%M")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _duplicates(frame: pd.DataFrame, column: str) -> str:
    """Where a repeated id is, not which it is: a submission id points to one person."""
    values = frame[column]
    repeated = frame[values.duplicated(keep=False) & values.notna()]
    groups = repeated.groupby(values[repeated.index], observed=True)["_line"].apply(list)
    lines = next(iter(groups))
    more = f" ({len(groups) - 1:,} more ids are repeated too)" if len(groups) > 1 else ""
    where = " and ".join(str(line) for line in lines[:5])
    return f"{column}: the same id appears {len(lines)} times, on lines {where}{more}"

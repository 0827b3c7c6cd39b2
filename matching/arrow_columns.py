"""Reading the store's columns as Arrow arrays, and moments as Danish calendar days."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_column(column: pd.Series) -> pa.Array:
    values = pa.array(column, from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def local_days(moments: pd.Series) -> pa.Array:
    """The Danish calendar day of each moment (stored in UTC; naive ones are UTC too)."""
    values = arrow_column(moments)
    if not pa.types.is_timestamp(values.type):
        values = pa.array(pd.to_datetime(moments, utc=True), from_pandas=True)
    if values.type.tz is None:
        values = pc.assume_timezone(values, "UTC")
    local = values.cast(pa.timestamp("us", tz="Europe/Copenhagen"))
    return pc.local_timestamp(local).cast(pa.date32())

"""Profile versions for the matching benchmark's panel: every current profile, and about 0.3
earlier versions a volunteer (1.3 versions in all, on average), seeded and kept in
``benchmarks/out/``.

Earlier versions go back in time from the current profile, each 1 to 400 days before the next.
Their diagnoses and medicines are drawn as the sample generator draws a new volunteer's
(``data_samples.codes``: a set of conditions by sex and age group, the medicines those bring and
everyday ones), independently of the current profile's, as stored after ingest: codes
normalised, ``''`` for answered none (``INGEN``), missing for not answered (8 % of lists).
The columns are ``matching.history.HISTORY_COLUMNS``, Arrow-backed and in no particular order,
as ``store.match_runs.profile_history`` reads them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks.ingest_benchmark import OUT
from data_samples.codes import CONDITION_SETS, EVERYDAY_MEDICINES
from matching.history import HISTORY_COLUMNS, HISTORY_SCHEMA

EARLIER_PER_VOLUNTEER = 0.3
_MOST_EARLIER = 4
_LONGEST_GAP_DAYS = 400
_UNANSWERED = 0.08
_SECONDS_PER_DAY = 86_400
_SEXES = ("female", "male", "other")


def panel_versions(profiles: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``profile_versions`` of the panel made from seed ``seed``, cached as Parquet."""
    path = OUT / f"versions-{len(profiles)}-seed{seed}.parquet"
    if not path.exists():
        print("generating the profile history (once; kept in benchmarks/out/) ...", flush=True)
        OUT.mkdir(exist_ok=True)
        profile_versions(profiles, seed).to_parquet(path)
    return pd.read_parquet(path, dtype_backend="pyarrow")


def profile_versions(profiles: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Every profile of ``profiles`` as its current version, with earlier versions drawn from
    ``seed`` (the same profiles and seed always give the same rows)."""
    rng = np.random.default_rng([seed, 21])
    earlier = np.minimum(rng.poisson(EARLIER_PER_VOLUNTEER, len(profiles)), _MOST_EARLIER)
    owner = np.repeat(np.arange(len(profiles)), earlier)
    # Each earlier version lies a gap before the next one: a profile's gaps add up backwards.
    gaps = rng.integers(_SECONDS_PER_DAY, _LONGEST_GAP_DAYS * _SECONDS_PER_DAY, len(owner))
    first = np.repeat(np.cumsum(earlier) - earlier, earlier)
    running = np.concatenate([[0], np.cumsum(gaps)])
    back = running[np.arange(len(owner)) + 1] - running[first]
    current = pd.to_datetime(profiles["submitted_at"], utc=True).to_numpy("datetime64[us]")
    submitted = current[owner] - back.astype("timedelta64[s]")

    born = pd.to_datetime(profiles["birth_date"]).to_numpy("datetime64[D]")[owner]
    age = (submitted.astype("datetime64[D]") - born).astype(np.int64) / 365.25
    group = (age >= 40).astype(np.int64) + (age >= 60)
    sex = pd.Categorical(profiles["sex"], categories=_SEXES).codes[owner].astype(np.int64)
    sex = np.where(sex < 0, 2, sex)
    combo = CONDITION_SETS.draw(sex * 3 + group, rng.random(len(owner)))
    earlier_versions = pd.DataFrame(
        {
            "volunteer_id": np.asarray(profiles["volunteer_id"], dtype=object)[owner],
            "submitted_at": pd.to_datetime(submitted, utc=True),
            "diagnoses": _answered(rng, CONDITION_SETS.diagnoses[combo]),
            "medicines": _answered(rng, _medicines(rng, combo)),
        }
    )
    every = pd.concat([profiles[list(HISTORY_COLUMNS)], earlier_versions], ignore_index=True)
    shuffled = every.iloc[rng.permutation(len(every))].reset_index(drop=True)
    table = pa.Table.from_pandas(shuffled, preserve_index=False).cast(HISTORY_SCHEMA)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _medicines(rng: np.random.Generator, combo: np.ndarray) -> np.ndarray:
    """What the conditions bring, each by its chance, and everyday medicines, ``|``-joined."""
    everyday = EVERYDAY_MEDICINES[rng.integers(0, len(EVERYDAY_MEDICINES), len(combo))]
    chances = rng.random((len(combo), max(map(len, CONDITION_SETS.medicines))))
    lists = np.empty(len(combo), dtype=object)
    for i, (brought, usual) in enumerate(
        zip(CONDITION_SETS.medicines[combo].tolist(), everyday.tolist(), strict=True)
    ):
        chosen = [atc for (atc, chance), u in zip(brought, chances[i], strict=False) if u < chance]
        lists[i] = "|".join(dict.fromkeys(chosen + list(usual)))
    return lists


def _answered(rng: np.random.Generator, lists: np.ndarray) -> np.ndarray:
    """The lists, missing (not answered) for a share of them."""
    answered = lists.copy()
    answered[rng.random(len(lists)) < _UNANSWERED] = None
    return answered

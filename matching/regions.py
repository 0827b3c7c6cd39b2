"""Denmark's five regions from a postcode: an approximation by postcode ranges.

Postcodes were laid out before the 2007 regions, so ranges and regions mostly, but not
exactly, agree. This table gets the great majority right; it is known to be wrong for a few
towns near the borders (4050 Skibby is in Hovedstaden, 6880 Tarm and 6893 Hemmet in
Midtjylland, parts of 7300-7330 straddle Syddanmark and Midtjylland), and postcodes 3800-3999
(Faroe Islands, Greenland) have no region. A study that must be exact about region should use
``postcode`` ranges instead.
"""

from __future__ import annotations

import numpy as np

from schemas.study_fields import Region

#: (first postcode, last postcode, region), inclusive, in order.
POSTCODE_RANGES: tuple[tuple[int, int, Region], ...] = (
    (1000, 2669, Region.HOVEDSTADEN),  # Copenhagen, Frederiksberg and suburbs
    (2670, 2699, Region.SJAELLAND),  # Greve, Solrød, Karlslunde
    (2700, 3799, Region.HOVEDSTADEN),  # the northern suburbs, North Zealand, Bornholm
    (4000, 4999, Region.SJAELLAND),
    (5000, 6899, Region.SYDDANMARK),  # Funen, South Jutland
    (6900, 6999, Region.MIDTJYLLAND),  # Ringkøbing-Skjern
    (7000, 7129, Region.SYDDANMARK),  # Fredericia, Vejle
    (7130, 7171, Region.MIDTJYLLAND),  # Hedensted
    (7172, 7329, Region.SYDDANMARK),  # Billund, Grindsted, Jelling, Give
    (7330, 7699, Region.MIDTJYLLAND),  # Brande, Herning, Holstebro, Struer
    (7700, 7799, Region.NORDJYLLAND),  # Thy
    (7800, 7899, Region.MIDTJYLLAND),  # Skive
    (7900, 7999, Region.NORDJYLLAND),  # Mors
    (8000, 8999, Region.MIDTJYLLAND),  # Aarhus, Randers, Viborg, Horsens, Silkeborg
    (9000, 9999, Region.NORDJYLLAND),
)


def region_of(postcode: int) -> Region | None:
    for first, last, region in POSTCODE_RANGES:
        if first <= postcode <= last:
            return region
    return None


def regions_of(postcodes: np.ndarray) -> np.ndarray:
    """The region of each postcode (float array, NaN for missing), as its position in
    ``Region`` (int8; -1 where there is none)."""
    order = list(Region)
    regions = np.full(len(postcodes), -1, dtype=np.int8)
    for first, last, region in POSTCODE_RANGES:
        regions[(postcodes >= first) & (postcodes <= last)] = order.index(region)
    return regions

"""Land-cover codes → the 14 ecosystem types of the equivalent-factor method.

The mapping is reference data (``valuation/landcover/ecosystem_types``), so users can edit it:
China's land-use classification GB/T 21010-2017, the CLCD and ESA WorldCover classes, and the
site kinds of Restora's register (a bare pit, dump or tailings pond is bare land; a water-filled
pit or subsidence is water; see the table's notes). A code mapped to ``null`` (built-up land)
has no equivalent factor and contributes no value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from restora import refdata
from restora.errors import InputError

MAPPING_TABLE = "valuation/landcover/ecosystem_types"
FACTORS_TABLE = "valuation/xie2015/equivalent_factors"
SCHEMES = ("gbt21010", "clcd", "esa_worldcover", "site_kind")
NO_TYPE = -1  # index for "no ecosystem type" (built-up), value 0
#: Code of the after-use table (``appraisal/after-use-land-class``) for "keeps its current
#: cover"; :meth:`LandCoverMapping.type_of` passes it through for
#: :func:`restora.valuation.esv.esv_before_after`, which then keeps the site's current type.
KEEP_CURRENT = "current"
# Type indices fit in int8 (14 types); a small dtype keeps raster-sized outputs 8× smaller
# and much faster to write than int64.
INDEX_DTYPE = np.int8


def ecosystem_types(on: dt.date | str | None = None, region: str | None = None) -> tuple[str, ...]:
    """The ecosystem-type keys, in the order of the equivalent-factor table."""
    return tuple(refdata.get(FACTORS_TABLE, on=on, region=region).frame()["type"])


@dataclass(frozen=True)
class LandCoverMapping:
    """One version of the mapping table, ready for vectorised lookups."""

    rows: pd.DataFrame
    types: tuple[str, ...]
    provenance: dict[str, Any]

    @classmethod
    def load(cls, on: dt.date | str | None = None, region: str | None = None) -> LandCoverMapping:
        table = refdata.get(MAPPING_TABLE, on=on, region=region)
        rows = table.frame()
        rows["code"] = rows["code"].astype(str)
        rows["water"] = rows["water"].astype(str).str.lower()
        types = ecosystem_types(on, region)
        bad = sorted(
            {t for t in rows["ecosystem_type"].dropna() if t not in types}  # user edits
        )
        if bad:
            raise InputError(
                f"unknown ecosystem type(s) {bad}; use one of {list(types)} or null",
                file=table.origin,
                field="ecosystem_type",
            )
        return cls(rows=rows, types=types, provenance=table.provenance())

    def type_of(self, scheme: str, code: str | int, water: bool = False) -> str | None:
        """Ecosystem type of one code (None for built-up land).

        ``KEEP_CURRENT`` (``"current"``, the after-use table's entry for ``leave_as_is``) is
        returned as is: the site keeps its current type (see
        :func:`restora.valuation.esv.esv_before_after`).

        Raises
        ------
        InputError
            When the scheme or code is not in the mapping.
        """
        if str(code) == KEEP_CURRENT:
            return KEEP_CURRENT
        idx = self.type_index(scheme, [code], [water])[0]
        return None if idx == NO_TYPE else self.types[idx]

    def type_index(
        self,
        scheme: str,
        codes: Sequence[Any] | np.ndarray,
        water: Sequence[bool] | np.ndarray | None = None,
    ) -> np.ndarray:
        """Indices into :attr:`types` for an array of codes (``NO_TYPE`` = built-up).

        Parameters
        ----------
        scheme : {"gbt21010", "clcd", "esa_worldcover", "site_kind"}
        codes : array-like
            Land-cover codes (any shape; compared as strings; GB/T 21010 codes keep their
            leading zero, e.g. ``"0101"``).
        water : array-like of bool, optional
            Standing water on the site (register site kinds); default False.

        Returns
        -------
        numpy.ndarray of int8, same shape as ``codes``
        """
        if scheme not in set(self.rows["scheme"]):
            raise InputError(
                f"unknown land-cover scheme {scheme!r}; use one of {sorted(set(self.rows['scheme']))}",
                field="scheme",
            )
        codes_arr = np.asarray(codes)
        wet = (
            np.zeros(codes_arr.size, dtype=bool)
            if water is None
            else np.broadcast_to(np.asarray(water, dtype=bool), codes_arr.shape).ravel()
        )
        sub = self.rows[self.rows["scheme"] == scheme]
        pos = {t: i for i, t in enumerate(self.types)}
        lookup: dict[tuple[str, str], int] = {}
        for code, w, et in zip(sub["code"], sub["water"], sub["ecosystem_type"], strict=True):
            lookup[(code, w)] = NO_TYPE if et is None or pd.isna(et) else pos[et]

        def resolve(code: str, flag: bool) -> int:
            hit = lookup.get((code, "true" if flag else "false"), lookup.get((code, "any")))
            if hit is None:
                raise InputError(
                    f"land-cover code {code!r} is not in the {scheme} mapping "
                    f"(add it to {MAPPING_TABLE})",
                    field="code",
                )
            return hit

        flat = codes_arr.ravel()
        if flat.size and np.issubdtype(flat.dtype, np.integer):
            # Integer rasters: a lookup array over the codes' range, no sort.
            lo, hi = int(flat.min()), int(flat.max())
            if hi - lo < 1_000_000:
                offset = flat - lo
                if water is None:  # one pass, no water dimension
                    seen = np.flatnonzero(np.bincount(offset, minlength=hi - lo + 1))
                    lut1 = np.full(hi - lo + 1, NO_TYPE, dtype=INDEX_DTYPE)
                    for off in seen:
                        lut1[off] = resolve(str(lo + int(off)), False)
                    return lut1[offset].reshape(codes_arr.shape)
                key = offset.astype(np.int64) * 2 + wet
                seen = np.flatnonzero(np.bincount(key, minlength=2 * (hi - lo + 1)))
                lut = np.full(2 * (hi - lo + 1), NO_TYPE, dtype=INDEX_DTYPE)
                for k in seen:
                    lut[k] = resolve(str(lo + int(k) // 2), bool(k % 2))
                return lut[key].reshape(codes_arr.shape)
        # Otherwise look up each distinct (code, water) pair once and scatter back.
        code_inv, uniq_codes = pd.factorize(flat, use_na_sentinel=False)  # hashing, no sort
        pair = code_inv.astype(np.int64) * 2 + wet
        inverse, uniq_pairs = pd.factorize(pair)
        out_u = np.empty(uniq_pairs.shape, dtype=INDEX_DTYPE)
        for i, key in enumerate(uniq_pairs):
            out_u[i] = resolve(str(uniq_codes[key // 2]), bool(key % 2))
        return out_u[inverse].reshape(codes_arr.shape)

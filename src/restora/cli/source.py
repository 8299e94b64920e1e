"""Where a command reads the register: files, or mines of the store (``--mine ID`` / ``--all``).

One rule for every command that reads register data (``diagnose soil|zones|hazards|
suitability``, ``value sites``, ``cost estimate``):

- the command's file argument(s), **or** ``--mine ID`` (repeatable), **or** ``--all`` (every
  mine of the store): exactly one of the three, otherwise exit 2 with a message naming them;
- ``--db URL`` says which store ``--mine``/``--all`` read (default ``RESTORA_DATABASE_URL``,
  else the embedded SQLite file); with files it is refused, since nothing would read it;
- a ``--mine`` id the store does not hold is an error (exit 2) naming it, and so is ``--all``
  on an empty store;
- the store is read through :meth:`restora.store.Store.load_register` only, so mines the
  register no longer holds (deleted) are never read;
- reference tables are those of ``--region`` when given; otherwise each mine's region code
  (read from the store, or from a register file's ``region_code`` column), as ``plan make`` and
  ``appraise`` do: :func:`region_groups` splits the rows by the region whose tables apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from restora.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from restora.inventory.model import Register

#: ``--mine ID`` (repeatable): read these mines from the store.
MineOption = typer.Option(
    None, "--mine", help="Read this mine from the store (repeatable); instead of files."
)
#: ``--all``: read every mine of the store.
AllOption = typer.Option(False, "--all", help="Read every mine in the store; instead of files.")


@dataclass(frozen=True)
class StoreSelection:
    """Mines to read from the store at ``db`` (``mine_ids`` None: every mine)."""

    db: str | None
    mine_ids: tuple[str, ...] | None

    def describe(self) -> str:
        """``mine A, B`` or ``every mine``, for messages and reports."""
        if self.mine_ids is None:
            return "every mine of the store"
        return f"mine {', '.join(self.mine_ids)} of the store"


def _given(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (list, tuple)):
        return any(v is not None for v in value)
    return True


def choose_source(
    *,
    files: Mapping[str, Any],
    mine: Sequence[str] | None,
    all_mines: bool,
    db: str | None,
) -> StoreSelection | None:
    """The store selection of ``--mine`` / ``--all``, or None to read the files.

    Parameters
    ----------
    files : mapping
        The command's file arguments and file options, by the name shown to users (``SAMPLES``,
        ``--hazards``); a value that is None, False or an empty list was not given.
    mine : sequence of str, optional
        The ``--mine`` ids.
    all_mines : bool
        ``--all``.
    db : str, optional
        ``--db``.

    Raises
    ------
    InputError
        None or more than one of files, ``--mine`` and ``--all``; ``--db`` with files
        (exit 2, naming the options).
    """
    given_files = [name for name, value in files.items() if _given(value)]
    names = " ".join(files)
    sources = [
        *([" and ".join(given_files)] if given_files else []),
        *(["--mine"] if _given(list(mine or [])) else []),
        *(["--all"] if all_mines else []),
    ]
    if not sources:
        raise InputError(
            f"nothing to read: give {names}, or --mine ID (repeatable), or --all "
            "(the store's mines)"
        )
    if len(sources) > 1:
        raise InputError(
            f"give one source: {names}, or --mine ID, or --all; not {' and '.join(sources)}"
        )
    if given_files:
        if db is not None:
            raise InputError(
                f"--db names the store read by --mine or --all; with {', '.join(given_files)} "
                "nothing reads it (drop --db, or read the store with --mine/--all)"
            )
        return None
    ids = tuple(dict.fromkeys(str(m) for m in mine or [])) if not all_mines else None
    return StoreSelection(db, ids)


def load_register(selection: StoreSelection) -> Register:
    """The selected mines with their sites, samples and hazards, from the store.

    Reads through :meth:`restora.store.Store.load_register` (the register's one read path).

    Raises
    ------
    InputError
        A ``--mine`` id not in the store (all such ids named), or ``--all`` on an empty store.
    """
    from restora.store import Store

    ids = list(selection.mine_ids) if selection.mine_ids is not None else None
    with Store(selection.db) as store:
        register = store.load_register(ids)
        where = f"the store {store.engine.url.render_as_string(hide_password=True)}"
    if ids is not None:
        held = set(register.mines["mine_id"].astype(str))
        missing = [m for m in ids if m not in held]
        if missing:
            raise InputError(
                f"not in the register of {where}: {', '.join(missing)} "
                "(`restora mines list` shows the mines it holds)"
            )
    elif register.mines.empty:
        raise InputError(
            f"the register of {where} holds no mines (import them with `restora mines import`)"
        )
    return register


def mine_regions(register: Register) -> dict[str, str | None]:
    """``{mine_id: region code}`` of the register's mines (None where missing)."""
    import pandas as pd

    mines = register.mines
    return {
        str(m): (None if pd.isna(r) else str(r))
        for m, r in zip(mines["mine_id"], mines["region_code"], strict=True)
    }


def region_groups(
    region: str | None, regions: Sequence[str | None]
) -> list[tuple[str | None, np.ndarray]]:
    """Rows grouped by the region whose reference tables apply to them.

    Parameters
    ----------
    region : str, optional
        ``--region``: when given, every row uses it (one group).
    regions : sequence of str or None
        Each row's own region code (its mine's), None where unknown.

    Returns
    -------
    list of (region, indices)
        The region code (None: national tables) and the positions of its rows, in order of
        first appearance; positions within a group ascend.

    Examples
    --------
    >>> [(r, i.tolist()) for r, i in region_groups(None, ["430599", None, "430599"])]
    [('430599', [0, 2]), (None, [1])]
    >>> [(r, i.tolist()) for r, i in region_groups("420100", ["430599", None])]
    [('420100', [0, 1])]
    """
    import numpy as np

    n = len(regions)
    if region is not None or n == 0:
        return [(region, np.arange(n))]
    keys = [
        None if r is None or (isinstance(r, float) and np.isnan(r)) else str(r) for r in regions
    ]
    order: dict[str | None, list[int]] = {}
    for i, key in enumerate(keys):
        order.setdefault(key, []).append(i)
    return [(key, np.asarray(rows, dtype=int)) for key, rows in order.items()]


def unique_tables(tables: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Reference-table provenance entries without repeats, in order of first use.

    Rows of several regions share the national tables: each table version is listed once.
    """
    import json

    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for t in tables:
        key = json.dumps(t, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(dict(t))
    return out

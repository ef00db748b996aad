"""The cohort data contract as code: column specifications, reading and validation.

This module is the machinery behind :func:`analysis.study.cohort.load_cohort`; use that function,
not
this module. Everything here returns :class:`Problem` objects instead of raising, so that every
problem of a cohort can be reported together.

How validation is split, and why
--------------------------------
1. **Reading** (plain Python + pandas): each file is checked to be strict UTF-8 (a byte-order mark
   is tolerated) and parsed with every cell kept as text (``dtype="category"``: pandas parses
   categories as strings and stores each distinct text once), so nothing is coerced behind the
   user's back (``007`` stays ``007``, ``NA`` stays the text ``NA``); only an empty cell is
   missing. Blank lines are kept while parsing and dropped afterwards, so the pandas index maps
   exactly to the row a spreadsheet shows (header = row 1, first data row = row 2).
2. **Column rules** (plain vectorised pandas, :func:`column_problems`): presence of required
   columns, required values, dates, whole numbers, numbers, ranges, category lists and uniqueness
   of ``patient_id`` are declared once, in :data:`CONTRACT`, and each becomes one vectorised check
   (:func:`_checks_for`; ``pd.to_datetime`` / ``pd.to_numeric`` with ``errors="coerce"``) run on
   every non-empty cell of the column, so every failing cell of every rule is reported at once.
   The checks run once per distinct value of a column, so a 100 000-patient cohort with 8 million
   event rows validates in a few seconds. Each date and number column is parsed once
   (:func:`parsed_column`, kept on the :class:`RawTable`): the checks, the relations below and
   the loader's typed columns all read those values.
3. **Relations between columns and files** (plain vectorised pandas): ``dara_last >= dara_start``,
   ``diagnosis_date <= dara_start``, ``death_date >= dara_start``, ``last_contact >= dara_start``,
   "every ``patient_id`` exists in patients.csv" and "no dated record after the patient's
   ``death_date``". They are run after the column rules because (a) they only make sense on
   values that passed step 2 (otherwise one bad date would be reported twice), (b) their messages
   quote both values (``before dara_start (2019-03-01 < 2019-04-02)``), and (c) some span two files.
   Every ``patient_id`` is looked up in patients.csv once (``RawTable.patient_rows``: one hash
   lookup per distinct id), and the loader keeps these positions (``Cohort.patient_rows``).

Why no schema library (pandera was used until 2026-11): the contract is already declarative
(:data:`CONTRACT`, one line per column), and running its checks directly costs a loop over about
40 columns, whereas importing pandera and building its schemas took about half a second of every
command's start-up (``benchmarks/bench_startup.py``). The messages are the same, cell for cell.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import pandas as pd

Kind = Literal["id", "date", "category", "int", "float"]

#: Words that spreadsheet or R exports write for "missing"; the contract wants an empty cell.
_NA_WORDS: frozenset[str] = frozenset({"na", "n/a", "nan", "null", "none", "missing", "."})


@dataclass(frozen=True)
class Problem:
    """One violation of the data contract.

    ``file`` is the file name inside the cohort folder (or the folder itself), ``row`` the row as a
    spreadsheet shows it (header = 1, first data row = 2; ``None`` for file-level problems),
    ``column`` the column concerned (or ``None``), ``rule`` what was expected, ``value`` the
    offending cell's text (``None`` when there is none, e.g. a missing value or column).
    ``str(problem)`` is one line; it ends with ``, got 'value'`` unless the rule already quotes
    the value (as the date-order rules do).
    """

    file: str
    row: int | None
    column: str | None
    rule: str
    value: str | None = None

    def __str__(self) -> str:
        """E.g. ``patients.csv, row 7, column dara_last: before dara_start (2019-03-01 < ...)``."""
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        text = f"{', '.join(where)}: {self.rule}"
        if self.value is not None and f"({self.value} " not in self.rule:
            text += f", got {self.value!r}"
            if self.value.strip().lower() in _NA_WORDS:
                text += " (write an empty cell for an unknown value)"
        return text

    def sort_key(self) -> tuple[int, int, int, str, str]:
        """Order problems by file (contract order), row, column (contract order), rule."""
        file_rank = FILE_ORDER.index(self.file) if self.file in FILE_ORDER else len(FILE_ORDER)
        spec = CONTRACT.get(self.file)
        names = [c.name for c in spec] if spec else []
        col_rank = names.index(self.column) if self.column in names else len(names)
        return (file_rank, -1 if self.row is None else self.row, col_rank, self.column or "",
                self.rule)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    ``required``: the column must be in the header. ``value_required``: every row needs a
    non-empty cell (the contract's "empty cell = unknown" applies to all other columns).
    ``categories``: allowed values of a category column. ``low``/``high``: inclusive range of a
    number. ``unique``: no repeated value (patients.patient_id).
    """

    name: str
    kind: Kind
    required: bool = True
    value_required: bool = False
    categories: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    unique: bool = False


def _cat(name: str, values: str, *, required: bool = True, value_required: bool = False
         ) -> ColumnSpec:
    return ColumnSpec(name, "category", required, value_required, tuple(values.split()))


_YES_NO = "yes no"

#: The contract (``data/README.md``), file by file, columns in contract order.
#: Values are required (non-empty) only where a row means nothing without them: identities,
#: the observation-period dates, event dates, and the infection/IgG attributes every analysis uses.
#: Descriptive patient columns may be empty (= unknown), as the paper itself has unknowns
#: (e.g. prior infections for 3 IVIG and 6 reference patients).
CONTRACT: dict[str, tuple[ColumnSpec, ...]] = {
    "patients.csv": (
        ColumnSpec("patient_id", "id", value_required=True, unique=True),
        _cat("group", "ivig reference", value_required=True),
        _cat("sex", "M F"),
        ColumnSpec("age_at_dara", "float", low=0, high=150),  # years, may have decimals
        ColumnSpec("diagnosis_date", "date"),
        ColumnSpec("dara_start", "date", value_required=True),
        ColumnSpec("dara_last", "date", value_required=True),
        _cat("heavy_chain", "IgG IgA IgD IgE IgM none"),
        _cat("light_chain", "kappa lambda both"),
        ColumnSpec("lines_of_therapy", "int", low=0),
        ColumnSpec("prior_infections_12m", "int", low=0),
        _cat("iss", "I II III", required=False),
        _cat("riss", "I II III", required=False),
        _cat("high_risk_cyto", _YES_NO, required=False),
        _cat("prior_asct", _YES_NO, required=False),
        _cat("antiviral_ppx", _YES_NO, required=False),
        _cat("antibacterial_ppx", _YES_NO, required=False),
        _cat("antifungal_ppx", _YES_NO, required=False),
        _cat("best_response", "sCR CR VGPR PR MR SD PD", required=False),
        ColumnSpec("death_date", "date", required=False),
        ColumnSpec("last_contact", "date", required=False),
    ),
    "ivig.csv": (
        ColumnSpec("patient_id", "id", value_required=True),
        ColumnSpec("date", "date", value_required=True),
        ColumnSpec("dose_g_per_kg", "float", required=False, low=0),
    ),
    "infections.csv": (
        ColumnSpec("patient_id", "id", value_required=True),
        ColumnSpec("date", "date", value_required=True),
        ColumnSpec("grade", "int", value_required=True, low=1, high=5),
        _cat("site", "upper_respiratory lower_respiratory gastrointestinal urinary "
                     "skin_soft_tissue bloodstream other", value_required=True),
        _cat("organism", "bacterial viral fungal unconfirmed", value_required=True),
        ColumnSpec("anc", "float", required=False, low=0),
        ColumnSpec("alc", "float", required=False, low=0),
    ),
    "igg.csv": (
        ColumnSpec("patient_id", "id", value_required=True),
        ColumnSpec("date", "date", value_required=True),
        ColumnSpec("igg_mg_dl", "float", value_required=True, low=0),
        ColumnSpec("m_spike_g_dl", "float", required=False, low=0),
    ),
    "progression.csv": (
        ColumnSpec("patient_id", "id", value_required=True),
        ColumnSpec("date", "date", value_required=True),
    ),
}
FILE_ORDER: tuple[str, ...] = (*CONTRACT, "cohort.yaml")
METADATA_FILE = "cohort.yaml"

# ----------------------------------------------------------------------------- parsing helpers
# Each returns a parsed Series aligned with its input (NaT/NaN where the text does not parse).
# Cohort columns repeat few distinct texts (dates, categories, ids), so the work is done once per
# distinct value (pd.factorize, a hash pass) and spread back with numpy indexing: this is what
# keeps a 100 000-patient cohort at a few seconds.


def by_distinct(s: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply the vectorised ``fn`` to the distinct values of ``s``; return it aligned with ``s``.

    ``s`` is text, ideally categorical (as :func:`read_table` returns it: the distinct values are
    its categories); missing values of ``s`` come back as ``fn``'s value for a missing input.
    """
    import numpy as np
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype) and len(s.cat.categories) <= len(s):
        codes, uniques = s.cat.codes.to_numpy(), s.cat.categories.to_numpy(dtype=object)
    else:  # plain text, or a few rows of a categorical with many categories
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    values = fn(pd.Series(np.append(np.asarray(uniques, dtype=object), None), dtype=object))
    return pd.Series(values.to_numpy()[codes], index=s.index, name=s.name)  # code -1 = the None


def parse_dates(s: pd.Series) -> pd.Series:
    """ISO ``YYYY-MM-DD`` text -> datetime64[ns]; anything else (incl. ``2019-3-1``) -> NaT."""
    import pandas as pd

    def parse(u: pd.Series) -> pd.Series:
        parsed = pd.to_datetime(u, format="%Y-%m-%d", errors="coerce")
        return parsed.where(u.str.len() == 10).astype("datetime64[ns]")

    return by_distinct(s, parse)


def parse_numbers(s: pd.Series) -> pd.Series:
    """Numeric text -> float64; non-numbers and infinities -> NaN."""
    import numpy as np
    import pandas as pd

    def parse(u: pd.Series) -> pd.Series:
        num = pd.to_numeric(u, errors="coerce").astype("float64")
        return num.where(np.isfinite(num))

    return by_distinct(s, parse)


def not_blank(s: pd.Series) -> pd.Series:
    """True where a cell is missing or has a non-whitespace character."""
    return by_distinct(s, lambda u: u.isna() | ~(u.str.isspace() | (u == ""))).astype(bool)


def _range_text(spec: ColumnSpec) -> str:
    if spec.low is not None and spec.high is not None:
        return f"from {spec.low:g} to {spec.high:g}"
    return f">= {spec.low:g}"


#: A vectorised check of one column: (cells as text, their parsed values or None) -> True where
#: valid. The parsed values are those of :func:`parsed_column`, so no check parses again.
Check = Callable[["pd.Series", "pd.Series | None"], "pd.Series"]


def _number_checks(spec: ColumnSpec) -> list[tuple[str, Check]]:
    """Checks of a whole-number or number column, on its parsed values ``n``."""
    whole = spec.kind == "int"
    checks: list[tuple[str, Check]] = [
        ("expected a whole number" if whole else "expected a number",
         (lambda _s, n: n.notna() & (n % 1 == 0)) if whole else (lambda _s, n: n.notna()))]
    if whole:  # beyond 2**53 floats are not exact integers (and 2**63 overflows Int64)
        checks.append(("too large (at most 2^53)", lambda _s, n: n.isna() | (n.abs() <= 2**53)))
    if spec.low is not None or spec.high is not None:
        low = -float("inf") if spec.low is None else spec.low
        high = float("inf") if spec.high is None else spec.high
        # Only numbers are range-checked, so a non-number is reported once, not twice.
        # Huge whole numbers are reported as too large, not also as out of range.
        cap = 2**53 if whole else float("inf")
        checks.append((f"must be {_range_text(spec)}",
                       lambda _s, n: n.isna() | (n.abs() > cap) | n.between(low, high)))
    return checks


def _checks_for(spec: ColumnSpec) -> list[tuple[str, Check]]:
    """(rule text, vectorised check) pairs for one column; a check returns True where valid."""
    checks: list[tuple[str, Check]] = []
    if spec.kind == "id":
        checks.append(("must not be blank", lambda s, _n: not_blank(s)))
        if spec.unique:
            checks.append(("duplicate patient_id", lambda s, _n: ~s.duplicated(keep="first")))
    elif spec.kind == "date":
        checks.append(("expected a date as YYYY-MM-DD", lambda _s, d: d.notna()))
    elif spec.kind == "category":
        allowed = list(spec.categories)
        checks.append((f"expected one of: {', '.join(allowed)}", lambda s, _n: s.isin(allowed)))
    elif spec.kind in ("int", "float"):
        checks += _number_checks(spec)
    return checks


# ----------------------------------------------------------------------------- reading


@dataclass
class RawTable:
    """A CSV read as text: every cell ``str`` or NA; ``frame.index`` = spreadsheet row - 2.

    What validation computes once and the loader reuses: ``parsed`` holds the parsed values of
    each date and number column (:func:`parsed_column`), and ``patient_rows`` the position in
    ``patients.csv`` of each row's ``patient_id`` (-1: missing or unknown; set by
    :func:`relation_problems`).
    """

    file: str
    frame: pd.DataFrame
    parsed: dict[str, pd.Series] = field(default_factory=dict, repr=False)
    patient_rows: np.ndarray | None = field(default=None, repr=False)


def parsed_column(table: RawTable, name: str) -> pd.Series:
    """The parsed values of a date or number column of ``table`` (NaT/NaN where the text does
    not parse), aligned with ``table.frame``; parsed on first use and then kept."""
    values = table.parsed.get(name)
    if values is None:
        kind = next(c.kind for c in CONTRACT[table.file] if c.name == name)
        text = table.frame[name]
        values = table.parsed[name] = parse_dates(text) if kind == "date" else parse_numbers(text)
    return values


_LINE_RE = re.compile(r"line (\d+)")
_BOM = b"\xef\xbb\xbf"


def _extra_field_problems(file: str, body: bytes, width: int) -> list[Problem]:
    """Rows with non-empty fields beyond the header's ``width`` (error path only: a Python scan).

    Empty extra fields (a trailing comma on every line, as some exports write) lose nothing and
    are not reported.
    """
    problems = []
    try:
        text = body.decode("utf-8")
        for row, fields in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if len(fields) > width and any(f.strip() for f in fields[width:]):
                problems.append(Problem(
                    file, row, None,
                    f"{len(fields)} fields but the header has {width} (an unquoted comma?)",
                    ",".join(fields)[:80]))
    except csv.Error:
        return []
    return problems


def read_table(folder: Path, file: str) -> tuple[RawTable | None, list[Problem]]:
    """Read one CSV of the cohort as text; return the table (or ``None``) and reading problems."""
    import pandas as pd

    path = folder / file
    if not path.exists():
        return None, [Problem(file, None, None, "required file missing")]
    if not path.is_file():
        return None, [Problem(file, None, None, "not a file")]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(file, None, None, f"cannot be read ({exc.strerror or exc})")]
    try:  # strict check only; pandas parses the bytes (faster than text); ASCII is UTF-8
        if not data.isascii():
            str(data, "utf-8")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        return None, [Problem(file, row, None,
                              f"not valid UTF-8 (byte 0x{byte} at offset {exc.start}); "
                              "save the file as UTF-8")]
    body = data[3:] if data.startswith(_BOM) else data
    if not body or body.isspace():
        return None, [Problem(file, None, None, "empty file: no header row")]
    first_line = re.split(r"[\r\n]", body[:65536].decode("utf-8", errors="replace"), maxsplit=1)[0]
    if not first_line.strip():
        return None, [Problem(file, 1, None,
                              "the header must be on the first line (row 1 is blank)")]
    problems: list[Problem] = []
    try:
        header = next(csv.reader([first_line]), [])
    except csv.Error:  # pandas reports an unreadable header below
        header = []
    seen: set[str] = set()
    for name in header:
        if name in seen and any(name == c.name for c in CONTRACT[file]):
            problems.append(Problem(file, 1, name, "column appears more than once in the header"))
        seen.add(name)
    try:
        # dtype="category": every cell stays text (categories are always parsed as strings),
        # stored once per distinct value, so all later checks work on the distinct values only.
        # index_col=False: never take the first column as an index; pandas then truncates rows
        # with extra fields and only warns, so that warning is caught and turned into problems.
        # low_memory=False: one pass over the file, so each column's categories are found once
        # (by chunks, every chunk's categories are merged again: about a fifth of the read).
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.BytesIO(body), dtype="category", keep_default_na=False, na_values=[""],
                skip_blank_lines=False, index_col=False, encoding="utf-8", low_memory=False)
    except pd.errors.EmptyDataError:
        return None, [Problem(file, None, None, "empty file: no header row")]
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        extra = _extra_field_problems(file, body, len(header))
        if extra:
            return None, extra
        match = _LINE_RE.search(msg)
        row = int(match.group(1)) if match else None
        return None, [Problem(file, row, None, f"not a readable CSV ({msg})")]
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        extra = _extra_field_problems(file, body, len(frame.columns))
        if extra:
            return None, extra
    frame.columns = [str(c).strip() for c in frame.columns]
    # drop blank lines and empty rows; the index keeps the spreadsheet row numbers
    maybe_blank = frame.iloc[:, 0].isna().to_numpy()
    if maybe_blank.any():
        blank = frame.loc[maybe_blank].isna().all(axis=1)
        frame = frame.drop(index=blank.index[blank.to_numpy()])
    return RawTable(file, frame), problems


# ----------------------------------------------------------------------------- validation


def _row(index: Any) -> int | None:
    """Pandas index label -> spreadsheet row (header = 1)."""
    try:
        return int(index) + 2
    except (TypeError, ValueError):
        return None


def _clean(value: Any) -> str | None:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def column_problems(table: RawTable) -> list[Problem]:
    """Apply the column rules of :data:`CONTRACT` to one file; every failing cell is a Problem.

    Per column: a required column absent from the header, then every empty cell of a column that
    needs a value, then each vectorised check of :func:`_checks_for` on the non-empty cells (a
    check runs on all of them, so every failing cell of every rule is reported, not the first).
    """
    frame = table.frame
    problems: list[Problem] = []
    for spec in CONTRACT[table.file]:
        if spec.name not in frame.columns:
            if spec.required:
                problems.append(Problem(table.file, None, spec.name, "required column missing"))
            continue
        col = frame[spec.name]
        present = col.notna().to_numpy()
        if spec.value_required and not present.all():
            problems += [Problem(table.file, _row(i), spec.name, "required value missing")
                         for i in col.index[~present]]
        values = col if present.all() else col[present]
        numbers = None
        if spec.kind in ("date", "int", "float"):
            numbers = parsed_column(table, spec.name)
            numbers = numbers if present.all() else numbers[present]
        for rule, check in _checks_for(spec):
            ok = check(values, numbers).to_numpy(dtype=bool)
            if ok.all():
                continue
            if rule == "duplicate patient_id":
                rule_of = _duplicate_rule(values)
            else:
                def rule_of(_value: str, rule: str = rule) -> str:
                    return rule
            problems += [Problem(table.file, _row(i), spec.name, rule_of(v), _clean(v))
                         for i, v in values[~ok].items()]
    return problems


def _duplicate_rule(ids: pd.Series) -> Callable[[str], str]:
    """The rule text of a repeated id, naming the row of its first occurrence."""
    firsts = ids[~ids.duplicated(keep="first")]
    first_row = {v: _row(i) for i, v in firsts.items()}
    return lambda value: f"duplicate patient_id (first in row {first_row.get(value)})"


def relation_problems(tables: dict[str, RawTable], bad_cells: set[tuple[str, int | None, str]]
                      ) -> list[Problem]:
    """Rules between columns and files, on values that passed the column rules (vectorised)."""
    problems: list[Problem] = []
    patients = tables.get("patients.csv")
    if patients is not None:
        frame = patients.frame
        have = set(frame.columns)
        start = parsed_column(patients, "dara_start") if "dara_start" in have else None
        pairs = (("dara_last", "before dara_start", lambda d, s: d < s, "<"),
                 ("diagnosis_date", "after dara_start", lambda d, s: d > s, ">"),
                 ("death_date", "before dara_start", lambda d, s: d < s, "<"),
                 ("last_contact", "before dara_start", lambda d, s: d < s, "<"))
        for column, rule, wrong, sign in pairs:
            if start is None or column not in have:
                continue
            other = parsed_column(patients, column)
            bad = wrong(other, start).to_numpy(dtype=bool)  # NaT compares False: reported already
            rows = frame.loc[bad, [column, "dara_start"]]
            for idx, a, b in zip(rows.index, rows[column], rows["dara_start"], strict=True):
                problems.append(Problem("patients.csv", int(idx) + 2, column,
                                        f"{rule} ({a} {sign} {b})", a))
    if patients is None or "patient_id" not in patients.frame.columns:
        return problems  # cannot know which ids exist; the missing file/column is reported
    _set_patient_rows(tables)
    problems += after_death_problems(tables, bad_cells)
    for file, table in tables.items():
        if file == "patients.csv" or table.patient_rows is None:
            continue
        ids = table.frame["patient_id"]
        unknown = ids[ids.notna().to_numpy() & (table.patient_rows < 0)]
        unknown = unknown[not_blank(unknown).to_numpy()]  # blank ids are reported already
        for idx, value in unknown.items():
            if (file, int(idx) + 2, "patient_id") not in bad_cells:
                problems.append(Problem(file, int(idx) + 2, "patient_id",
                                        "unknown patient_id (not in patients.csv)", value))
    return problems


def _set_patient_rows(tables: dict[str, RawTable]) -> None:
    """Set ``patient_rows`` of every table with a ``patient_id`` column: the position of the
    first row of ``patients.csv`` with that id (-1: missing or not in ``patients.csv``).

    One hash lookup per distinct id of each file (the columns are categorical, and pandas looks
    their categories up, not every cell), so every later join by patient is integer indexing.
    """
    import numpy as np
    import pandas as pd

    ids = tables["patients.csv"].frame["patient_id"]
    first = (ids.notna() & ~ids.duplicated(keep="first")).to_numpy()
    known = pd.Index(ids[first].astype(object))
    rows = np.append(np.flatnonzero(first), -1)  # position -1 (not found) -> row -1
    for table in tables.values():
        if "patient_id" in table.frame.columns:
            table.patient_rows = rows[known.get_indexer(table.frame["patient_id"])]


def after_death_problems(tables: dict[str, RawTable],
                         bad_cells: set[tuple[str, int | None, str]]) -> list[Problem]:
    """Dated records (IVIG dose, infection, IgG value, progression) after the patient's death_date.

    Nobody receives a dose, has an infection onset, a blood test or a progression after death, so
    such a row is a data error (a wrong date or a wrong patient), not an item outside observation.
    Only well-formed values are compared: a death_date or date that does not parse, or an unknown
    patient_id, is reported by the column rules already. A record on the day of death is fine.
    A patient_id repeated in patients.csv takes the death_date of its first row that has a
    well-formed one. Needs ``patient_rows`` (:func:`_set_patient_rows`).
    """
    import numpy as np

    patients = tables["patients.csv"]
    frame = patients.frame
    if "death_date" not in frame.columns or "dara_start" not in frame.columns:
        return []
    death = parsed_column(patients, "death_date").to_numpy()
    # a death_date before dara_start is reported on its own; do not also flag every record
    ok = ~np.isnat(death) & frame["patient_id"].notna().to_numpy()
    ok &= ~(death < parsed_column(patients, "dara_start").to_numpy())
    problems: list[Problem] = []
    if not ok.any():
        return problems
    n = len(frame)
    dead_row = np.full(n + 1, n)  # per first row of an id: its first row with a usable death
    np.minimum.at(dead_row, patients.patient_rows[ok], np.flatnonzero(ok))
    death = np.append(death, np.datetime64("NaT"))  # row n: no death
    death_text = frame["death_date"]
    for file, table in tables.items():
        if file == "patients.csv" or not {"patient_id", "date"} <= set(table.frame.columns):
            continue
        row = dead_row[table.patient_rows]  # patient row -1 (unknown) reads dead_row[n] = n
        date = parsed_column(table, "date").to_numpy()
        bad = date > death[row]  # NaT (no death, bad date) compares False
        for i in np.flatnonzero(bad):
            idx = table.frame.index[i]
            if (file, int(idx) + 2, "date") in bad_cells:
                continue
            text = str(table.frame["date"].iloc[i])
            died = str(death_text.iloc[row[i]])
            problems.append(Problem(file, int(idx) + 2, "date",
                                    f"after the patient's death_date ({text} > {died})", text))
    return problems


def metadata_problems(folder: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Read the optional ``cohort.yaml``; return its mapping ({} if absent) and problems."""
    path = folder / METADATA_FILE
    if not path.exists():
        return {}, []
    import yaml

    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {}, [Problem(METADATA_FILE, row, None, f"not readable YAML ({reason})")]
    if meta is None:
        return {}, []
    if not isinstance(meta, dict):
        return {}, [Problem(METADATA_FILE, None, None, "expected a mapping of keys to values")]
    problems = []
    types: dict[str, type] = {"name": str, "synthetic": bool, "seed": int, "generator": str,
                              "description": str}
    for key, expected in types.items():
        value = meta.get(key)
        wrong_bool = expected is int and isinstance(value, bool)  # YAML true is not a seed
        if value is not None and (not isinstance(value, expected) or wrong_bool):
            problems.append(Problem(METADATA_FILE, None, key, f"expected {expected.__name__}",
                                    repr(value)))
    return meta, problems


def validate_folder(folder: Path) -> tuple[dict[str, RawTable], dict[str, Any], list[Problem]]:
    """Read and validate every file of a cohort folder; return raw tables, metadata and problems."""
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for file in CONTRACT:
        table, found = read_table(folder, file)
        problems += found
        if table is not None:
            tables[file] = table
            problems += column_problems(table)
    patients = tables.get("patients.csv")
    if patients is not None and len(patients.frame) == 0:
        problems.append(Problem("patients.csv", None, None, "no patients (only a header row)"))
    bad_cells = {(p.file, p.row, p.column or "") for p in problems}
    problems += relation_problems(tables, bad_cells)
    meta, found = metadata_problems(folder)
    problems += found
    return tables, meta, sorted(problems, key=Problem.sort_key)


"""Fuzzing the cohort loader: a corrupted file gives a clear CohortError or a valid cohort.

What and why: a user's own cohort comes from exports of hospital systems and spreadsheets, so the
loader meets truncated files, the wrong encoding, shuffled or deleted columns, blank lines, huge
numbers, stray quotes and flipped bytes. The contract (data/README.md) promises that anything
that does not follow it is refused with a clear error naming the file, and never a traceback.
Here a small valid cohort is corrupted in seeded random ways, one mutation family per test; for
every case :func:`analysis.study.cohort.load_cohort` must either

* raise :class:`~analysis.study.cohort.CohortError` whose every problem names a cohort file (and a
row
  as a spreadsheet shows it, when it gives one), or
* return a :class:`~analysis.study.cohort.Cohort` that satisfies the contract's invariants;

and a mutation that does not change the table's meaning (columns reordered, CRLF line ends, blank
lines, a BOM, extra columns) must give back exactly the original cohort. Deterministic (fixed
seeds) and bounded (a few hundred loads, ~10 s).
"""

from __future__ import annotations

import random
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from _helpers_qa import Inf, Pt, write_cohort

from analysis.study.cohort import Cohort, CohortError, load_cohort

FILES = ("patients.csv", "ivig.csv", "infections.csv", "igg.csv", "progression.csv")
KNOWN_FILES = {*FILES, "cohort.yaml"}
CASES_PER_FAMILY = 14

BASE = [
    Pt("P1", start=17_000, last=200, ivig=(10, 40, 70), igg=((-5, 650.0), (60, 720.0)),
       infections=(Inf(5), Inf(20, grade=3, organism="viral"), Inf(100)), progression=(150,)),
    Pt("P2", start=17_100, last=300, ivig=(100,), igg=((0, 350.0),),
       infections=(Inf(110, site="urinary"), Inf(250), Inf(250, grade=4))),
    Pt("P3", start=16_800, last=90, group="reference", igg=((1, 1000.0),),
       infections=(Inf(30, organism="unconfirmed", site="other"),)),
    Pt("P4", start=17_400, last=31, ivig=(-10, 200), infections=(Inf(31, grade=1),),
       heavy_chain="IgG"),
]


# --------------------------------------------------------------------------- CSV manipulation
def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _cells(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    return [line.split(",") for line in text.rstrip("\n").split("\n")]


def _join(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in rows) + "\n").encode("utf-8")


Mutator = Callable[[bytes, random.Random], bytes]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(0, len(data))]


def latin1(data: bytes, rng: random.Random) -> bytes:
    rows = _cells(data)
    r = rng.randrange(len(rows))
    c = rng.randrange(len(rows[r]))
    rows[r][c] += rng.choice(["é", "ü", "ñ", "°", "µ"])
    return "\n".join(",".join(x) for x in rows).encode("latin-1")


def utf16(data: bytes, rng: random.Random) -> bytes:
    return data.decode("utf-8").encode(rng.choice(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]))


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def delete_column(data: bytes, rng: random.Random) -> bytes:
    rows = _cells(data)
    c = rng.randrange(len(rows[0]))
    return _join([r[:c] + r[c + 1 :] for r in rows])


def huge_value(data: bytes, rng: random.Random) -> bytes:
    rows = _cells(data)
    if len(rows) < 2:
        return data
    r = rng.randrange(1, len(rows))
    c = rng.randrange(len(rows[r]))
    rows[r][c] = rng.choice(
        [
            "9" * rng.randint(19, 400),
            "-" + "9" * rng.randint(19, 40),
            "1e308",
            "-1e308",
            "1e400",
            "1" + "0" * 30,
            "9223372036854775808",
            "18446744073709551616",
            "0x7fffffff",
            "1_000",
            "inf",
            "-inf",
            "+1",
            "9999-12-31",
            "0001-01-01",
            "2262-04-12",
            "1677-09-21",
            "x" * 100_000,
        ]
    )
    return _join(rows)


def quotes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        buf.insert(rng.randrange(len(buf) + 1), ord(rng.choice("\"'`")))
    return bytes(buf)


def line_noise(data: bytes, rng: random.Random) -> bytes:
    """Structural damage: CR-only line ends, NUL bytes, a row with too many/few fields, ..."""
    choice = rng.randrange(7)
    if choice == 0:
        return data.replace(b"\n", b"\r")
    if choice == 1:
        pos = rng.randrange(len(data) + 1)
        return data[:pos] + b"\x00" + data[pos:]
    lines = _lines(data)
    r = rng.randrange(len(lines))
    if choice == 2:
        lines[r] += b",extra,fields"
    elif choice == 3:
        lines[r] = lines[r].rsplit(b",", 1)[0]
    elif choice == 4:
        lines.insert(rng.randrange(len(lines) + 1), lines[0])  # header repeated mid-file
    elif choice == 5:
        lines = lines[1:]  # header missing
    else:
        lines[r] = b";".join(lines[r].split(b","))  # semicolon-separated row
    return b"\n".join(lines)


# meaning-preserving mutations: the loaded cohort must equal the original
def shuffle_columns(data: bytes, rng: random.Random) -> bytes:
    rows = _cells(data)
    perm = list(range(len(rows[0])))
    rng.shuffle(perm)
    return _join([[r[i] for i in perm] for r in rows])


def crlf(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\n", b"\r\n")


def blank_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    empty_row = b"," * lines[0].count(b",")  # a spreadsheet's empty row: all cells empty
    for _ in range(rng.randint(1, 4)):
        lines.insert(rng.randrange(1, len(lines) + 1), rng.choice([b"", b"", empty_row, b"\r"]))
    return b"\n".join(lines)


def bom(data: bytes, rng: random.Random) -> bytes:
    return b"\xef\xbb\xbf" + data


def extra_columns(data: bytes, rng: random.Random) -> bytes:
    rows = _cells(data)
    at = rng.randrange(len(rows[0]) + 1)
    name = rng.choice(["notes", "mrn_internal", "Unnamed: 0", ""])
    return _join(
        [[*r[:at], name if i == 0 else f"v{i}", *r[at:]] for i, r in enumerate(rows)]
    )


DAMAGING: dict[str, Mutator] = {
    "truncate": truncate,
    "latin1": latin1,
    "utf16": utf16,
    "random_bytes": random_bytes,
    "delete_column": delete_column,
    "huge_value": huge_value,
    "quotes": quotes,
    "line_noise": line_noise,
}
HARMLESS: dict[str, Mutator] = {
    "shuffle_columns": shuffle_columns,
    "crlf": crlf,
    "blank_lines": blank_lines,
    "bom": bom,
    "extra_columns": extra_columns,
}


# --------------------------------------------------------------------------- checks
@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    folder = write_cohort(tmp_path_factory.mktemp("fuzz") / "base", BASE)
    (folder / "cohort.yaml").write_text("name: fuzz base\nsynthetic: false\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def base_cohort(base_dir: Path) -> Cohort:
    return load_cohort(base_dir)


def cohort_invariants(c: Cohort) -> list[str]:
    """Contract rules a loaded cohort must satisfy (empty list = all hold)."""
    bad = []
    p = c.patients
    if p.empty:
        bad.append("no patients")
    if p["patient_id"].isna().any() or p["patient_id"].duplicated().any():
        bad.append("patient_id missing or duplicated")
    if not p["group"].isin(["ivig", "reference"]).all():
        bad.append("group outside ivig/reference")
    if p[["dara_start", "dara_last"]].isna().any().any():
        bad.append("missing dara dates")
    elif (p["dara_last"] < p["dara_start"]).any():
        bad.append("dara_last before dara_start")
    ids = set(p["patient_id"])
    for name in ("ivig", "infections", "igg", "progression"):
        t = getattr(c, name)
        if not set(t["patient_id"]).issubset(ids):
            bad.append(f"{name}: unknown patient_id")
        if t["date"].isna().any() or not pd.api.types.is_datetime64_any_dtype(t["date"]):
            bad.append(f"{name}: missing or unparsed date")
    g = c.infections["grade"]
    if g.isna().any() or not g.between(1, 5).all():
        bad.append("infection grade outside 1-5")
    return bad


def try_load(folder: Path) -> tuple[str, object]:
    """('cohort', Cohort) | ('error', CohortError) | ('crash', 'Type: message')."""
    try:
        return "cohort", load_cohort(folder)
    except CohortError as exc:
        return "error", exc
    except Exception as exc:  # the property under test: nothing else may escape
        return "crash", f"{type(exc).__name__}: {exc}"[:300]


def error_problems(exc: CohortError) -> list[str]:
    """What is unclear about a CohortError (empty list = every problem names its file)."""
    bad = []
    if not exc.problems:
        bad.append("CohortError with no problems")
    for prob in exc.problems:
        if prob.file not in KNOWN_FILES:
            bad.append(f"problem does not name a cohort file: {prob}")
        if prob.row is not None and prob.row < 1:
            bad.append(f"row {prob.row} is not a spreadsheet row: {prob}")
        if not str(prob).startswith(prob.file) or not prob.rule:
            bad.append(f"unclear message: {prob}")
        if "Traceback" in str(prob):
            bad.append(f"traceback in message: {prob}")
    if exc.problems and exc.problems[0].file not in str(exc):
        bad.append("str(CohortError) does not list the problems")
    return bad


def corrupt(base_dir: Path, work: Path, name: str, mutate: Mutator, k: int) -> tuple[Path, str]:
    """Copy the base cohort to ``work`` and corrupt one file; return folder and a description."""
    rng = random.Random(f"{name}-{k}")
    folder = work / f"{name}-{k}"
    shutil.copytree(base_dir, folder)
    file = FILES[k % len(FILES)]
    path = folder / file
    path.write_bytes(mutate(path.read_bytes(), rng))
    return folder, f"{name} case {k} on {file}"


def _same_tables(a: Cohort, b: Cohort) -> list[str]:
    diffs = []
    for name in ("patients", "ivig", "infections", "igg", "progression"):
        x, y = getattr(a, name), getattr(b, name)
        try:
            pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True))
        except AssertionError as exc:
            diffs.append(f"{name}: {str(exc)[:200]}")
    return diffs


@pytest.mark.parametrize("name", sorted(DAMAGING))
def test_damaged_file_gives_clear_error_or_valid_cohort(
    name: str, base_dir: Path, tmp_path: Path
) -> None:
    failures = []
    for k in range(CASES_PER_FAMILY):
        folder, what = corrupt(base_dir, tmp_path, name, DAMAGING[name], k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings are judged in their own test below
            kind, result = try_load(folder)
        if kind == "crash":
            failures.append(f"{what}: crashed with {result}")
        elif kind == "error":
            failures += [f"{what}: {p}" for p in error_problems(result)]
        else:
            failures += [f"{what}: invalid cohort loaded: {p}" for p in cohort_invariants(result)]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_harmless_change_loads_the_same_cohort(
    name: str, base_dir: Path, base_cohort: Cohort, tmp_path: Path
) -> None:
    failures = []
    for k in range(len(FILES)):
        folder, what = corrupt(base_dir, tmp_path, name, HARMLESS[name], k)
        kind, result = try_load(folder)
        if kind != "cohort":
            failures.append(f"{what}: expected the same cohort, got {kind}: {result}")
            continue
        failures += [f"{what}: {d}" for d in _same_tables(base_cohort, result)]
    assert not failures, "\n".join(failures)


def test_loader_prints_no_python_warnings(base_dir: Path, tmp_path: Path) -> None:
    """A user sees the problem list, not pandas/numpy RuntimeWarnings or ParserWarnings."""
    seen = []
    for name, mutate in {**DAMAGING, **HARMLESS}.items():
        for k in range(4):
            folder, what = corrupt(base_dir, tmp_path, name, mutate, k)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try_load(folder)
            seen += [f"{what}: {w.category.__name__}: {w.message}" for w in caught]
    assert not seen, "\n".join(seen[:30])


# --------------------------------------------------------------------------- pinned cases
# The random families above found these; each is pinned so a fix stays fixed.
@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("lines_of_therapy", "100000000000000000000000000000"),
        ("lines_of_therapy", "9223372036854775808"),
        ("age_at_dara", "1e308"),
        ("prior_infections_12m", "1e400"),
    ],
)
def test_huge_whole_number_is_a_clear_error(
    cell: str, value: str, base_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "c"
    shutil.copytree(base_dir, folder)
    frame = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    frame.loc[1, cell] = value
    frame.to_csv(folder / "patients.csv", index=False)
    with pytest.raises(CohortError) as info:
        load_cohort(folder)
    assert [(p.file, p.row, p.column) for p in info.value.problems] == [
        ("patients.csv", 3, cell)
    ], str(info.value)


def test_old_mac_line_endings_are_a_clear_error_or_read(base_dir: Path, tmp_path: Path) -> None:
    """Excel's 'CSV (Macintosh)' writes CR-only line ends: read them or say so, never crash."""
    folder = tmp_path / "c"
    shutil.copytree(base_dir, folder)
    path = folder / "patients.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    kind, result = try_load(folder)
    assert kind != "crash", result
    if kind == "error":
        assert not error_problems(result), str(result)
        assert result.problems[0].file == "patients.csv"


@pytest.mark.parametrize("line", [1, 2])
def test_row_with_more_fields_than_header_is_an_error(
    line: int, base_dir: Path, tmp_path: Path
) -> None:
    """A data row with more fields than the header (e.g. an unquoted comma) loses data silently
    if accepted; the contract refuses what it cannot read unambiguously. ``line`` 1 is the first
    data row (spreadsheet row 2), which pandas treats differently from later rows."""
    folder = tmp_path / "c"
    shutil.copytree(base_dir, folder)
    path = folder / "ivig.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line] += ",0.5,oops"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ParserWarning about lost data is not an answer
        kind, result = try_load(folder)
    assert kind == "error", f"{kind}: {result}"
    assert any(p.file == "ivig.csv" and p.row == line + 1 for p in result.problems), str(result)

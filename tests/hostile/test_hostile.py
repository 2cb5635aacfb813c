#!/usr/bin/env python3
"""Hostile input: every file of a corpus is handled per SEMANTICS.md section 2, without a crash and with
bounded memory.

    python3 tests/hostile/test_hostile.py --binary build/dimstream [-v] [--keep]

The committed files in tests/hostile/corpus/ and the files this script generates (a 100 MiB line three ways,
10,000 columns, random bytes, JSON nested 100,000 deep, Parquet files written by dimstream itself, and the
compressed files of make_compressed.py: a truncated gzip, two 10 GiB bombs, a zstd checksum mismatch) go into
one fresh landing directory; one `dimstream run --until-idle` runs
under an address-space limit (RLIMIT_AS) and its peak resident memory is measured. Then load_history,
customer_rejects, `status --files` and customer_history are checked against tests/hostile/expected.json, every
data record of a loaded file must be either loaded or rejected, and `dimstream check` must pass.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)

import dimstream_e2e as e2e  # noqa: E402
import make_compressed  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
EXPECTED = os.path.join(HERE, "expected.json")

MiB = 1 << 20
GiB = 1 << 30
# The address-space limit for every dimstream process: an allocation beyond it fails, so a run that passes
# proves the peak stayed below it. DuckDB starts well under 1 GiB; the 100 MiB line needs about 1.2 GiB.
ADDRESS_SPACE_LIMIT = 3 * GiB
# The peak resident memory the run may reach (ru_maxrss of the finished process).
PEAK_RSS_LIMIT = 2 * GiB
RUN_TIMEOUT = 300  # seconds; only stops a hung run (the run takes under half a minute)
# A decompression bomb (10 GiB) must be refused after inflating at most this much (the guard allows 64 MiB,
# then loader.max_inflate_ratio = 250 times what was read), and the bombs alone within BOMB_SECONDS (inflating
# them whole would take minutes).
BOMB_INFLATE_LIMIT = 128 * MiB
BOMB_SECONDS = 60

# DuckDB's threads and glibc's per-thread malloc arenas each reserve address space: pin them, so that the
# limit means the same on a machine with many cores.
# The budget is the default one (warehouse.memory_limit), 100 MiB value included.
CONFIG = "[warehouse]\nthreads = 2\n"
ENV = {"MALLOC_ARENA_MAX": "2"}

HEADER = b"customer_id,first_name,last_name,email,street,city,state,country"
BIG = 100 * MiB
MAX_REJECT_BYTES = 64 * 1024


# ---------------------------------------------------------------------------------------------------------
# Generated files (too big, or too arbitrary, to commit). Each writes its file at `path`, streaming.

def _seeded_bytes(seed, n):
    """n deterministic pseudo-random bytes (SHA-256 in counter mode): the same on every machine and Python."""
    import hashlib
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(seed + i.to_bytes(8, "little")).digest()
        i += 1
    return bytes(out[:n])


def random_binary(path):
    with open(path, "wb") as f:
        f.write(_seeded_bytes(b"dimstream hostile: random binary", MiB))


def random_rows(path):
    with open(path, "wb") as f:
        f.write(HEADER + b"\n")
        f.write(_seeded_bytes(b"dimstream hostile: random rows", MiB))


def _write_repeated(f, byte, n):
    chunk = byte * MiB
    for _ in range(n // MiB):
        f.write(chunk)
    f.write(byte * (n % MiB))


def line_100mb_field(path):
    with open(path, "wb") as f:
        f.write(HEADER + b"\n9001,A,B,a@b.c,")
        _write_repeated(f, b"x", BIG)
        f.write(b",c,st,co\n9002,A,B,a@b.c,s,c,st,co\n")


def line_100mb_wrong_field_count(path):
    with open(path, "wb") as f:
        f.write(HEADER + b"\n9011,")
        _write_repeated(f, b"x", BIG)
        f.write(b",too,few\n9012,A,B,a@b.c,s,c,st,co\n")


def line_100mb_delimiters(path):
    with open(path, "wb") as f:
        f.write(HEADER + b"\n9021")
        _write_repeated(f, b",", BIG)
        f.write(b"\n9022,A,B,a@b.c,s,c,st,co\n")


def columns_10000(path):
    extra = [f"x{i}".encode() for i in range(8, 10000)]
    with open(path, "wb") as f:
        f.write(b",".join([HEADER] + extra) + b"\r\n")
        fill = [b"v"] * len(extra)
        f.write(b",".join([b"9101,wide,B,a@b.c,s,c,st,co"] + fill) + b"\r\n")     # 10,000 fields
        f.write(b",".join([b"9102,A,B,a@b.c,s2,c2,st2,co2"] + fill) + b"\r\n")    # 10,000 fields
        f.write(b",".join([b"9103,A,B,a@b.c,s,c,st,co"] + fill[1:]) + b"\r\n")    # 9,999
        f.write(b",".join([b"9104,A,B,a@b.c,s,c,st,co"] + fill + [b"v"]) + b"\r\n")  # 10,001


def json_deep_nesting(path):
    """JSON lines nested far deeper than the reader's limit (simdjson's 1024 levels), in a column, in a key of no
    column and as a whole line; one value nested 1,000 deep (within the limit) loads as its JSON text."""
    deep = 100000
    with open(path, "wb") as f:
        f.write(b'{"customer_id": 8601, "first_name": "before"}\n')
        f.write(b'{"customer_id": 8602, "street": ' + b"[" * deep + b"]" * deep + b"}\n")
        f.write(b'{"customer_id": 8603, "street": ' + b"[" * deep + b"}\n")
        f.write(b"[" * deep + b"\n")
        f.write(b'{"customer_id": 8605, "unknown": ' + b'{"a": ' * deep + b"1" + b"}" * deep + b"}\n")
        f.write(b'{"customer_id": 8606, "street": ' + b"[" * 1000 + b"]" * 1000 + b"}\n")
        f.write(b'{"customer_id": 8607, "first_name": "after"}\n')


# Parquet files are written by dimstream itself (DuckDB's COPY ... TO ... (FORMAT parquet)) in a scratch data
# directory of their own; setUpClass sets it.
PARQUET_SCRATCH = None


def _write_parquet(path, select):
    ds = e2e.Dimstream(PARQUET_SCRATCH)
    ds.run("sql", f"COPY ({select}) TO {sql_literal(path)} (FORMAT parquet)")


def parquet_corrupt_footer(path):
    """A valid Parquet file cut in half: no footer, no closing magic."""
    _write_parquet(path + ".whole", "SELECT (8700 + i)::BIGINT AS customer_id, 'cut' AS first_name FROM range(1, 4) t(i)")
    with open(path + ".whole", "rb") as f:
        data = f.read()
    os.remove(path + ".whole")
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def parquet_key_varchar(path):
    """customer_id stored as VARCHAR: text that is a bigint loads (as in CSV, surrounding spaces too), other text
    and NULL are rejected, by row number."""
    _write_parquet(path, "SELECT * FROM (VALUES ('abc', 'letters'), ('8801', 'digits'), (' 8802 ', 'spaces'), "
                         "(NULL, 'null key'), ('123456789012345678901234567890', 'too big')) t(customer_id, first_name)")


def parquet_key_double(path):
    """customer_id stored as DOUBLE: 1.5 is not a bigint; nor is 8902.0, whose text is "8902.0"."""
    _write_parquet(path, "SELECT * FROM (VALUES (1.5::DOUBLE, 'fraction'), (8902.0::DOUBLE, 'whole'), "
                         "('nan'::DOUBLE, 'nan')) t(customer_id, first_name)")


def parquet_nested(path):
    """A STRUCT, a LIST and a MAP attribute: loaded as their JSON text; a TIMESTAMPTZ updated_at as its UTC
    instant."""
    _write_parquet(path, "SELECT * FROM (VALUES "
                         "(8951::BIGINT, 'struct', {'a': 1, 'b': 'x\"y'}, [1, 2, 3], MAP {'k': 1}, "
                         "TIMESTAMPTZ '2024-05-01 12:00:00+02'), "
                         "(8952::BIGINT, 'nulls', NULL, [NULL, 4], NULL, TIMESTAMPTZ '2024-05-02 00:00:00+00'), "
                         "(8953::BIGINT, 'empty', {'a': NULL, 'b': NULL}, [], MAP {}, "
                         "TIMESTAMPTZ '2024-05-03 00:00:00-05:30')"
                         ") t(customer_id, first_name, street, city, state, updated_at)")


GENERATORS = {f.__name__: f for f in (random_binary, random_rows, line_100mb_field, line_100mb_wrong_field_count,
                                      line_100mb_delimiters, columns_10000, json_deep_nesting,
                                      parquet_corrupt_footer, parquet_key_varchar, parquet_key_double,
                                      parquet_nested)}
# The compressed files (make_compressed.py): a truncated gzip, a gzip and a zstd bomb (10 GiB each), a zstd
# stream whose checksum does not match.
GENERATORS.update({f.__name__: f for f in make_compressed.GENERATORS.values()})


# ---------------------------------------------------------------------------------------------------------
# Where the records of a file start, read independently of the C++ reader from the rules in
# src/common/csv_reader.h: records end at LF or CRLF, a field starting with '"' runs to its closing quote
# ("" escapes one), lines with no bytes are skipped, a quote never closed takes the rest of the input, and a
# byte after a closing quote other than a delimiter or line end makes the record end at the end of that line.

def record_start_lines(data):
    n = len(data)
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    line = 1
    starts = []
    while pos < n:
        if data[pos] == 0x0A:
            pos += 1
            line += 1
            continue
        if data.startswith(b"\r\n", pos):
            pos += 2
            line += 1
            continue
        starts.append(line)
        start = pos
        p = pos  # at the start of a field
        end = None  # where the next record starts
        while end is None:
            if p < n and data[p] == 0x22:  # a quoted field
                q = p + 1
                while True:
                    c = data.find(b'"', q)
                    if c < 0 or c + 1 >= n or data[c + 1] != 0x22:
                        break
                    q = c + 2
                if c < 0:
                    end = n
                    break
                p = c + 1
                if p == n:
                    end = n
                elif data[p] == 0x2C:
                    p += 1
                elif data[p] == 0x0A:
                    end = p + 1
                elif data.startswith(b"\r\n", p):
                    end = p + 2
                else:
                    lf = data.find(b"\n", p)
                    end = n if lf < 0 else lf + 1
            else:
                # Unquoted fields up to the end of the line, unless one of them starts a quoted field.
                lf = data.find(b"\n", p)
                line_end = n if lf < 0 else lf
                quoted = data.find(b',"', p, line_end)
                if quoted < 0:
                    end = n if lf < 0 else lf + 1
                else:
                    p = quoted + 1
        line += data.count(b"\n", start, end)
        pos = end
    return starts


def format_of(name):
    """The format a file's name tells (src/loader/file_format.cpp), as load_history.format spells it."""
    base, compression = name.lower(), ""
    for suffix in (".gz", ".zst"):
        if base.endswith(suffix):
            base, compression = base[: -len(suffix)], suffix
    for suffix, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"),
                        (".parquet", "parquet")):
        if base.endswith(suffix):
            return fmt + compression
    raise AssertionError(f"{name}: no suffix tells its format")


def record_lines(name, data):
    """The lines where the data records of a file start, counted from its bytes; None when they cannot be
    (compressed files, Parquet: expected.json gives their count). CSV: record_start_lines without the header.
    JSON lines: every line with more than spaces, tabs and a CR is a record (a bad one is rejected), numbered
    as physical lines from 1."""
    fmt = format_of(name)
    if fmt == "csv":
        return record_start_lines(data)[1:]
    if fmt == "jsonl":
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return [i + 1 for i, line in enumerate(lines) if line.strip(b" \t\r")]
    return None


# ---------------------------------------------------------------------------------------------------------

def run_capped(cmd, log_dir, name, timeout=RUN_TIMEOUT):
    """Runs cmd under ADDRESS_SPACE_LIMIT; returns (exit code, peak RSS in bytes, seconds, stdout, stderr)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = dict(os.environ)
    env.pop("DIMSTREAM_FAULT", None)
    env.update(ENV)
    out_path = os.path.join(log_dir, name + ".stdout")
    err_path = os.path.join(log_dir, name + ".stderr")
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, preexec_fn=limit)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    with open(out_path, "rb") as f:
        stdout = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    return p.returncode, usage.ru_maxrss * 1024, seconds, stdout, stderr  # ru_maxrss is in KiB on Linux


def sql_literal(text):
    return "'" + str(text).replace("'", "''") + "'"


class Hostile(unittest.TestCase):
    """One run over the whole corpus; each test checks one aspect of its outcome."""

    @classmethod
    def setUpClass(cls):
        with open(EXPECTED, encoding="utf-8") as f:
            cls.expected = json.load(f)["files"]
        cls.committed = sorted(f for f in os.listdir(CORPUS) if not f.startswith("."))
        cls.tmp = e2e.make_class_temp_dir(cls, prefix="dimstream-hostile-")
        cls.ds = e2e.Dimstream(os.path.join(cls.tmp, "data"))
        cls.logs = os.path.join(cls.tmp, "logs")
        os.makedirs(cls.logs)
        config = os.path.join(cls.tmp, "dimstream.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        cls.config = config

        # Inputs: committed files are copied, generated ones written (under a hidden name, then renamed, as a
        # producer should). `cls.inputs` keeps a copy of each outside the data directory for reading back.
        inputs = os.path.join(cls.tmp, "inputs")
        os.makedirs(inputs)
        os.makedirs(cls.ds.landing)
        cls.inputs = {}
        global PARQUET_SCRATCH
        PARQUET_SCRATCH = os.path.join(cls.tmp, "parquet-writer")
        for name in cls.committed:
            shutil.copyfile(os.path.join(CORPUS, name), os.path.join(inputs, name))
            cls.inputs[name] = os.path.join(inputs, name)
        started = time.monotonic()
        for name, exp in cls.expected.items():
            if "generated" in exp:
                GENERATORS[exp["generated"]](os.path.join(inputs, name))
                cls.inputs[name] = os.path.join(inputs, name)
        print(f"\n[hostile] generated files written in {time.monotonic() - started:.1f} s", file=sys.stderr)
        for name, path in cls.inputs.items():
            tmp = os.path.join(cls.ds.landing, "." + name + ".tmp")
            shutil.copyfile(path, tmp)
            os.rename(tmp, os.path.join(cls.ds.landing, name))

        cmd = cls.ds.cmd("--config", config, "run", "--until-idle", "--quiet")
        cls.rc, cls.peak, cls.seconds, cls.stdout, cls.stderr = run_capped(cmd, cls.logs, "run")
        print(f"\n[hostile] run --until-idle over {len(cls.inputs)} files: exit {cls.rc}, "
              f"peak RSS {cls.peak / MiB:.0f} MiB (limit {PEAK_RSS_LIMIT / MiB:.0f} MiB, address space capped at "
              f"{ADDRESS_SPACE_LIMIT / MiB:.0f} MiB), {cls.seconds:.1f} s", file=sys.stderr)
        if cls.rc == 0:
            cls.loads = {r["object_key"]: r for r in cls.ds.sql(
                "SELECT object_key, status, rows_loaded, rows_rejected, error, format, size, uncompressed_size "
                "FROM load_history")}
            cls.rejects = {}
            for r in cls.ds.sql("SELECT object_key, line, reason, raw, strlen(raw) AS raw_bytes "
                                "FROM customer_rejects ORDER BY object_key, line"):
                cls.rejects.setdefault(r["object_key"], {})[int(r["line"])] = r

    def setUp(self):
        if self.rc != 0:
            self.fail(f"`dimstream run --until-idle` exited {self.rc} (negative: killed by that signal)\n"
                      f"stdout:\n{e2e.tail(self.stdout)}\nstderr:\n{e2e.tail(self.stderr)}")

    # -----------------------------------------------------------------------------------------------------

    def test_corpus_and_expectations_match(self):
        committed = set(self.committed)
        expected_committed = {n for n, e in self.expected.items() if "generated" not in e}
        self.assertEqual(sorted(committed - expected_committed), [], "corpus files without an expectation")
        self.assertEqual(sorted(expected_committed - committed), [], "expectations without a corpus file")
        for name, exp in self.expected.items():
            if "generated" in exp:
                self.assertIn(exp["generated"], GENERATORS, f"{name}: no generator named {exp['generated']}")
            self.assertIn(exp["status"], ("loaded", "failed"), name)
            if exp["status"] == "loaded" and format_of(name) not in ("csv", "jsonl"):
                self.assertIn("records", exp, f"{name}: a loaded {format_of(name)} file needs 'records'")

    def test_memory_is_bounded(self):
        self.assertLess(self.peak, PEAK_RSS_LIMIT,
                        f"peak RSS {self.peak / MiB:.0f} MiB of `run --until-idle` is over the bound")

    def test_every_file_moved_and_recorded_once(self):
        self.assertEqual(e2e.visible_files(self.ds.landing), [], "landing should be empty")
        self.assertEqual(e2e.visible_files(self.ds.bucket), sorted(self.inputs))
        counts = self.ds.sql("SELECT object_key, count(*) AS n FROM load_history GROUP BY object_key")
        self.assertEqual({r["object_key"]: r["n"] for r in counts}, {n: "1" for n in self.inputs})

    def test_load_history(self):
        for name, exp in sorted(self.expected.items()):
            with self.subTest(file=name):
                got = self.loads[name]
                self.assertEqual(got["status"], exp["status"], f"{name}: error {got['error']!r}")
                self.assertEqual(int(got["rows_loaded"] or 0), exp["rows_loaded"], name)
                if exp.get("rows_rejected") is not None:
                    self.assertEqual(int(got["rows_rejected"] or 0), exp["rows_rejected"], name)
                if exp["status"] == "failed":
                    error = got["error"] or ""
                    self.assertTrue(error, f"{name}: a failed file needs a reason")
                    for part in exp.get("error", []):
                        self.assertIn(part.lower(), error.lower(), f"{name}: error {error!r}")
                    self.assertEqual(self.rejects.get(name, {}), {}, f"{name}: a failed file rejects no rows")
                else:
                    self.assertIsNone(got["error"], name)

    def test_rejected_rows(self):
        for name, exp in sorted(self.expected.items()):
            with self.subTest(file=name):
                got = self.rejects.get(name, {})
                self.assertEqual(len(got), int(self.loads[name]["rows_rejected"] or 0),
                                 f"{name}: customer_rejects and load_history disagree")
                for line, r in got.items():
                    self.assertTrue(r["reason"], f"{name} line {line}: no reason")
                    self.assertTrue(r["raw"], f"{name} line {line}: no raw text")
                    self.assertLessEqual(int(r["raw_bytes"]), MAX_REJECT_BYTES, f"{name} line {line}")
                if "rejects" not in exp:
                    continue
                self.assertEqual(sorted(got), sorted(int(line) for line in exp["rejects"]),
                                 f"{name}: rejected lines; reasons: {[(l, r['reason']) for l, r in got.items()]}")
                for line, want in exp["rejects"].items():
                    r = got[int(line)]
                    for part in want.get("reason", []):
                        self.assertIn(part.lower(), r["reason"].lower(), f"{name} line {line}")
                    if "raw" in want:
                        self.assertIn(want["raw"], r["raw"], f"{name} line {line}: raw {r['raw'][:200]!r}")
                    if "raw_bytes" in want:
                        self.assertEqual(int(r["raw_bytes"]), want["raw_bytes"], f"{name} line {line}")

    def test_every_record_is_loaded_or_rejected(self):
        """Nothing is dropped silently: for each loaded file, loaded + rejected = its data records, and each
        rejected line is where one of them starts."""
        for name in sorted(self.inputs):
            if self.loads[name]["status"] != "loaded":
                continue
            with self.subTest(file=name):
                exp = self.expected[name]
                loaded = int(self.loads[name]["rows_loaded"])
                rejected = int(self.loads[name]["rows_rejected"])
                if "records" in exp:
                    count, starts = exp["records"], None
                    if format_of(name) == "parquet":
                        starts = list(range(1, count + 1))  # rows are numbered from 1
                else:
                    with open(self.inputs[name], "rb") as f:
                        starts = record_lines(name, f.read())
                    self.assertIsNotNone(starts, f"{name}: give its record count as 'records' in expected.json")
                    count = len(starts)
                self.assertEqual(loaded + rejected, count,
                                 f"{name}: {loaded} loaded + {rejected} rejected, but it has {count} data records")
                if starts is not None:
                    stray = sorted(set(self.rejects.get(name, {})) - set(starts))
                    self.assertEqual(stray, [], f"{name}: rejected lines where no record starts")

    def test_format_and_sizes(self):
        """load_history and `status --files` name each file's format, told by its suffix, and its sizes."""
        files = {r["object_key"]: r for r in self.ds.status_files()}
        for name in sorted(self.inputs):
            with self.subTest(file=name):
                lh = self.loads[name]
                size = os.path.getsize(self.inputs[name])
                self.assertEqual(lh["format"], format_of(name), name)
                self.assertEqual(int(lh["size"]), size, f"{name}: stored size")
                self.assertEqual((files[name]["format"], files[name]["stored_bytes"],
                                  files[name]["uncompressed_bytes"]),
                                 (lh["format"], lh["size"], lh["uncompressed_size"]), f"{name}: status --files")
                if lh["status"] == "loaded" and not format_of(name).endswith((".gz", ".zst")):
                    self.assertEqual(int(lh["uncompressed_size"]), size, f"{name}: uncompressed size")

    def test_bombs_stop_early(self):
        """A decompression bomb is refused after inflating a bounded amount, not its 10 GiB: little work, so
        little time (and memory, which test_memory_is_bounded checks for the whole run)."""
        for name in ("bomb.csv.gz", "bomb.csv.zst"):
            with self.subTest(file=name):
                inflated = int(self.loads[name]["uncompressed_size"] or 0)
                self.assertLess(inflated, BOMB_INFLATE_LIMIT,
                                f"{name}: {inflated / MiB:.0f} MiB inflated before it was refused")

    def test_bombs_alone_are_refused_quickly(self):
        """The two bombs alone, in a data directory of their own: the run ends within BOMB_SECONDS."""
        ds = e2e.Dimstream(os.path.join(self.tmp, "bombs"))
        os.makedirs(ds.landing)
        names = ("bomb.csv.gz", "bomb.csv.zst")
        for name in names:
            os.link(self.inputs[name], os.path.join(ds.landing, name))
        rc, peak, seconds, out, err = run_capped(ds.cmd("--config", self.config, "run", "--until-idle", "--quiet"),
                                                 self.logs, "bombs", timeout=10 * BOMB_SECONDS)
        print(f"\n[hostile] bombs alone: exit {rc}, peak RSS {peak / MiB:.0f} MiB, {seconds:.1f} s", file=sys.stderr)
        self.assertEqual(rc, 0, f"{e2e.tail(out)}\n{e2e.tail(err)}")
        self.assertLess(seconds, BOMB_SECONDS, "refusing two bombs took too long")
        self.assertLess(peak, PEAK_RSS_LIMIT)
        got = {r["object_key"]: r["status"] for r in ds.sql("SELECT object_key, status FROM load_history")}
        self.assertEqual(got, {n: "failed" for n in names})

    def test_status_shows_both_counts(self):
        files = {r["object_key"]: r for r in self.ds.status_files()}
        for name in sorted(self.inputs):
            with self.subTest(file=name):
                self.assertIn(name, files)
                lh = self.loads[name]
                self.assertEqual((files[name]["status"], files[name]["rows_loaded"] or "0",
                                  files[name]["rows_rejected"] or "0"),
                                 (lh["status"], lh["rows_loaded"] or "0", lh["rows_rejected"] or "0"))

    def test_dimension(self):
        # Keys are distinct across the corpus: every loaded row opens one version of its own.
        total = sum(int(r["rows_loaded"] or 0) for r in self.loads.values())
        self.assertEqual(self.ds.count("customer_history"), total)
        self.assertEqual(self.ds.count("SELECT count(DISTINCT customer_id) FROM customer_history"), total,
                         "two corpus rows share a key; give the new one a key of its own")
        for name, exp in sorted(self.expected.items()):
            with self.subTest(file=name):
                absent = exp.get("absent_keys", [])
                if absent:
                    found = self.ds.sql("SELECT customer_id FROM customer_history WHERE customer_id IN (" +
                                        ", ".join(str(int(k)) for k in absent) + ")")
                    self.assertEqual(found, [], f"{name}: keys that must not load")
                for key, want in exp.get("versions", {}).items():
                    exprs = []
                    for e in want:
                        self.assertRegex(e, r"^(?:[a-z_]+|(?:length|hex)\([a-z_]+\))$", f"{name}: expression")
                        if e == "valid_from":
                            exprs.append("strftime(valid_from, '%Y-%m-%dT%H:%M:%S') || CASE WHEN "
                                         "epoch_us(valid_from) % 1000000 <> 0 THEN strftime(valid_from, '.%f') "
                                         "ELSE '' END")
                        else:
                            exprs.append(e)
                    rows = self.ds.sql("SELECT " + ", ".join(f"{x} AS c{i}" for i, x in enumerate(exprs)) +
                                       f" FROM customer_history WHERE customer_id = {int(key)}")
                    self.assertEqual(len(rows), 1, f"{name}: customer_id {key} should have one version")
                    got = {e: rows[0][f"c{i}"] for i, e in enumerate(want)}
                    self.assertEqual(got, {e: None if v is None else str(v) for e, v in want.items()},
                                     f"{name}: customer_id {key}")

    def test_check_passes(self):
        rc, peak, seconds, out, err = run_capped(self.ds.cmd("--config", self.config, "check"), self.logs, "check")
        print(f"\n[hostile] check: exit {rc}, peak RSS {peak / MiB:.0f} MiB, {seconds:.1f} s", file=sys.stderr)
        self.assertEqual(rc, 0, f"`dimstream check` failed:\n{e2e.tail(out)}\n{e2e.tail(err)}")
        self.assertLess(peak, PEAK_RSS_LIMIT)


if __name__ == "__main__":
    e2e.main()

#!/usr/bin/env python3
"""Hostile input: every file of a corpus is handled per SEMANTICS.md section 2, without a crash and with
bounded memory.

    python3 tests/hostile/test_hostile.py --binary build/dimstream [-v] [--keep]

The committed files in tests/hostile/corpus/ and the big files this script generates (a 100 MiB line three
ways, 10,000 columns, random bytes) go into one fresh landing directory; one `dimstream run --until-idle` runs
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

import dimstream_e2e as e2e  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
EXPECTED = os.path.join(HERE, "expected.json")

MiB = 1 << 20
GiB = 1 << 30
# The address-space limit for every dimstream process: an allocation beyond it fails, so a run that passes
# proves the peak stayed below it. DuckDB starts well under 1 GiB; the 100 MiB line needs about 1.2 GiB.
ADDRESS_SPACE_LIMIT = 3 * GiB
# The peak resident memory the run may reach (ru_maxrss of the finished process).
PEAK_RSS_LIMIT = 2 * GiB
RUN_TIMEOUT = 300  # seconds; only stops a hung run (the whole test takes well under a minute)

# DuckDB's threads and glibc's per-thread malloc arenas each reserve address space: pin them, so that the
# limit means the same on a machine with many cores.
# The corpus holds a 100 MiB value that loads into the dimension; comparing it in `check` takes more than the
# default budget (warehouse.memory_limit = 512MB), as it would for a user with such values.
CONFIG = "[warehouse]\nthreads = 2\nmemory_limit = \"2GB\"\n"
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


GENERATORS = {f.__name__: f for f in (random_binary, random_rows, line_100mb_field, line_100mb_wrong_field_count,
                                      line_100mb_delimiters, columns_10000)}


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
        for name in cls.committed:
            shutil.copyfile(os.path.join(CORPUS, name), os.path.join(inputs, name))
            cls.inputs[name] = os.path.join(inputs, name)
        for name, exp in cls.expected.items():
            if "generated" in exp:
                GENERATORS[exp["generated"]](os.path.join(inputs, name))
                cls.inputs[name] = os.path.join(inputs, name)
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
                "SELECT object_key, status, rows_loaded, rows_rejected, error FROM load_history")}
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
                with open(self.inputs[name], "rb") as f:
                    starts = record_start_lines(f.read())[1:]  # without the header
                loaded = int(self.loads[name]["rows_loaded"])
                rejected = int(self.loads[name]["rows_rejected"])
                self.assertEqual(loaded + rejected, len(starts),
                                 f"{name}: {loaded} loaded + {rejected} rejected, but it has {len(starts)} data "
                                 f"records")
                stray = sorted(set(self.rejects.get(name, {})) - set(starts))
                self.assertEqual(stray, [], f"{name}: rejected lines where no record starts")

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
                    self.assertEqual(got, {e: str(v) for e, v in want.items()}, f"{name}: customer_id {key}")

    def test_check_passes(self):
        rc, peak, seconds, out, err = run_capped(self.ds.cmd("--config", self.config, "check"), self.logs, "check")
        print(f"\n[hostile] check: exit {rc}, peak RSS {peak / MiB:.0f} MiB, {seconds:.1f} s", file=sys.stderr)
        self.assertEqual(rc, 0, f"`dimstream check` failed:\n{e2e.tail(out)}\n{e2e.tail(err)}")
        self.assertLess(peak, PEAK_RSS_LIMIT)


if __name__ == "__main__":
    e2e.main()

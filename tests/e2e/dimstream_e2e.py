"""Shared helpers for dimstream's end-to-end tests (Python 3 standard library only).

The tests run the built binary and read results back through `dimstream sql --format csv`. Each test file
is runnable alone:

    python3 tests/e2e/test_merge.py --binary build/dimstream --samples ../shared/data/seed-sample

Options (every test file): --binary PATH (required), --samples DIR (the seed sample files), --keep (leave the
temporary data directories in place and print where they are). Anything else goes to unittest, e.g. -v or
a test name.
"""

import argparse
import collections
import csv
import datetime
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SCD1 = ("first_name", "last_name", "email")
SCD2 = ("street", "city", "state", "country")
ATTRS = SCD1 + SCD2

# Generous: the CI machine is small and busy. Nothing asserts on time; these only stop a hung test.
COMMAND_TIMEOUT = 600
POLL_DEADLINE = 300


class Options:
    binary = None
    samples = None
    keep = False


OPTIONS = Options()


def server_value(server, name):
    """A line a private test server wrote into its directory (scripts/servers/<server>.sh start DIR), for
    example rgw's "endpoint": CTest's fixture sets DIMSTREAM_TEST_SERVERS to the directory above DIR."""
    root = os.environ.get("DIMSTREAM_TEST_SERVERS")
    if not root:
        raise AssertionError(f"DIMSTREAM_TEST_SERVERS is not set: run this test through ctest, which starts "
                             f"{server} (scripts/servers/{server}.sh), or start it and set it as the test's "
                             "docstring says")
    with open(os.path.join(root, server, name)) as f:
        return f.read().strip()


SERVER_SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "servers")


class PrivateServer:
    """A server of the test's own (scripts/servers/<server>.sh start DIR), which the test may stop or
    restart without disturbing the tests that share the fixture's. Stopped and removed when the test ends."""

    def __init__(self, test_case, server, value_file):
        parent = tempfile.mkdtemp(prefix=f"dimstream-e2e-{server}-")
        os.chmod(parent, 0o755)  # the server runs as nobody when the tests run as root
        self.server = server
        self.dir = os.path.join(parent, server)
        test_case.addCleanup(shutil.rmtree, parent, True)
        test_case.addCleanup(self.command, "stop")
        self.command("start")
        with open(os.path.join(self.dir, value_file)) as f:
            self.value = f.read().strip()

    def command(self, what):
        subprocess.run([os.path.join(SERVER_SCRIPTS, self.server + ".sh"), what, self.dir], check=True,
                       stdout=subprocess.DEVNULL, timeout=300)


def main():
    """Parses --binary/--samples/--keep, passes the rest to unittest."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--samples", default=None)
    parser.add_argument("--keep", action="store_true")
    args, rest = parser.parse_known_args()
    OPTIONS.binary = os.path.abspath(args.binary)
    OPTIONS.samples = os.path.abspath(args.samples) if args.samples else None
    OPTIONS.keep = args.keep
    if not os.access(OPTIONS.binary, os.X_OK):
        sys.exit(f"--binary {OPTIONS.binary} is not an executable file")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


def sample_files():
    """The four seed sample files, sorted by name (which is their intended order)."""
    if OPTIONS.samples is None:
        raise unittest.SkipTest("no --samples directory given")
    if not os.path.isdir(OPTIONS.samples):
        raise AssertionError(f"--samples {OPTIONS.samples} is not a directory")
    files = sorted(os.path.join(OPTIONS.samples, f) for f in os.listdir(OPTIONS.samples) if f.endswith(".csv"))
    if len(files) != 4:
        raise AssertionError(f"expected 4 sample files in {OPTIONS.samples}, found {len(files)}")
    return files


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tail(text, n=4000):
    return text if len(text) <= n else "..." + text[-n:]


def make_temp_dir(test_case, prefix="dimstream-e2e-"):
    """A fresh directory removed when the test ends (unless --keep)."""
    d = tempfile.mkdtemp(prefix=prefix)
    if OPTIONS.keep:
        print(f"\n[keep] {test_case.id()}: {d}", file=sys.stderr)
    else:
        test_case.addCleanup(shutil.rmtree, d, True)
    return d


def make_class_temp_dir(cls, prefix="dimstream-e2e-"):
    """make_temp_dir for setUpClass: removed after the class's last test (unless --keep)."""
    d = tempfile.mkdtemp(prefix=prefix)
    if OPTIONS.keep:
        print(f"\n[keep] {cls.__name__}: {d}", file=sys.stderr)
    else:
        cls.addClassCleanup(shutil.rmtree, d, True)
    return d


def drop_file(src, landing_dir, name=None, data=None):
    """Puts a file into landing atomically: written under a hidden temporary name, then renamed, the way a
    well-behaved producer does (the mover skips hidden and *.tmp names)."""
    name = name or os.path.basename(src)
    dest = os.path.join(landing_dir, name)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = os.path.join(os.path.dirname(dest), f".{os.path.basename(name)}.{os.getpid()}.tmp")
    if data is None:
        shutil.copyfile(src, tmp)
    else:
        with open(tmp, "wb") as f:
            f.write(data)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.rename(tmp, dest)


def visible_files(directory):
    """Regular, non-hidden files under directory (relative paths), skipping hidden directories."""
    out = []
    if not os.path.isdir(directory):
        return out
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if not f.startswith("."):
                out.append(os.path.relpath(os.path.join(root, f), directory))
    return sorted(out)


def parse_csv(text):
    """RFC 4180 text with a header -> list of dicts; an empty field is None (NULL)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    rows = []
    for rec in reader:
        if len(rec) != len(header):
            raise AssertionError(f"CSV row with {len(rec)} fields under a header of {len(header)}: {rec!r}")
        rows.append({h: (v if v != "" else None) for h, v in zip(header, rec)})
    return rows


class CommandFailed(AssertionError):
    """A dimstream command exited non-zero (wait_for retries on it; any other failure stops the wait)."""


def query_socket_for(warehouse):
    """Where a running dimstream serves queries for `warehouse` (src/cli/query_server.h: QuerySocketFor)."""
    ident = hashlib.sha256(os.path.realpath(os.path.abspath(warehouse)).encode()).hexdigest()[:16]
    return os.path.join("/tmp", f"dimstream-{os.getuid()}", ident + ".sock")


class Dimstream:
    """One data directory and the binary that works on it."""

    def __init__(self, data_dir, binary=None):
        self.binary = binary or OPTIONS.binary
        self.data_dir = data_dir
        self.landing = os.path.join(data_dir, "landing")
        self.bucket = os.path.join(data_dir, "bucket")
        self.warehouse = os.path.join(data_dir, "warehouse.duckdb")

    def cmd(self, *args):
        return [self.binary, "--data-dir", self.data_dir, *args]

    def run(self, *args, env_extra=None, check=True, timeout=COMMAND_TIMEOUT):
        env = dict(os.environ)
        env.pop("DIMSTREAM_FAULT", None)
        if env_extra:
            env.update(env_extra)
        p = subprocess.run(self.cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=timeout)
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise CommandFailed(f"`dimstream {' '.join(args)}` exited {p.returncode}\n"
                                 f"stdout:\n{tail(p.stdout)}\nstderr:\n{tail(p.stderr)}")
        return p

    def popen(self, *args, log_dir, env_extra=None):
        env = dict(os.environ)
        env.pop("DIMSTREAM_FAULT", None)
        if env_extra:
            env.update(env_extra)
        out = open(os.path.join(log_dir, "run.stdout"), "wb")
        err = open(os.path.join(log_dir, "run.stderr"), "wb")
        try:
            return subprocess.Popen(self.cmd(*args), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        finally:
            out.close()
            err.close()

    def sql(self, query):
        """Rows of a query as dicts of strings (None for NULL)."""
        p = self.run("sql", "--format", "csv", query)
        return parse_csv(p.stdout)

    def scalar(self, query):
        rows = self.sql(query)
        if len(rows) != 1 or len(rows[0]) != 1:
            raise AssertionError(f"expected one value from {query!r}, got {rows!r}")
        return next(iter(rows[0].values()))

    def count(self, table_or_query):
        q = table_or_query if " " in table_or_query else f"SELECT count(*) FROM {table_or_query}"
        return int(self.scalar(q))

    def check(self):
        return self.run("check", check=False)

    def status_files(self):
        """The `files` table of `dimstream status --files --format csv`, as dicts."""
        out = self.run("status", "--files", "--format", "csv").stdout
        marker = "\nfiles\n"
        i = out.find(marker)
        if i < 0:
            raise AssertionError(f"no 'files' section in `status --files`:\n{tail(out)}")
        return parse_csv(out[i + len(marker):].strip("\n") + "\n")


class ConfiguredDimstream(Dimstream):
    """A data directory whose every command reads a configuration file."""

    def __init__(self, data_dir, config):
        super().__init__(data_dir)
        self.config = config

    def cmd(self, *args):
        return [self.binary, "--data-dir", self.data_dir, "--config", self.config, *args]


# ---------------------------------------------------------------------------------------------------------
# Timestamps: normalized to naive UTC datetimes so that formatting differences cannot hide or fake a match.

_TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\s*(Z|[+-]\d\d(?::?\d\d)?)?$")


def parse_ts(text):
    if text is None:
        return None
    m = _TS.match(text.strip())
    if not m:
        raise ValueError(f"not a timestamp: {text!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micros = int((frac or "0").ljust(6, "0")[:6])
    t = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micros)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        off = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        t -= sign * off
    return t


def parse_bool(text):
    if text is None:
        return None
    v = text.strip().lower()
    if v in ("true", "t", "1"):
        return True
    if v in ("false", "f", "0"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


# ---------------------------------------------------------------------------------------------------------
# The reference fold: SEMANTICS.md section 5, written as plainly as possible and independently of the C++.

Record = collections.namedtuple("Record", "key seq arrival op attrs")  # attrs: dict of the seven (None = NULL)


def normalize_op(op):
    v = (op or "").strip().upper()
    if v in ("", "U", "I"):
        return "U"
    if v == "D":
        return "D"
    raise ValueError(f"bad op {op!r}")


def fold(records):
    """records: iterable of Record. Returns the history as a list of dicts: customer_id, the seven attributes,
    valid_from, valid_to, is_current; sorted by (customer_id, valid_from)."""
    by_key = collections.defaultdict(list)
    for r in records:
        by_key[r.key].append(r)
    history = []
    for key in sorted(by_key):
        recs = sorted(by_key[key], key=lambda r: (r.seq, r.arrival))
        # Same sequence: the later arrival wins, the earlier leaves no trace.
        kept = []
        for r in recs:
            if kept and kept[-1].seq == r.seq:
                kept[-1] = r
            else:
                kept.append(r)
        current = None
        for r in kept:
            if r.op == "D":
                if current is not None:
                    current["valid_to"] = r.seq
                    current = None
                continue
            if current is not None and all(current[c] == r.attrs[c] for c in SCD2):
                for c in SCD1:
                    current[c] = r.attrs[c]
                continue
            if current is not None:
                current["valid_to"] = r.seq
            current = {"customer_id": key, **{c: r.attrs[c] for c in ATTRS}, "valid_from": r.seq, "valid_to": None}
            history.append(current)
    for v in history:
        v["is_current"] = v["valid_to"] is None
    history.sort(key=lambda v: (v["customer_id"], v["valid_from"]))
    return history


def current_of(history):
    return [{k: v[k] for k in ("customer_id", *ATTRS, "valid_from")} for v in history if v["is_current"]]


def records_from_csv_file(path, seq, file_order):
    """Records of one input file that has no updated_at (every row gets the file's sequence). Assumes the file
    is clean (no row to reject). arrival = (file_order, record index)."""
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader)]
        for i, rec in enumerate(reader):
            row = dict(zip(header, rec))
            attrs = {c: (row.get(c) or None) for c in ATTRS}
            out.append(Record(int(row["customer_id"]), seq, (file_order, i), normalize_op(row.get("op")), attrs))
    return out


def records_from_files_in_load_order(ds, directory):
    """Records of the files in `directory` (named by object key) that have no updated_at column, with each
    file's sequence and arrival taken from load_history (commit order)."""
    loads = ds.sql("SELECT object_key, sequence_time, load_id FROM load_history WHERE status = 'loaded'")
    loads.sort(key=lambda r: (parse_ts(r["sequence_time"]), int(r["load_id"])))
    records = []
    for order, l in enumerate(loads):
        records += records_from_csv_file(os.path.join(directory, l["object_key"]), parse_ts(l["sequence_time"]),
                                         order)
    return records, loads


# ---------------------------------------------------------------------------------------------------------
# Reading the dimension back.

HISTORY_QUERY = ("SELECT customer_id, " + ", ".join(ATTRS) + ", valid_from, valid_to, is_current "
                 "FROM customer_history ORDER BY customer_id, valid_from")
CURRENT_QUERY = ("SELECT customer_id, " + ", ".join(ATTRS) + ", valid_from FROM customer_current "
                 "ORDER BY customer_id")


def read_history(ds):
    rows = ds.sql(HISTORY_QUERY)
    for r in rows:
        r["customer_id"] = int(r["customer_id"])
        r["valid_from"] = parse_ts(r["valid_from"])
        r["valid_to"] = parse_ts(r["valid_to"])
        r["is_current"] = parse_bool(r["is_current"])
    return rows


def read_current(ds):
    rows = ds.sql(CURRENT_QUERY)
    for r in rows:
        r["customer_id"] = int(r["customer_id"])
        r["valid_from"] = parse_ts(r["valid_from"])
    return rows


LOAD_COLUMNS = "object_key, checksum, status, rows_loaded, rows_rejected, error"


def assert_dimension_is_fold(test_case, ds, rows=None):
    """customer_history and customer_current equal the reference fold of the objects in the bucket, in load
    order (and those hold `rows` records, when given). Returns the history and current rows read."""
    records, _ = records_from_files_in_load_order(ds, ds.bucket)
    if rows is not None:
        test_case.assertEqual(len(records), rows)
    expected = fold(records)
    history = read_history(ds)
    current = read_current(ds)
    assert_same_rows(test_case, expected, history, ("customer_id", "valid_from"),
                     "customer_history differs from the reference fold")
    assert_same_rows(test_case, current_of(expected), current, ("customer_id",),
                     "customer_current differs from the reference fold")
    return history, current


def table_snapshot(ds):
    """What a run must reproduce exactly: the dimension, the loads and the rejects."""
    return {
        "history": read_history(ds),
        "current": read_current(ds),
        "loads": ds.sql(f"SELECT {LOAD_COLUMNS} FROM load_history ORDER BY object_key, checksum"),
        "rejects": ds.sql("SELECT object_key, line, raw, reason FROM customer_rejects ORDER BY object_key, line"),
    }


def _fmt_row(r):
    return "{" + ", ".join(f"{k}={v!s}" for k, v in r.items()) + "}"


def diff_rows(expected, actual, key_cols, limit=10):
    """A readable description of how two lists of dict rows differ, or '' when they are equal."""
    if expected == actual:
        return ""

    def index(rows):
        idx = collections.defaultdict(list)
        for r in rows:
            idx[tuple(r[c] for c in key_cols)].append(r)
        return idx

    e, a = index(expected), index(actual)
    lines = [f"expected {len(expected)} rows, got {len(actual)}"]
    shown = 0
    for k in sorted(set(e) | set(a), key=lambda k: tuple((x is None, str(x)) for x in k)):
        if e.get(k) == a.get(k):
            continue
        shown += 1
        if shown > limit:
            lines.append("...")
            break
        lines.append(f"  key {k}:")
        for r in e.get(k, []):
            lines.append(f"    expected {_fmt_row(r)}")
        for r in a.get(k, []):
            lines.append(f"    actual   {_fmt_row(r)}")
    if shown == 0:
        lines.append("  same rows, different order")
    return "\n".join(lines)


def assert_same_rows(test_case, expected, actual, key_cols, what):
    d = diff_rows(expected, actual, key_cols)
    if d:
        test_case.fail(f"{what}:\n{d}")


def wait_for(condition, deadline=POLL_DEADLINE, interval=0.5, what="condition"):
    """Polls condition() (returning a truthy value when met) until the deadline; returns its last value."""
    end = time.monotonic() + deadline
    last = None
    while True:
        try:
            last = condition()
        except CommandFailed as e:  # e.g. a query while the server is starting: try again
            last_error = e
            last = None
        else:
            last_error = None
            if last:
                return last
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline}s waiting for {what}"
                                 + (f"; last error: {last_error}" if last_error else ""))
        time.sleep(interval)


def wait_serving(ds, proc, log_dir):
    """Waits until `proc` (a `run`, `load` or `merge --watch` of `ds`) serves queries on its socket. Until
    then a query would open the warehouse itself, and might create the file while the process does."""
    def up():
        if proc.poll() is not None:
            with open(os.path.join(log_dir, "run.stderr")) as f:
                raise AssertionError(f"the process exited {proc.returncode}:\n{tail(f.read())}")
        return os.path.exists(query_socket_for(ds.warehouse))
    wait_for(up, interval=0.1, what="the process to serve queries")


def stop_process(proc, sig=signal.SIGINT, deadline=120):
    """Sends sig and waits; returns the exit code (kills it and fails if it does not stop in time)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"process {proc.pid} did not exit within {deadline}s of signal {sig}")


def kill_if_running(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()

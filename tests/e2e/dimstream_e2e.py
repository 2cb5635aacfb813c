"""Shared helpers for dimstream's end-to-end tests (Python 3 standard library only).

The tests run the built binary and read results back through `dimstream sql --format csv`. Each test file
is runnable alone:

    python3 tests/e2e/test_merge.py --binary build/dimstream --samples ../shared/data/seed-sample

Options (every test file): --binary PATH (required), --samples DIR (the seed sample files), --keep (leave the
temporary data directories in place and print where they are), --warehouse duckdb|postgres (below). Anything
else goes to unittest, e.g. -v or a test name.

The warehouse: DuckDB by default (`warehouse.duckdb` in each data directory). `--warehouse postgres` (or the
environment variable DIMSTREAM_E2E_WAREHOUSE=postgres) puts every data directory's warehouse on the private
test PostgreSQL instead: each Dimstream gets a fresh database of its own on that server, created by `psql`
before its first command and dropped (WITH (FORCE)) when the test or class that made its temporary directory
ends (unless --keep, which prints the database's URL). The server is the one the CTest fixture `postgres`
started (scripts/servers/postgres.sh): its URL is read from $DIMSTREAM_TEST_SERVERS/postgres/url. To run a
test file by hand against PostgreSQL:

    scripts/servers/postgres.sh start /tmp/servers/postgres
    DIMSTREAM_TEST_SERVERS=/tmp/servers python3 tests/e2e/test_merge.py --binary build/dimstream \
        --samples ../shared/data/seed-sample --warehouse postgres
    scripts/servers/postgres.sh stop /tmp/servers/postgres

Every command then reads a configuration whose [warehouse] url names that database: the harness's own, or,
when the test gives --config FILE, a copy of FILE with the url added (FILE.postgres.toml, beside it, so that
messages naming the file still name FILE's path). Where the SQL a test sends through `dimstream sql` differs
between the engines, the test asks the harness for the spelling (Dimstream.spell, SPELLINGS); the expected
results are the same on both.
"""

import argparse
import atexit
import collections
import csv
import datetime
import hashlib
import io
import itertools
import json
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


WAREHOUSES = ("duckdb", "postgres")


class Options:
    binary = None
    samples = None
    keep = False
    warehouse = "duckdb"  # where the data directories' warehouses are: WAREHOUSES


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
    parser.add_argument("--warehouse", choices=WAREHOUSES,
                        default=os.environ.get("DIMSTREAM_E2E_WAREHOUSE") or "duckdb")
    args, rest = parser.parse_known_args()
    OPTIONS.binary = os.path.abspath(args.binary)
    OPTIONS.samples = os.path.abspath(args.samples) if args.samples else None
    OPTIONS.keep = args.keep
    OPTIONS.warehouse = args.warehouse
    if OPTIONS.warehouse == "postgres":
        print(f"warehouse: PostgreSQL, a database per data directory on {postgres_server_url()}", file=sys.stderr)
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


# Temporary directories and how to clean up after what lives in them: (directory, addCleanup or
# addClassCleanup of the test or class that made it). A PostgreSQL database of a data directory under one of
# them is dropped with it.
_TEMP_DIR_OWNERS = []


def _register_temp_dir(d, add_cleanup, who):
    _TEMP_DIR_OWNERS.append((d, add_cleanup))
    if OPTIONS.keep:
        print(f"\n[keep] {who}: {d}", file=sys.stderr)
    else:
        add_cleanup(shutil.rmtree, d, True)
    return d


def make_temp_dir(test_case, prefix="dimstream-e2e-"):
    """A fresh directory removed when the test ends (unless --keep)."""
    return _register_temp_dir(tempfile.mkdtemp(prefix=prefix), test_case.addCleanup, test_case.id())


def make_class_temp_dir(cls, prefix="dimstream-e2e-"):
    """make_temp_dir for setUpClass: removed after the class's last test (unless --keep)."""
    return _register_temp_dir(tempfile.mkdtemp(prefix=prefix), cls.addClassCleanup, cls.__name__)


def _cleanup_owner(path):
    """addCleanup of the test (or class) whose temporary directory holds path; None if there is none."""
    path = os.path.abspath(path)
    owners = [(d, add) for d, add in _TEMP_DIR_OWNERS if path == d or path.startswith(d + os.sep)]
    return max(owners, key=lambda o: len(o[0]))[1] if owners else None


# ---------------------------------------------------------------------------------------------------------
# PostgreSQL (--warehouse postgres): a database per data directory on the fixture's server.

def postgres_server_url():
    """The test server's URL (postgresql://dim@127.0.0.1:PORT/dimstream), as scripts/servers/postgres.sh
    wrote it."""
    return server_value("postgres", "url")


def psql(url, *sql, check=True):
    """Runs each statement with psql (no psqlrc, stop at the first error); returns the output, unaligned."""
    args = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url]
    for statement in sql:
        args += ["-c", statement]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT)
    if check and p.returncode != 0:
        raise AssertionError(f"psql {' '.join(sql)!r} on {url} exited {p.returncode}:\n"
                             f"{p.stderr.decode('utf-8', 'replace')}")
    return p.stdout.decode("utf-8", "replace")


_DATABASE_NUMBERS = itertools.count(1)


class PostgresDatabase:
    """A database of one data directory's own on the test server, created at once and dropped by drop()."""

    def __init__(self):
        server = postgres_server_url()
        self.name = f"e2e_{os.getpid()}_{next(_DATABASE_NUMBERS)}_{os.urandom(3).hex()}"
        self.admin_url = server  # the server's own database, to create and drop the others from
        self.url = server[: server.rfind("/") + 1] + self.name
        psql(self.admin_url, f"CREATE DATABASE {self.name}")

    def drop(self):
        # FORCE: a killed process's connections may not have been noticed by the server yet.
        psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def has_tables(self):
        """Whether anything (a table or view) was created in the database."""
        return psql(self.url, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE c.relkind IN ('r', 'v', 'p') AND n.nspname NOT IN "
                              "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
                    ).strip() != "0"


# Where a query differs between the engines, the spelling of each: the template's {} take the arguments.
SPELLINGS = {
    # A timestamp as whole seconds since 1970 (UTC).
    "epoch_seconds": {"duckdb": "epoch({})::BIGINT", "postgres": "extract(epoch FROM {})::BIGINT"},
    # A text column to ORDER BY in byte order, as Python sorts str.encode(): DuckDB's own; PostgreSQL's follows
    # the database's collation unless told.
    "byte_order": {"duckdb": "{}", "postgres": '{} COLLATE "C"'},
    # Every row of a table in a fixed order.
    "all_rows": {"duckdb": "SELECT * FROM {0} ORDER BY ALL", "postgres": "SELECT * FROM {0} t ORDER BY t::text"},
}


def toml_with_warehouse_url(text, url):
    """A configuration's text with [warehouse] url set: added under its [warehouse] table if it has one (a
    table may be declared once), else as a table of its own at the end (top-level keys stay first)."""
    line = f"url = {json.dumps(url)}"
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if re.match(r"^\s*\[\s*warehouse\s*\]\s*(#.*)?$", l):
            return "\n".join(lines[: i + 1] + [line] + lines[i + 1:]) + "\n"
    return text + ("" if text.endswith("\n") or not text else "\n") + f"\n[warehouse]\n{line}\n"


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


# Commands that never open the warehouse: no database is created for them.
_NO_WAREHOUSE_COMMANDS = ("generate", "config")
_GLOBAL_OPTIONS_WITH_VALUES = ("--config", "--data-dir", "--log-level")


def _command_of(args):
    """The subcommand in a dimstream command line (after the global options)."""
    it = iter(args)
    for a in it:
        if a in _GLOBAL_OPTIONS_WITH_VALUES:
            next(it, None)
        elif not a.startswith("-"):
            return a
    return None


class Dimstream:
    """One data directory and the binary that works on it. `config`: a configuration file every command
    reads (unless the command gives its own --config). `warehouse`: "duckdb" or "postgres" (default
    --warehouse): with PostgreSQL the data directory's warehouse is a database of its own (see the top)."""

    def __init__(self, data_dir, binary=None, config=None, warehouse=None):
        self.binary = binary or OPTIONS.binary
        self.data_dir = data_dir
        self.config = config
        self.landing = os.path.join(data_dir, "landing")
        self.bucket = os.path.join(data_dir, "bucket")
        self.engine = warehouse or OPTIONS.warehouse
        if self.engine not in WAREHOUSES:
            raise AssertionError(f"unknown warehouse {self.engine!r}")
        self.warehouse = os.path.join(data_dir, "warehouse.duckdb")  # the DuckDB file (DuckDB only)
        self.database = None  # PostgresDatabase, made before the first command that needs it
        self._default_config = None  # the configuration naming it, when the test gives none

    @property
    def postgres(self):
        return self.engine == "postgres"

    def spell(self, what, *args):
        """This engine's spelling of SPELLINGS[what], with args filled in."""
        return SPELLINGS[what][self.engine].format(*args)

    def _postgres_database(self):
        if self.database is None:
            self.database = PostgresDatabase()
            if OPTIONS.keep:
                print(f"\n[keep] {self.data_dir}: warehouse {self.database.url}", file=sys.stderr)
            else:
                add_cleanup = _cleanup_owner(self.data_dir)
                if add_cleanup is not None:
                    add_cleanup(self.database.drop)
                else:
                    atexit.register(self.database.drop)
        return self.database

    def _postgres_config(self, config, args):
        """The configuration file to give for the command `args` instead of `config` (None: none given): one
        that also names this data directory's database."""
        command = _command_of(args)
        if command in _NO_WAREHOUSE_COMMANDS:
            return config
        url = self._postgres_database().url
        if config is not None:
            with open(config, encoding="utf-8") as f:
                text = f.read()
            path = config + ".postgres.toml"  # rewritten every time: the test may change its file
        elif self._default_config is not None:
            return self._default_config
        else:
            text = ""
            config_dir = tempfile.mkdtemp(prefix="dimstream-e2e-pg-")
            add_cleanup = _cleanup_owner(self.data_dir)
            if add_cleanup is not None and not OPTIONS.keep:
                add_cleanup(shutil.rmtree, config_dir, True)
            path = self._default_config = os.path.join(config_dir, "warehouse.toml")
            if OPTIONS.keep:
                print(f"\n[keep] {self.data_dir}: configuration {path}", file=sys.stderr)
        with open(path, "w", encoding="utf-8") as f:
            f.write(toml_with_warehouse_url(text, url))
        return path

    def cmd(self, *args):
        args = list(args)
        if "--config" in args:
            i = args.index("--config") + 1
            if self.postgres and i < len(args) and os.path.isfile(args[i]):
                args[i] = self._postgres_config(args[i], args)
        else:
            config = self._postgres_config(self.config, args) if self.postgres else self.config
            if config is not None:
                args = ["--config", config] + args
        return [self.binary, "--data-dir", self.data_dir, *args]

    def warehouse_exists(self):
        """Whether any command created the warehouse: the DuckDB file, or tables in the database."""
        if self.postgres:
            return self.database is not None and self.database.has_tables()
        return os.path.exists(self.warehouse)

    def query_socket(self):
        """Where a running `run`, `load` or `merge --watch` serves queries; None on PostgreSQL (no process
        serves queries there: `dimstream sql` asks the server)."""
        return None if self.postgres else query_socket_for(self.warehouse)

    def started(self, log_dir):
        """Whether a process started with popen(log_dir=...) has opened the warehouse: it serves queries
        (DuckDB), or it logged that it runs."""
        socket = self.query_socket()
        if socket is not None and os.path.exists(socket):
            return True
        path = os.path.join(log_dir, "run.stderr")
        if not os.path.exists(path):
            return False
        with open(path, "rb") as f:
            return b"dimstream running" in f.read()

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


def records_from_files_in_load_order(ds, directory, objects=None):
    """Records of the files in `directory` (named by object key) that have no updated_at column, with each
    file's sequence and arrival taken from load_history (commit order). `objects`: only these object keys
    (default: every loaded object)."""
    loads = ds.sql("SELECT object_key, sequence_time, load_id FROM load_history WHERE status = 'loaded'")
    if objects is not None:
        loads = [l for l in loads if l["object_key"] in objects]
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


def assert_dimension_is_fold(test_case, ds, rows=None, directory=None, objects=None, keys=None):
    """customer_history and customer_current equal the reference fold of the objects in the bucket, in load
    order (and those hold `rows` records, when given). Returns the history and current rows read.
    `directory`: where the objects' bytes are (default ds.bucket). Where other files share the dimension:
    `objects`, the object keys to fold (default: every loaded one), and `keys`, a predicate on customer_id
    that picks the dimension's rows those objects alone decide (default: all rows)."""
    records, _ = records_from_files_in_load_order(ds, directory or ds.bucket, objects)
    if rows is not None:
        test_case.assertEqual(len(records), rows)
    expected = fold(records)
    history = read_history(ds)
    current = read_current(ds)
    if keys is not None:
        history = [r for r in history if keys(r["customer_id"])]
        current = [r for r in current if keys(r["customer_id"])]
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
    then a query would open the warehouse itself, and might create the file while the process does. On
    PostgreSQL (no socket): until the process has opened the warehouse and logged that it runs."""
    def up():
        if proc.poll() is not None:
            with open(os.path.join(log_dir, "run.stderr")) as f:
                raise AssertionError(f"the process exited {proc.returncode}:\n{tail(f.read())}")
        if ds.postgres:
            return ds.started(log_dir)
        return os.path.exists(query_socket_for(ds.warehouse))
    wait_for(up, interval=0.1, what="the process to serve queries")


HTTP_SERVING = re.compile(r"http: serving the dashboard, /metrics, /api/status and /api/sql on [0-9.]+:(\d+)")


def wait_http_port(log_dir):
    """The port of the HTTP endpoints of a process started with popen(log_dir=...), as it logs it (with
    http.listen's port 0 it takes a free one)."""
    def port():
        with open(os.path.join(log_dir, "run.stderr"), encoding="utf-8", errors="replace") as f:
            m = HTTP_SERVING.search(f.read())
        return m and int(m.group(1))
    return wait_for(port, interval=0.1, what="the HTTP endpoints to listen")


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

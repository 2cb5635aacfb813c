#!/usr/bin/env python3
"""The whole scaled-out pipeline on private real servers, with faults (issue 14): files dropped into landing
-> one `dimstream move` -> a bucket on Ceph's radosgw, which notifies RabbitMQ of each new object itself
(`queue.notified_by = "bucket"`) -> three `dimstream load` processes -> PostgreSQL <- two `merge --watch`
(one holds the lease merge:customer, the other stands by). Every process has a data directory of its own;
the servers are the test's own (scripts/servers/), started for it and stopped after it, since it restarts
each of them once.

The data: the four seed sample files (customer_id below FIRST_KEY, no updated_at) and a generated stream with
an updated_at sequence, updates, late records, exact duplicates, deletes, NULLs and bad rows (keys from
FIRST_KEY on), dropped into landing one file at a time in a random order. While they arrive the test
injects, in a random order: SIGKILLs of one or two loaders and of the merge lease's holder (each killed
process started again with its data directory; after a kill of the holder the standby must take the lease
over), and one restart each of PostgreSQL, RabbitMQ and radosgw. Then it waits for the pipeline to drain and
checks:

- every file is in load_history exactly once, loaded, its rows_loaded + rows_rejected its rows, its checksum
  the file's SHA-256; every loaded row merged exactly once (task_history), customer_raw empty;
- `dimstream check` passes on the PostgreSQL warehouse, and `status` lists every running process;
- the sample keys' customer_history and customer_current are the reference fold of the four files in their
  load order (load_history.load_id, the commit order);
- the generated keys' dimension, loads and rejects equal those of an embedded run (DuckDB, the default
  warehouse, a data directory of its own) of the same generated files in the same load order; with an
  updated_at sequence the result must not depend on the order, so the embedded run is also checked against
  one that loads the files in name order.

    python3 tests/e2e/test_distributed.py --binary build/dimstream --samples ../shared/data/seed-sample [--keep]

Environment: DIMSTREAM_DISTRIBUTED_SEED (default 14) seeds the generated stream and every random choice (the
drop order, the pauses, which process is killed when, the faults' order); it is printed, so that a failing
run can be replayed (the timing of the processes, of course, is not).
"""

import concurrent.futures
import os
import random
import re
import signal
import sys
import threading
import time
import unittest
import uuid

import dimstream_e2e as e2e
import test_s3

SEED = int(os.environ.get("DIMSTREAM_DISTRIBUTED_SEED", "14"))

LOADERS = ("load-1", "load-2", "load-3")
MERGERS = ("merge-a", "merge-b")
LEASE_MS = 1500

FIRST_KEY = 1000000  # the generated stream's keys; the sample files' are below 20,000
ROWS = 12000
ROWS_PER_FILE = 400
GENERATE = ["generate", "--rows", str(ROWS), "--rows-per-file", str(ROWS_PER_FILE), "--first-key",
            str(FIRST_KEY), "--key-space", "3000", "--update-share", "0.4", "--event-time", "--delete-share",
            "0.05", "--late-share", "0.05", "--duplicate-share", "0.05", "--bad-share", "0.01",
            "--null-share", "0.02", "--no-progress"]

# The faults, shuffled; each fires once the producer has dropped a random share of the files, and the files
# keep arriving while it lasts.
FAULTS = ["kill-loader"] * 6 + ["kill-merge-holder"] * 3 + ["restart-postgres", "restart-rabbitmq",
                                                             "restart-rgw"]
# Where each server's script keeps the id of the process a restart replaces (scripts/servers/).
SERVER_PID_FILES = {"postgres": "data/postmaster.pid", "rabbitmq": "rabbit.pid", "rgw": "run/rgw.pid"}
DROP_PAUSE_S = (0.1, 0.8)   # between two files dropped into landing
RESTART_AFTER_S = (0.2, 1.5)  # between a SIGKILL and the killed process's restart


def generated(key):
    return key >= FIRST_KEY


def sample(key):
    return key < FIRST_KEY


class Process:
    """One dimstream process of the pipeline: its name, data directory and command, the current run of it and
    the log directory of each run (logs/<name>.<n>)."""

    def __init__(self, name, ds, args):
        self.name = name
        self.ds = ds
        self.args = args
        self.proc = None
        self.log_dirs = []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self, run=-1):
        with open(os.path.join(self.log_dirs[run], "run.stderr"), errors="replace") as f:
            return f.read()


class DistributedTest(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(SEED)
        print(f"\ndistributed: DIMSTREAM_DISTRIBUTED_SEED={SEED}", file=sys.stderr)
        self.dir = e2e.make_temp_dir(self, prefix="dimstream-distributed-")
        # The three servers at once (radosgw takes about 12 s, RabbitMQ 8 s, PostgreSQL 2 s).
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            started = {server: pool.submit(e2e.PrivateServer, self, server, value)
                       for server, value in (("postgres", "url"), ("rabbitmq", "url"), ("rgw", "endpoint"))}
            self.servers = {server: f.result() for server, f in started.items()}
        self.bucket = f"dimstream-e2e-{uuid.uuid4().hex[:12]}"
        status, body = test_s3.s3("PUT", f"{self.servers['rgw'].value}/{self.bucket}")
        self.assertEqual(status, 200, body)
        self.landing = os.path.join(self.dir, "landing")
        os.makedirs(self.landing)
        secrets = {}
        for name, value in (("s3_access", test_s3.ACCESS_KEY), ("s3_secret", test_s3.SECRET_KEY)):
            secrets[name] = os.path.join(self.dir, name)
            with open(os.open(secrets[name], os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(value)
        self.config = os.path.join(self.dir, "dimstream.toml")
        with open(self.config, "w") as f:
            # The loaders list the bucket every 2 s: what a notification lost while RabbitMQ restarted
            # (radosgw drops them meanwhile) they find that way.
            f.write(f'landing_dir = "{self.landing}"\n'
                    f'[object_store]\nurl = "s3://{self.bucket}/incoming/"\n'
                    f'endpoint = "{self.servers["rgw"].value}"\nregion = "us-east-1"\npath_style = true\n'
                    'access_key = "s3_access"\nsecret_key = "s3_secret"\n'
                    f'[queue]\nurl = "{self.servers["rabbitmq"].value}"\nqueue = "e2e-{uuid.uuid4().hex[:12]}"\n'
                    'notified_by = "bucket"\n'
                    f'[warehouse]\nurl = "{self.servers["postgres"].value}"\n'
                    '[mover]\npoll_interval_ms = 200\nretry_initial_ms = 100\nretry_max_ms = 1000\n'
                    '[loader]\nlist_interval_ms = 2000\n'
                    f'[merge]\ninterval_ms = 200\nlease_ms = {LEASE_MS}\n'
                    f'[secrets]\ns3_access = {{ file = "{secrets["s3_access"]}" }}\n'
                    f's3_secret = {{ file = "{secrets["s3_secret"]}" }}\n')
        self.query = e2e.Dimstream(os.path.join(self.dir, "query"), config=self.config, warehouse="duckdb")
        self.processes = {}

    def tearDown(self):
        for p in self.processes.values():
            if p.proc is not None:
                e2e.kill_if_running(p.proc)

    # ---- the processes --------------------------------------------------------------------------------

    def start(self, name, *args):
        """Starts the process `name` (again, with the same data directory, after a kill)."""
        p = self.processes.get(name)
        if p is None:
            ds = e2e.Dimstream(os.path.join(self.dir, name), config=self.config, warehouse="duckdb")
            p = self.processes[name] = Process(name, ds, args)
        log_dir = os.path.join(self.dir, "logs", f"{name}.{len(p.log_dirs) + 1}")
        os.makedirs(log_dir)
        p.log_dirs.append(log_dir)
        p.proc = p.ds.popen(*p.args, log_dir=log_dir)
        return p

    def beating(self, p):
        """Waits until the process `p` (a loader or a merge) records heartbeats in the warehouse."""
        def beats():
            if not p.alive():
                self.fail(f"{p.name} exited {p.proc.returncode}:\n{e2e.tail(p.log())}")
            return p.proc.pid in self.live_pids()
        e2e.wait_for(beats, what=f"{p.name} (pid {p.proc.pid}) to beat")

    def live_pids(self):
        """Pids of the processes whose heartbeat is at most 5 s old."""
        return {int(r["pid"]) for r in self.query.sql("SELECT pid FROM processes WHERE seconds_since_beat <= 5")}

    def holder(self):
        """The merge process holding the lease merge:customer, or None."""
        rows = self.query.sql("SELECT holder FROM leases WHERE name = 'merge:customer' AND expires_at > now()")
        if not rows:
            return None
        pid = int(rows[0]["holder"].split(":")[1])
        named = [p for p in self.processes.values() if p.name in MERGERS and p.alive() and p.proc.pid == pid]
        return named[0] if named else None

    def kill(self, p):
        p.proc.send_signal(signal.SIGKILL)
        self.assertEqual(p.proc.wait(timeout=60), -signal.SIGKILL, f"{p.name} had exited before the kill")

    def logs(self):
        """The end of every process's log, for a failure's message."""
        out = []
        for p in self.processes.values():
            for i in range(len(p.log_dirs)):
                out.append(f"--- {p.name}, run {i + 1} ({p.log_dirs[i]}):\n{e2e.tail(p.log(i), 3000)}")
        return "\n".join(out)

    # ---- the faults -----------------------------------------------------------------------------------

    def fault(self, what):
        """Injects one fault and waits until the pipeline is whole again (every killed process restarted)."""
        t0 = time.monotonic()
        if what == "kill-loader":
            victims = self.rng.sample(LOADERS, self.rng.choice((1, 1, 2)))
            for name in victims:
                self.kill(self.processes[name])
            time.sleep(self.rng.uniform(*RESTART_AFTER_S))
            for name in victims:
                self.beating(self.start(name))
            detail = "SIGKILL of " + " and ".join(victims)
        elif what == "kill-merge-holder":
            holder = e2e.wait_for(self.holder, what="a merge process to hold the lease")
            self.kill(holder)
            other = e2e.wait_for(lambda: (h := self.holder()) is not None and h is not holder and h,
                                 interval=0.1, what=f"the standby to take the lease over from {holder.name}")
            took = time.monotonic() - t0
            time.sleep(self.rng.uniform(*RESTART_AFTER_S))
            again = self.start(holder.name)
            self.beating(again)
            e2e.wait_for(lambda: "holds the lease merge:customer: standing by" in again.log(),
                         what=f"the restarted {holder.name} to stand by")
            detail = f"SIGKILL of the lease's holder {holder.name}, {other.name} took over after {took:.1f} s"
        else:
            server = what.removeprefix("restart-")
            before = self.server_pid(server)
            self.servers[server].command("restart-rgw" if server == "rgw" else "restart")
            self.assertNotEqual(self.server_pid(server), before, f"{server} was not restarted")
            detail = f"{server} restarted"
        print(f"distributed: {detail} ({time.monotonic() - t0:.1f} s)", file=sys.stderr)
        self.faults_done.append(detail)

    def server_pid(self, server):
        with open(os.path.join(self.servers[server].dir, SERVER_PID_FILES[server])) as f:
            return int(f.readline())

    def produce(self, files, fault_at, fault_done):
        """The producer (a thread): drops the files into landing one at a time; at each fault's position it
        lets the fault start (fault_at[i] set) and, at the next one, first waits until it is over."""
        rng = random.Random(SEED + 1)
        faults = 0
        for i, path in enumerate(files):
            if faults < len(self.fault_positions) and i == self.fault_positions[faults]:
                if faults > 0:
                    fault_done[faults - 1].wait()
                fault_at[faults].set()
                faults += 1
            if self.stop_producing.is_set():
                return
            e2e.drop_file(path, self.landing)
            self.dropped += 1
            time.sleep(rng.uniform(*DROP_PAUSE_S))

    # ---- the test -------------------------------------------------------------------------------------

    def test_files_survive_kills_and_server_restarts(self):
        try:
            self.run_pipeline()
        except AssertionError as e:
            raise AssertionError(f"{e}\n\nDIMSTREAM_DISTRIBUTED_SEED={SEED}; the processes' logs:\n"
                                 f"{self.logs()}") from None

    def run_pipeline(self):
        started = time.monotonic()
        samples = e2e.sample_files()
        gen = e2e.Dimstream(os.path.join(self.dir, "generated"), warehouse="duckdb")
        out = gen.run(*GENERATE, "--seed", str(SEED)).stdout
        self.assertIn(f"generate: {ROWS} rows", out)
        stream = [os.path.join(gen.landing, f) for f in e2e.visible_files(gen.landing)]
        self.assertEqual(len(stream), ROWS // ROWS_PER_FILE)
        files = stream + samples
        self.rng.shuffle(files)
        rows_of = {os.path.basename(f): ROWS_PER_FILE for f in stream}
        for f in samples:
            with open(f, newline="", encoding="utf-8") as fh:
                rows_of[os.path.basename(f)] = sum(1 for _ in fh) - 1

        # The pipeline: the loaders first (each declares the queue and its binding to the exchange radosgw
        # publishes to), then the merges, then the mover (it configures the bucket's notifications).
        for name in LOADERS:
            self.start(name, "load")
        for name in LOADERS:
            self.beating(self.processes[name])
        first = self.start(MERGERS[0], "merge", "--watch")
        e2e.wait_for(lambda: self.holder() is first, what=f"{first.name} to take the lease")
        self.beating(self.start(MERGERS[1], "merge", "--watch"))
        move = self.start("move", "move")
        e2e.wait_for(lambda: "notifies new objects to the queue" in move.log() or not move.alive(),
                     what="the mover to configure the bucket's notifications")
        self.assertTrue(move.alive(), f"move exited {move.proc.returncode}:\n{move.log()}")
        print(f"distributed: pipeline up after {time.monotonic() - started:.1f} s", file=sys.stderr)

        # The files arrive while the faults happen.
        faults = list(FAULTS)
        self.rng.shuffle(faults)
        self.fault_positions = sorted(self.rng.sample(range(2, len(files) - 1), len(faults)))
        self.faults_done = []
        self.dropped = 0
        self.stop_producing = threading.Event()
        fault_at = [threading.Event() for _ in faults]
        fault_done = [threading.Event() for _ in faults]
        producer = threading.Thread(target=self.produce, args=(files, fault_at, fault_done), daemon=True)
        producer.start()
        try:
            for i, what in enumerate(faults):
                if not fault_at[i].wait(timeout=e2e.POLL_DEADLINE):
                    self.fail(f"the producer did not reach fault {i + 1} ({what})")
                time.sleep(self.rng.uniform(0.0, 0.5))
                self.fault(what)
                fault_done[i].set()
        except BaseException:
            self.stop_producing.set()  # the producer stops at its next file
            for e in fault_done:
                e.set()
            producer.join(timeout=120)
            raise
        producer.join(timeout=e2e.POLL_DEADLINE)  # the files after the last fault
        self.assertEqual(self.dropped, len(files), "the producer stopped early")
        print(f"distributed: {len(files)} files dropped, {len(faults)} faults, after "
              f"{time.monotonic() - started:.1f} s", file=sys.stderr)

        # Drained: landing empty, every object loaded, every loaded row merged.
        names = sorted(rows_of)
        q = self.query
        e2e.wait_for(lambda: e2e.visible_files(self.landing) == [], what="landing to empty")
        e2e.wait_for(lambda: q.count("SELECT count(*) FROM load_history WHERE status = 'loaded'") >= len(names),
                     what="every object to be loaded")
        e2e.wait_for(lambda: q.count("customer_raw") == 0 and self.merged_rows() == self.loaded_rows(),
                     what="every loaded row to be merged")
        print(f"distributed: drained after {time.monotonic() - started:.1f} s", file=sys.stderr)

        # `status` while everything runs: every live process with its role.
        # (once the loaders took every notification: of an object the listing found first, one may still wait)
        def status_once_taken():
            text = q.run("status").stdout
            return text if re.search(r"queue \S+: 0 waiting", text) else None
        status = e2e.wait_for(status_once_taken, what="the queue to be empty")
        beats = {int(r["pid"]): r["role"] for r in q.sql("SELECT pid, role FROM processes")}
        for p in self.processes.values():
            self.assertTrue(p.alive(), f"{p.name} exited {p.proc.returncode}:\n{e2e.tail(p.log())}")
            if p.name != "move":  # the mover has no warehouse to beat in
                self.assertEqual(beats.get(p.proc.pid), p.args[0], f"{p.name} in `processes`")
                self.assertRegex(status, rf"\n\S+:{p.proc.pid}:\d+ *\| {p.args[0]} ", f"{p.name} in `status`")
        # Nothing in this stream is a poison notification: none may be dead-lettered (a server restart is no
        # reason to give up on one).
        self.assertRegex(status, r"queue \S+: 0 waiting, 0 dead-lettered", "the dead-letter queue")
        for p in self.processes.values():
            self.assertEqual(e2e.stop_process(p.proc), 0, f"{p.name} after Ctrl-C:\n{e2e.tail(p.log())}")

        # Every row of every file loaded or rejected exactly once.
        loads = q.sql("SELECT object_key, checksum, status, rows_loaded, rows_rejected, load_id FROM load_history "
                      "ORDER BY load_id")
        self.assertEqual(sorted(l["object_key"] for l in loads), names, "one load_history row per file")
        paths = {os.path.basename(f): f for f in files}
        for l in loads:
            key = l["object_key"]
            self.assertEqual(l["status"], "loaded", f"{key}: {l}")
            self.assertEqual(int(l["rows_loaded"]) + int(l["rows_rejected"]), rows_of[key], f"{key}: {l}")
            self.assertEqual(l["checksum"], e2e.sha256_file(paths[key]), f"{key}: the checksum")
        self.assertEqual(self.merged_rows(), self.loaded_rows(), "rows merged by succeeded runs vs rows loaded")
        self.assertGreater(sum(int(l["rows_rejected"]) for l in loads), 0, "the stream has bad rows")
        # Loaders commit at once, yet the loads' sequence times follow their commit order (the watermark
        # relies on it).
        times = [e2e.parse_ts(r["sequence_time"]) for r in q.sql("SELECT sequence_time FROM load_history "
                                                                 "ORDER BY load_id")]
        self.assertEqual(times, sorted(set(times)), "sequence_time must increase with load_id")
        checked = q.check()
        self.assertEqual(checked.returncode, 0, f"check failed:\n{checked.stdout}\n{checked.stderr}")

        # The sample files: the reference fold in their load order, on their keys.
        e2e.assert_dimension_is_fold(self, q, rows=sum(rows_of[os.path.basename(f)] for f in samples),
                                     directory=os.path.dirname(samples[0]),
                                     objects={os.path.basename(f) for f in samples}, keys=sample)

        # The generated stream: what an embedded run of the same files in the same order builds, and the
        # same again in name order.
        streamed = {os.path.basename(f) for f in stream}
        order = [paths[l["object_key"]] for l in loads if l["object_key"] in streamed]
        ours = self.snapshot(q, streamed)
        embedded = self.embedded_run("embedded", order, one_at_a_time=True)
        self.assert_same_snapshot(embedded, ours, "PostgreSQL's result differs from the embedded run's in the "
                                                  "same order")
        by_name = self.embedded_run("embedded-by-name", sorted(stream), one_at_a_time=False)
        self.assert_same_snapshot(by_name, embedded, "the embedded runs in load order and in name order differ")
        print(f"distributed: {len(self.faults_done)} faults survived, all checks passed after "
              f"{time.monotonic() - started:.1f} s", file=sys.stderr)

    def loaded_rows(self):
        return int(self.query.scalar("SELECT coalesce(sum(rows_loaded), 0) FROM load_history"))

    def merged_rows(self):
        return int(self.query.scalar("SELECT coalesce(sum(rows_in), 0) FROM task_history "
                                     "WHERE status = 'succeeded'"))

    @staticmethod
    def snapshot(ds, objects):
        """The dimension's rows of the generated keys, and the loads and rejects of `objects` (the generated
        files' names)."""
        s = e2e.table_snapshot(ds)
        for part in ("history", "current"):
            s[part] = [r for r in s[part] if generated(r["customer_id"])]
        for part in ("loads", "rejects"):
            s[part] = [r for r in s[part] if r["object_key"] in objects]
        return s

    def embedded_run(self, name, order, one_at_a_time):
        """The generated files through `dimstream run --until-idle` on the default warehouse (DuckDB) of a data
        directory of its own: one file per run, in `order`, or all in one run."""
        ds = e2e.Dimstream(os.path.join(self.dir, name), warehouse="duckdb")
        for path in order:
            e2e.drop_file(path, ds.landing)
            if one_at_a_time:
                ds.run("run", "--until-idle", "--quiet")
        if not one_at_a_time:
            ds.run("run", "--until-idle", "--quiet")
        if one_at_a_time:
            got = [r["object_key"] for r in ds.sql("SELECT object_key FROM load_history ORDER BY load_id")]
            self.assertEqual(got, [os.path.basename(p) for p in order], f"{name}: the load order")
        checked = ds.check()
        self.assertEqual(checked.returncode, 0, f"{name}: check failed:\n{checked.stdout}\n{checked.stderr}")
        return self.snapshot(ds, {os.path.basename(p) for p in order})

    def assert_same_snapshot(self, expected, actual, what):
        e2e.assert_same_rows(self, expected["loads"], actual["loads"], ("object_key", "checksum"),
                             f"{what}: load_history")
        e2e.assert_same_rows(self, expected["rejects"], actual["rejects"], ("object_key", "line"),
                             f"{what}: customer_rejects")
        e2e.assert_same_rows(self, expected["history"], actual["history"], ("customer_id", "valid_from"),
                             f"{what}: customer_history")
        e2e.assert_same_rows(self, expected["current"], actual["current"], ("customer_id",),
                             f"{what}: customer_current")


if __name__ == "__main__":
    e2e.main()

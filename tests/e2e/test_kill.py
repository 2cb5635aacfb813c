#!/usr/bin/env python3
"""Kill harness: a generated stream (updates, deletes, late and duplicate records, bad rows) goes through a
live `dimstream run` that is killed over and over, with SIGKILL after a random 50-600 ms, or earlier by
itself at a random fault point (DIMSTREAM_FAULT=<point>:<n>, n random), and restarted each time. The test
drops the stream's files into landing as a producer would, before and during each run. At the end one
`run --until-idle` without faults finishes the work, and then (SEMANTICS.md 2, 3, 5, 6):

- every generated row is loaded or rejected exactly once: one load_history row per object, equal to an
  uninterrupted reference run over the same files, and the loaded + rejected rows sum to the rows generated;
- every loaded row was merged exactly once (task_history), raw and stage are empty, landing is empty;
- customer_history, customer_current and customer_rejects equal the reference run's;
- `dimstream check` passes, at the end and every few kills in between (each crash leaves a committed state).

    python3 tests/e2e/test_kill.py --binary build/dimstream

Environment: DIMSTREAM_KILLS (default 200: the kills of one CI run), DIMSTREAM_KILL_SEED (the harness's
random choices; printed, so that a failing run can be replayed).
"""

import os
import random
import signal
import sys
import time
import unittest

import dimstream_e2e as e2e

KILLS = int(os.environ.get("DIMSTREAM_KILLS", "200"))
HARNESS_SEED = int(os.environ.get("DIMSTREAM_KILL_SEED", str(random.SystemRandom().randrange(1 << 31))))

ROWS = 9000
ROWS_PER_FILE = 60
GENERATE = ["generate", "--rows", str(ROWS), "--rows-per-file", str(ROWS_PER_FILE), "--update-share", "0.4",
            "--key-space", "2000", "--event-time", "--delete-share", "0.05", "--late-share", "0.05",
            "--duplicate-share", "0.05", "--bad-share", "0.01", "--null-share", "0.02", "--seed", "6",
            "--no-progress"]

KILL_AFTER_MS = (50, 600)
ARMED_KILL_AFTER_MS = 250
FAULT_SHARE = 0.4  # of the runs while files still arrive, those started with a fault point armed
CHECK_EVERY = 25   # kills between two consistency checks of the committed state
FAULT_POINTS = ["mover.before_put", "mover.after_put", "mover.after_publish", "loader.before_commit",
                "load.before_commit", "load.after_commit", "loader.after_commit", "merge.after_stage",
                "merge.after_fold", "merge.after_replace", "merge.before_cleanup", "merge.before_commit",
                "merge.after_commit"]

# Short intervals, so that every role gets work done between two kills.
CONFIG = """
[mover]
poll_interval_ms = 100
retry_initial_ms = 50
[loader]
list_interval_ms = 300
[merge]
interval_ms = 150
"""

class KillHarness(unittest.TestCase):

    def test_random_kills_lose_and_double_nothing(self):
        tmp = e2e.make_temp_dir(self, prefix="dimstream-kill-")
        rng = random.Random(HARNESS_SEED)
        print(f"\nkill harness: {KILLS} kills, DIMSTREAM_KILL_SEED={HARNESS_SEED}", file=sys.stderr)

        gen = e2e.Dimstream(os.path.join(tmp, "generated"))
        out = gen.run(*GENERATE).stdout
        self.assertIn(f"{ROWS} rows", out)
        files = [os.path.join(gen.landing, f) for f in e2e.visible_files(gen.landing)]
        names = [os.path.basename(f) for f in files]
        self.assertEqual(len(files), ROWS // ROWS_PER_FILE)

        ref = e2e.Dimstream(os.path.join(tmp, "reference"))
        for f in files:
            e2e.drop_file(f, ref.landing)
        ref.run("run", "--until-idle", "--quiet")
        expected = e2e.table_snapshot(ref)

        ds = e2e.Dimstream(os.path.join(tmp, "killed"))
        config = os.path.join(tmp, "kill.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        os.makedirs(ds.landing)

        # The producer's schedule: all files dropped by three quarters of the kills, so that the last runs
        # also crash while catching up and while idle.
        per_run = len(files) / max(1.0, KILLS * 0.75)
        next_file = 0
        budget = 0.0
        kills = 0
        by_timer = 0
        hits = {p: 0 for p in FAULT_POINTS}
        armed = {p: 0 for p in FAULT_POINTS}
        started = time.monotonic()
        while kills < KILLS:
            fault = None
            if next_file < len(files) and rng.random() < FAULT_SHARE:
                # The point hit least so far, to cover all of them; the 1st to 3rd pass through it.
                least = min(hits[p] for p in FAULT_POINTS)
                point = rng.choice([p for p in FAULT_POINTS if hits[p] == least])
                fault = (point, rng.choices((1, 2, 3), weights=(6, 3, 1))[0])
                armed[point] += 1
            budget += per_run * rng.uniform(0.0, 2.0)
            # A run with a fault armed gets work to reach it (taken from later runs' share).
            drops = min(max(int(budget), 2 if fault else 0), len(files) - next_file)
            if kills + 1 >= KILLS * 0.75:
                drops = len(files) - next_file  # whatever chance left behind
            budget -= drops
            # An armed run is given the time to start up and reach its point (the timer still kills it if
            # it does not); the others die anywhere, start-up (WAL replay, schema, key index) included.
            kill_at = rng.uniform(ARMED_KILL_AFTER_MS if fault else KILL_AFTER_MS[0], KILL_AFTER_MS[1]) / 1000.0
            # Some files land before the start, the others while the process runs.
            events = sorted((rng.uniform(0.0, kill_at) if rng.random() < 0.6 else 0.0, i)
                            for i in range(next_file, next_file + drops))
            for at, i in events:
                if at == 0.0:
                    e2e.drop_file(files[i], ds.landing)
            env = {"DIMSTREAM_FAULT": f"{fault[0]}:{fault[1]}"} if fault else None
            proc = ds.popen("--config", config, "run", "--quiet", log_dir=tmp, env_extra=env)
            t0 = time.monotonic()
            for at, i in events:
                if at > 0.0:
                    time.sleep(max(0.0, t0 + at - time.monotonic()))
                    e2e.drop_file(files[i], ds.landing)
            time.sleep(max(0.0, t0 + kill_at - time.monotonic()))
            died_by_itself = proc.poll() is not None
            if not died_by_itself:
                proc.send_signal(signal.SIGKILL)
            rc = proc.wait(timeout=60)
            next_file += drops
            kills += 1
            if rc != -signal.SIGKILL:
                self.fail(f"run {kills} (fault {fault}) ended with exit code {rc}, not by SIGKILL\n{self.logs(tmp)}")
            if died_by_itself:
                if fault is None:
                    self.fail(f"run {kills} died of SIGKILL without a fault armed\n{self.logs(tmp)}")
                hits[fault[0]] += 1
            else:
                by_timer += 1
            if kills % CHECK_EVERY == 0:
                self.assert_committed_state(ds, kills)

        elapsed = time.monotonic() - started
        covered = sorted(p for p in FAULT_POINTS if hits[p] > 0)
        print(f"kill harness: {kills} kills in {elapsed:.0f} s ({by_timer} by a random SIGKILL after "
              f"{KILL_AFTER_MS[0]}-{KILL_AFTER_MS[1]} ms, {kills - by_timer} at fault points); "
              f"{len(covered)}/{len(FAULT_POINTS)} fault points hit", file=sys.stderr)
        for p in FAULT_POINTS:
            print(f"  {p:24} armed {armed[p]:3}  hit {hits[p]:3}", file=sys.stderr)
        self.assertEqual(next_file, len(files), "the schedule should have dropped every file")

        # Finish without faults; everything must be there exactly once.
        p = ds.run("--config", config, "run", "--until-idle", "--quiet", check=False)
        self.assertEqual(p.returncode, 0, f"final run --until-idle exited {p.returncode}\n{e2e.tail(p.stderr)}")
        got = e2e.table_snapshot(ds)
        e2e.assert_same_rows(self, expected["loads"], got["loads"], ("object_key", "checksum"),
                             "load_history differs from the reference (each object must be loaded exactly once)")
        self.assertEqual(sorted(r["object_key"] for r in got["loads"]), names, "one load per object")
        self.assertEqual(sum(int(r["rows_loaded"]) + int(r["rows_rejected"]) for r in got["loads"]), ROWS,
                         "loaded + rejected rows should equal the rows generated")
        self.assertGreater(sum(int(r["rows_rejected"]) for r in got["loads"]), 0, "the stream has bad rows")
        e2e.assert_same_rows(self, expected["rejects"], got["rejects"], ("object_key", "line"),
                             "customer_rejects differs from the reference")
        e2e.assert_same_rows(self, expected["history"], got["history"], ("customer_id", "valid_from"),
                             "customer_history differs from the reference")
        e2e.assert_same_rows(self, expected["current"], got["current"], ("customer_id",),
                             "customer_current differs from the reference")
        rows_loaded = sum(int(r["rows_loaded"]) for r in got["loads"])
        merged = int(ds.scalar("SELECT coalesce(sum(rows_in), 0) FROM task_history WHERE status = 'succeeded'"))
        self.assertEqual(merged, rows_loaded, "rows merged by succeeded runs should equal the rows loaded")
        self.assertEqual(ds.count("customer_raw"), 0, "merged rows left in customer_raw")
        self.assertEqual(ds.count("customer_stage"), 0, "customer_stage not empty")
        self.assertEqual(e2e.visible_files(ds.landing), [], "files left in landing")
        self.assertEqual(e2e.visible_files(ds.bucket), names)
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")

    def assert_committed_state(self, ds, kills):
        """What a crash leaves is consistent: the invariants hold and no object was loaded twice."""
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check after {kills} kills:\n{c.stdout}\n{c.stderr}")
        twice = ds.sql("SELECT object_key, checksum, count(*) AS n FROM load_history "
                       "GROUP BY object_key, checksum HAVING count(*) > 1")
        self.assertEqual(twice, [], f"objects loaded twice after {kills} kills")
        # Nothing merged twice: the succeeded runs took in exactly the loaded rows that left raw.
        merged = int(ds.scalar("SELECT coalesce(sum(rows_in), 0) FROM task_history WHERE status = 'succeeded'"))
        pending = ds.count("customer_raw")
        loaded = int(ds.scalar("SELECT coalesce(sum(rows_loaded), 0) FROM load_history"))
        self.assertEqual(merged + pending, loaded, f"after {kills} kills: merged {merged} + waiting in raw "
                                                   f"{pending} should equal loaded {loaded}")

    @staticmethod
    def logs(tmp):
        out = []
        for name in ("run.stdout", "run.stderr"):
            with open(os.path.join(tmp, name), "rb") as f:
                out.append(f"{name}:\n" + e2e.tail(f.read().decode("utf-8", "replace")))
        return "\n".join(out)


if __name__ == "__main__":
    e2e.main()

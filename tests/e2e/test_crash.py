#!/usr/bin/env python3
"""End-to-end fault injection: `run --until-idle` is killed (SIGKILL, through DIMSTREAM_FAULT=<point>:<n>) at
every named fault point, then rerun; the result must equal an uninterrupted reference run
(SEMANTICS.md 3, 5, 6: exactly-once loading, a dimension independent of crashes, all-or-nothing merges).

    python3 tests/e2e/test_crash.py --binary build/dimstream

The reference itself is checked against the test's own fold of the loaded records (event time, deletes,
late and duplicate records).

Environment: DIMSTREAM_CRASH_POINTS, a comma-separated list of the fault points whose scenarios run, each a
point's name or a prefix ending in "." ("merge."); default all. The others are skipped.
"""

import os
import shutil
import unittest

import dimstream_e2e as e2e

SEED = "20250101"
ROWS = 6000
ROWS_PER_FILE = 1000
GENERATE = ["generate", "--rows", str(ROWS), "--rows-per-file", str(ROWS_PER_FILE), "--update-share", "0.4",
            "--event-time", "--delete-share", "0.05", "--late-share", "0.05", "--duplicate-share", "0.05",
            "--bad-share", "0.01", "--seed", SEED, "--no-progress"]
STAGED_FILES = 3  # staged scenarios merge this many files cleanly first, then crash on the rest

MOVER = ["mover.before_put", "mover.after_put", "mover.after_publish"]
LOADER = ["loader.before_commit", "load.before_commit", "load.after_commit", "loader.after_commit"]
MERGE = ["merge.after_stage", "merge.after_fold", "merge.after_replace", "merge.before_cleanup",
         "merge.before_commit", "merge.after_commit"]

# (point, n, staged). Every one of these is reached: six files pass the mover and loader points at least
# twice; `run --until-idle` merges once with rows and once more to find nothing (merge.after_stage:2).
SCENARIOS = ([(p, n, False) for p in MOVER + LOADER for n in (1, 2)]
             + [(p, 1, False) for p in MERGE]
             + [("merge.after_stage", 2, False)]
             + [(p, 1, True) for p in MERGE])
SELECTED = [p.strip() for p in os.environ.get("DIMSTREAM_CRASH_POINTS", "").split(",") if p.strip()]
for _p in SELECTED:
    if not any(point == _p or (_p.endswith(".") and point.startswith(_p)) for point in MOVER + LOADER + MERGE):
        raise SystemExit(f"DIMSTREAM_CRASH_POINTS: {_p!r} names no fault point")


def selected(point):
    return not SELECTED or any(point == p or (p.endswith(".") and point.startswith(p)) for p in SELECTED)


class CrashAndRestart(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = e2e.make_class_temp_dir(cls)
        # One generated stream, copied into every data directory (generated names carry the clock).
        gen = e2e.Dimstream(os.path.join(cls.tmp, "generated"))
        out = gen.run(*GENERATE).stdout
        assert f"{ROWS} rows" in out, out
        cls.files = [os.path.join(gen.landing, f) for f in e2e.visible_files(gen.landing)]
        assert len(cls.files) == ROWS // ROWS_PER_FILE, cls.files
        cls.names = [os.path.basename(f) for f in cls.files]

        ref = e2e.Dimstream(os.path.join(cls.tmp, "reference"))
        for f in cls.files:
            e2e.drop_file(f, ref.landing)
        # Moved and loaded first, to read the accepted records before the merge cleans them up.
        ref.run("move", "--until-idle")
        ref.run("load", "--until-idle")
        cls.raw = ref.sql("SELECT r.customer_id, " + ", ".join(e2e.ATTRS) + ", r.updated_at, r.op, r._line, "
                          "l.load_id FROM customer_raw r JOIN load_history l ON l.object_key = r._object_key "
                          "AND l.status = 'loaded'")
        ref.run("run", "--until-idle", "--quiet")
        cls.ref_ds = ref
        cls.ref = e2e.table_snapshot(ref)
        cls.ref_check = ref.check()

    # -----------------------------------------------------------------------------------------------------

    def test_reference_matches_fold(self):
        """The uninterrupted reference run equals the test's own fold of the records it loaded."""
        self.assertEqual(self.ref_check.returncode, 0, f"check failed:\n{self.ref_check.stdout}")
        self.assertGreater(len(self.raw), ROWS * 0.95)
        records = [e2e.Record(int(r["customer_id"]), e2e.parse_ts(r["updated_at"]),
                              (int(r["load_id"]), int(r["_line"])), e2e.normalize_op(r["op"]),
                              {c: r[c] for c in e2e.ATTRS}) for r in self.raw]
        self.assertGreater(sum(1 for r in records if r.op == "D"), 0, "the stream should hold deletes")
        expected = e2e.fold(records)
        e2e.assert_same_rows(self, expected, self.ref["history"], ("customer_id", "valid_from"),
                             "reference customer_history differs from the fold")
        e2e.assert_same_rows(self, e2e.current_of(expected), self.ref["current"], ("customer_id",),
                             "reference customer_current differs from the fold")
        # Deletes ended versions: some keys have no current version, and some were re-inserted later.
        keys = {v["customer_id"] for v in expected}
        current = {v["customer_id"] for v in expected if v["is_current"]}
        self.assertGreater(len(keys - current), 0)
        loads = self.ref["loads"]
        self.assertEqual([r["object_key"] for r in loads], self.names)
        self.assertEqual(sum(int(r["rows_loaded"]) + int(r["rows_rejected"]) for r in loads), ROWS)
        self.assertGreater(sum(int(r["rows_rejected"]) for r in loads), 0, "the stream should hold bad rows")
        self.assertEqual(sum(int(r["rows_rejected"]) for r in loads), len(self.ref["rejects"]))

    def test_generator_is_deterministic(self):
        """Same seed and flags: the same bytes (what makes the faulty and reference inputs comparable)."""
        again = e2e.Dimstream(os.path.join(self.tmp, "generated-again"))
        again.run(*GENERATE)
        files = [os.path.join(again.landing, f) for f in e2e.visible_files(again.landing)]
        self.assertEqual([e2e.sha256_file(f) for f in files], [e2e.sha256_file(f) for f in self.files])
        shutil.rmtree(again.data_dir, ignore_errors=True)

    def crash_scenario(self, point, n, staged):
        if not selected(point):
            self.skipTest(f"{point} is not in DIMSTREAM_CRASH_POINTS={','.join(SELECTED)}")
        ds = e2e.Dimstream(os.path.join(self.tmp, f"faulty-{point}-{n}{'-staged' if staged else ''}"))
        self.addCleanup(shutil.rmtree, ds.data_dir, True)
        first = self.files[:STAGED_FILES] if staged else []
        for f in first:
            e2e.drop_file(f, ds.landing)
        if first:
            ds.run("run", "--until-idle", "--quiet")
        before = e2e.read_history(ds) if first else []
        for f in self.files[len(first):]:
            e2e.drop_file(f, ds.landing)

        fault = f"{point}:{n}"
        p = ds.run("run", "--until-idle", "--quiet", env_extra={"DIMSTREAM_FAULT": fault}, check=False)
        self.assertEqual(p.returncode, -9, f"DIMSTREAM_FAULT={fault}: expected death by SIGKILL, got exit "
                                           f"{p.returncode}\nstdout:\n{e2e.tail(p.stdout)}\nstderr:\n{e2e.tail(p.stderr)}")

        # What the crash left is a committed state: consistent, and the dimension either before or after
        # the interrupted merge run, never part of it.
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check after the crash at {fault}:\n{c.stdout}\n{c.stderr}")
        after_crash = e2e.read_history(ds)
        self.assertTrue(after_crash == before or after_crash == self.ref["history"],
                        f"after the crash at {fault} the dimension is neither the state before the run "
                        f"({len(before)} versions) nor the complete one ({len(self.ref['history'])}); it has "
                        f"{len(after_crash)}:\n" + e2e.diff_rows(self.ref["history"], after_crash,
                                                                 ("customer_id", "valid_from")))

        # Restart without the fault until it finishes; one restart should do.
        attempts = []
        for _ in range(3):
            r = ds.run("run", "--until-idle", "--quiet", check=False)
            attempts.append(r)
            if r.returncode == 0:
                break
        self.assertEqual([a.returncode for a in attempts], [0],
                         f"restart after the crash at {fault}: exit codes {[a.returncode for a in attempts]}\n"
                         f"first restart stderr:\n{e2e.tail(attempts[0].stderr)}")

        got = e2e.table_snapshot(ds)
        e2e.assert_same_rows(self, self.ref["history"], got["history"], ("customer_id", "valid_from"),
                             f"customer_history after a crash at {fault} differs from the reference")
        e2e.assert_same_rows(self, self.ref["current"], got["current"], ("customer_id",),
                             f"customer_current after a crash at {fault} differs from the reference")
        e2e.assert_same_rows(self, self.ref["loads"], got["loads"], ("object_key",),
                             f"load_history after a crash at {fault} differs from the reference "
                             "(each object must be loaded exactly once)")
        e2e.assert_same_rows(self, self.ref["rejects"], got["rejects"], ("object_key", "line"),
                             f"customer_rejects after a crash at {fault} differs from the reference")
        self.assertEqual(sum(int(r["rows_loaded"]) + int(r["rows_rejected"]) for r in got["loads"]), ROWS)
        rows_loaded = sum(int(r["rows_loaded"]) for r in got["loads"])
        merged = int(ds.scalar("SELECT coalesce(sum(rows_in), 0) FROM task_history WHERE status = 'succeeded'"))
        self.assertEqual(merged, rows_loaded, f"after a crash at {fault}: rows merged by succeeded runs "
                                              f"should equal the rows loaded (each merged exactly once)")
        self.assertEqual(ds.count("customer_raw"), 0, "merged rows left in customer_raw")
        self.assertEqual(ds.count("customer_stage"), 0, "customer_stage not empty")
        self.assertEqual(e2e.visible_files(ds.landing), [], "files left in landing")
        self.assertEqual(e2e.visible_files(ds.bucket), self.names)
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check after the restart from {fault}:\n{c.stdout}\n{c.stderr}")


def _add_scenarios():
    for point, n, staged in SCENARIOS:
        name = f"test_{point.replace('.', '_')}_{n}{'_staged' if staged else ''}"

        def test(self, point=point, n=n, staged=staged):
            self.crash_scenario(point, n, staged)

        test.__doc__ = (f"SIGKILL the {n}{'st' if n == 1 else 'nd'} time through {point}"
                        f"{' (after {} files merged cleanly)'.format(STAGED_FILES) if staged else ''}, restart.")
        setattr(CrashAndRestart, name, test)


_add_scenarios()

if __name__ == "__main__":
    e2e.main()

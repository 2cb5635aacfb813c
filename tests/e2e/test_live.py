#!/usr/bin/env python3
"""End-to-end: `dimstream run` live (files dropped while it runs, queries through the running process, a
clean stop on SIGINT) and `run --generate --until-idle`.

    python3 tests/e2e/test_live.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import os
import signal
import unittest

import dimstream_e2e as e2e


class LiveRun(unittest.TestCase):

    def start(self, ds, log_dir, *extra):
        """Starts `run` and waits until it serves queries. Until then nothing else may touch the warehouse:
        a `dimstream sql` that opens the file itself while `run` starts makes `run` fail (see the report)."""
        proc = ds.popen("run", "--quiet", *extra, log_dir=log_dir)
        self.addCleanup(e2e.kill_if_running, proc)
        self.log_dir = log_dir

        def serving():
            self.assert_running(proc)
            return ds.started(log_dir)

        e2e.wait_for(serving, interval=0.2, what="`dimstream run` to start serving queries")
        e2e.wait_for(lambda: ds.run("sql", "SELECT 1", check=False).returncode == 0,
                     what="`dimstream sql` to answer while `run` holds the warehouse")
        return proc

    def logs(self):
        out = []
        for name in ("run.stdout", "run.stderr"):
            with open(os.path.join(self.log_dir, name), "rb") as f:
                out.append(f"{name}:\n" + e2e.tail(f.read().decode("utf-8", "replace")))
        return "\n".join(out)

    def assert_running(self, proc):
        if proc.poll() is not None:
            self.fail(f"`dimstream run` exited early with {proc.returncode}\n{self.logs()}")

    def test_live_samples_then_sigint(self):
        files = e2e.sample_files()
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        proc = self.start(ds, tmp)

        # The first file alone, then the other three together.
        e2e.drop_file(files[0], ds.landing)

        def merged_rows():
            self.assert_running(proc)
            return int(ds.scalar("SELECT coalesce(sum(rows_in), 0) FROM task_history WHERE status = 'succeeded'"))

        e2e.wait_for(lambda: merged_rows() >= 10000, what="the first file to be merged")
        self.assertGreater(ds.count("customer_current"), 0)

        for f in files[1:]:
            e2e.drop_file(f, ds.landing)
        e2e.wait_for(lambda: merged_rows() >= 40000 and ds.count("load_history") == 4,
                     what="all 40,000 rows to be merged")
        self.assertEqual(merged_rows(), 40000, "rows merged more than once")
        self.assertGreater(ds.count("customer_current"), 0)
        self.assertEqual(ds.count("customer_raw"), 0)

        # status works against the running process.
        st = ds.run("status", "--files", "--format", "csv")
        self.assertIn("4 objects", st.stdout)
        files_table = {r["object_key"]: r for r in ds.status_files()}
        self.assertEqual(sorted(files_table), sorted(os.path.basename(f) for f in files))
        self.assertTrue(all(r["rows_loaded"] == "10000" and r["rows_rejected"] == "0" for r in files_table.values()),
                        f"status --files: {files_table}")

        # The dimension equals the reference fold, whatever the merge runs' grouping was.
        history, _ = e2e.assert_dimension_is_fold(self, ds)

        # check works while run holds the warehouse, and after it has stopped.
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check (while running) failed:\n{c.stdout}\n{c.stderr}")
        rc = e2e.stop_process(proc, signal.SIGINT, deadline=120)
        self.assertEqual(rc, 0, f"`run` should exit 0 on SIGINT\n{self.logs()}")
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")
        # Everything survived the stop.
        self.assertEqual(ds.count("load_history"), 4)
        self.assertEqual(len(e2e.read_history(ds)), len(history))

    def test_sigint_while_generating(self):
        """A stop in the middle of a stream loses nothing: what was generated is loaded after a restart."""
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        proc = self.start(ds, tmp, "--generate", "--rows", "0", "--rate", "3000", "--rows-per-file", "500",
                          "--update-share", "0.3", "--event-time", "--delete-share", "0.05", "--seed", "11")

        def loaded_files():
            self.assert_running(proc)
            return ds.count("SELECT count(*) FROM load_history WHERE status = 'loaded'")

        e2e.wait_for(lambda: loaded_files() >= 3, what="three generated files to be loaded")
        rc = e2e.stop_process(proc, signal.SIGINT, deadline=120)
        self.assertEqual(rc, 0, f"`run --generate` should exit 0 on SIGINT\n{self.logs()}")

        # Finish whatever was left in landing or the bucket; then every generated row is accounted for.
        ds.run("run", "--until-idle", "--quiet")
        self.assertEqual(e2e.visible_files(ds.landing), [])
        objects = e2e.visible_files(ds.bucket)
        lh = ds.sql("SELECT object_key, rows_loaded, rows_rejected FROM load_history WHERE status = 'loaded'")
        self.assertEqual(sorted(r["object_key"] for r in lh), objects, "each object loaded exactly once")
        rows_in_files = 0
        for o in objects:
            with open(os.path.join(ds.bucket, o), newline="", encoding="utf-8") as f:
                rows_in_files += sum(1 for _ in e2e.csv.reader(f)) - 1
        self.assertEqual(sum(int(r["rows_loaded"]) + int(r["rows_rejected"]) for r in lh), rows_in_files)
        self.assertEqual(ds.count("customer_raw"), 0)
        self.assertEqual(int(ds.scalar("SELECT coalesce(sum(rows_in), 0) FROM task_history "
                                       "WHERE status = 'succeeded'")),
                         sum(int(r["rows_loaded"]) for r in lh))
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")

    def test_sigkill_while_running_then_restart(self):
        """Killed in the middle of the flow (SIGKILL, no clean-up), restarted: nothing lost or loaded twice."""
        files = e2e.sample_files()
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        proc = self.start(ds, tmp)
        for f in files:
            e2e.drop_file(f, ds.landing)

        def some_loaded():
            self.assert_running(proc)
            return ds.count("SELECT count(*) FROM load_history") >= 1

        e2e.wait_for(some_loaded, interval=0.1, what="a first file to be loaded")
        proc.kill()
        self.assertEqual(proc.wait(timeout=60), -9)

        ds.run("run", "--until-idle", "--quiet")
        self.assertEqual(e2e.visible_files(ds.landing), [])
        lh = ds.sql("SELECT object_key, status, rows_loaded FROM load_history ORDER BY object_key")
        self.assertEqual([(r["object_key"], r["status"], r["rows_loaded"]) for r in lh],
                         [(os.path.basename(f), "loaded", "10000") for f in files])
        self.assertEqual(ds.count("customer_raw"), 0)
        self.assertEqual(int(ds.scalar("SELECT sum(rows_in) FROM task_history WHERE status = 'succeeded'")), 40000)
        e2e.assert_dimension_is_fold(self, ds)
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")


class GenerateUntilIdle(unittest.TestCase):

    def test_run_generate_until_idle(self):
        ds = e2e.Dimstream(e2e.make_temp_dir(self))
        ds.run("run", "--generate", "--rows", "20000", "--rows-per-file", "5000", "--update-share", "0.3",
               "--until-idle", "--quiet")
        c = ds.check()
        self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")
        lh = ds.sql("SELECT object_key, status, rows_loaded, rows_rejected FROM load_history ORDER BY load_id")
        self.assertEqual(len(lh), 4, f"load_history: {lh}")
        self.assertEqual([(r["status"], r["rows_loaded"], r["rows_rejected"]) for r in lh],
                         [("loaded", "5000", "0")] * 4)
        self.assertEqual(e2e.visible_files(ds.landing), [])
        self.assertEqual(ds.count("customer_raw"), 0)
        self.assertEqual(ds.count("customer_stage"), 0)
        # 30% updates: fewer keys than rows, some keys with several versions.
        n_current = ds.count("customer_current")
        self.assertGreater(n_current, 10000)
        self.assertLess(n_current, 20000)
        self.assertGreater(ds.count("customer_history"), n_current)
        # And the dimension is the fold of exactly those files.
        e2e.assert_dimension_is_fold(self, ds, rows=20000)


if __name__ == "__main__":
    e2e.main()

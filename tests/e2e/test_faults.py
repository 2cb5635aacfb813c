#!/usr/bin/env python3
"""End-to-end: faults outside dimstream's control that need no special mount (test_disk.py has those).

- The DuckDB file locked by another process: a second `load`, `merge` or `run` while `run` holds it fails
  at once (warehouse.open_timeout_ms), naming the process that holds it, and changes nothing.
- An object deleted from the bucket after its move and before its load: nothing recorded, no error, and it
  loads once when it is put back. (Deleted between its notification and its load within one process:
  src/loader/tests/loader_run_test.cpp.)
- An object changed under the same key (SEMANTICS.md 3): new content is a new object and is loaded, the
  old content stays loaded; content already loaded under that key is not loaded again; and `run` never
  replaces an object whose content was not loaded yet (it waits), while a standalone `move` warns.

    python3 tests/e2e/test_faults.py --binary build/dimstream
"""

import hashlib
import os
import signal
import time
import unittest

import dimstream_e2e as e2e

HEADER = b"customer_id,first_name,last_name,email,street,city,state,country,updated_at\n"


def rows(*specs):
    """CSV bytes: a header and one row per (key, city, updated_at)."""
    out = HEADER
    for key, city, ts in specs:
        out += f"{key},F{key},L{key},e{key}@x.org,{key} Main St,{city},ST,US,{ts}\n".encode()
    return out


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write_atomically(path, data):
    """As an uploader replaces an object: a new file renamed over the key."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".up")
    with open(tmp, "wb") as f:
        f.write(data)
        os.fsync(f.fileno())
    os.rename(tmp, path)


class LockedWarehouse(unittest.TestCase):

    def test_second_writer_fails_at_once_names_the_holder_and_changes_nothing(self):
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        config = os.path.join(tmp, "short.toml")
        with open(config, "w") as f:
            f.write("[warehouse]\nopen_timeout_ms = 300\n")
        e2e.drop_file(None, ds.landing, name="a.csv", data=rows((1, "Oslo", "2025-01-01T00:00:00Z")))
        ds.run("run", "--until-idle", "--quiet")

        proc = ds.popen("run", "--quiet", log_dir=tmp)
        self.addCleanup(e2e.kill_if_running, proc)
        e2e.wait_for(lambda: proc.poll() is None and os.path.exists(e2e.query_socket_for(ds.warehouse))
                     and ds.run("sql", "SELECT 1", check=False).returncode == 0,
                     interval=0.1, what="`dimstream run` to serve queries")

        def state():
            return {t: ds.sql(f"SELECT * FROM {t} ORDER BY ALL")
                    for t in ("load_history", "customer_raw", "customer_history", "task_history",
                              "parameter_control")}

        before = state()
        for args in (("load", "--until-idle"), ("merge",), ("rebuild",), ("run", "--until-idle", "--quiet")):
            started = time.monotonic()
            p = ds.run("--config", config, *args, check=False)
            took = time.monotonic() - started
            what = f"`dimstream {' '.join(args)}` while `run` (PID {proc.pid}) holds the warehouse"
            self.assertEqual(p.returncode, 1, f"{what}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
            self.assertIn("lock", p.stderr, what)
            self.assertIn(f"PID {proc.pid}", p.stderr, f"{what}: the message should name the holder")
            self.assertIn("Another process holds the warehouse", p.stderr, what)
            self.assertIn("Nothing was changed", p.stderr, what)
            self.assertNotIn("Traceback", p.stderr)
            self.assertLess(took, 60, f"{what}: took {took:.1f} s with open_timeout_ms = 300")
        self.assertIsNone(proc.poll(), "the running process must not be disturbed")
        self.assertEqual(state(), before, "a command that could not open the warehouse changed it")

        rc = e2e.stop_process(proc, signal.SIGINT)
        self.assertEqual(rc, 0)
        self.assertEqual(state(), before)


class DeletedObject(unittest.TestCase):

    def test_object_deleted_before_its_load_is_skipped_then_loaded_once_when_back(self):
        ds = e2e.Dimstream(e2e.make_temp_dir(self))
        files = {f"f{i}.csv": rows((i, "Oslo", f"2025-01-0{i}T00:00:00Z")) for i in (1, 2, 3)}
        for name, data in files.items():
            e2e.drop_file(None, ds.landing, name=name, data=data)
        ds.run("move", "--until-idle")
        os.remove(os.path.join(ds.bucket, "f2.csv"))

        p = ds.run("run", "--until-idle", "--quiet")
        self.assertEqual(p.returncode, 0)
        lh = ds.sql("SELECT object_key, status FROM load_history ORDER BY object_key")
        self.assertEqual(lh, [{"object_key": "f1.csv", "status": "loaded"},
                              {"object_key": "f3.csv", "status": "loaded"}])
        self.assertEqual(ds.count("customer_current"), 2)

        e2e.drop_file(None, ds.landing, name="f2.csv", data=files["f2.csv"])
        ds.run("run", "--until-idle", "--quiet")
        ds.run("run", "--until-idle", "--quiet")
        lh = ds.sql("SELECT object_key, checksum FROM load_history ORDER BY object_key")
        self.assertEqual(lh, [{"object_key": k, "checksum": sha(v)} for k, v in sorted(files.items())])
        self.assertEqual(ds.count("customer_current"), 3)
        self.assertEqual(ds.check().returncode, 0)


class ChangedObject(unittest.TestCase):

    def setUp(self):
        self.ds = e2e.Dimstream(e2e.make_temp_dir(self))
        self.v1 = rows((1, "Oslo", "2025-01-01T00:00:00Z"), (2, "Rome", "2025-01-01T00:00:00Z"))
        self.v2 = rows((1, "Bern", "2025-02-01T00:00:00Z"), (2, "Rome", "2025-01-01T00:00:00Z"))
        self.assertEqual(len(self.v1), len(self.v2))

    def loads(self):
        return [(r["object_key"], r["checksum"]) for r in
                self.ds.sql("SELECT object_key, checksum FROM load_history ORDER BY load_id")]

    def cities(self, key):
        return [r["city"] for r in self.ds.sql(
            f"SELECT city FROM customer_history WHERE customer_id = {key} ORDER BY valid_from")]

    def test_replaced_in_the_bucket_new_content_loads_old_content_once(self):
        ds, v1, v2 = self.ds, self.v1, self.v2
        e2e.drop_file(None, ds.landing, name="c.csv", data=v1)
        ds.run("run", "--until-idle", "--quiet")
        obj = os.path.join(ds.bucket, "c.csv")

        # Replaced by an uploader (a new file renamed over the key): a new object, loaded; the old rows stay.
        write_atomically(obj, v2)
        ds.run("run", "--until-idle", "--quiet")
        self.assertEqual(self.loads(), [("c.csv", sha(v1)), ("c.csv", sha(v2))])
        self.assertEqual(self.cities(1), ["Oslo", "Bern"])
        self.assertEqual(self.cities(2), ["Rome"], "the unchanged row of the new content changes nothing")

        # Back to content already loaded under this key: the same object, not loaded again.
        write_atomically(obj, v1)
        ds.run("run", "--until-idle", "--quiet")
        self.assertEqual(len(self.loads()), 2)

        # Rewritten in place, same size, different content: new content, loaded.
        v3 = v2.replace(b"Bern", b"Graz")
        self.assertEqual(len(v3), len(v1))
        with open(obj, "r+b") as f:
            f.write(v3)
        ds.run("run", "--until-idle", "--quiet")
        self.assertEqual(self.loads(), [("c.csv", sha(v1)), ("c.csv", sha(v2)), ("c.csv", sha(v3))])
        self.assertEqual(ds.count("SELECT count(*) FROM task_history WHERE status = 'succeeded'"), 3)
        self.assertEqual(ds.check().returncode, 0)

    def test_run_never_replaces_content_that_was_not_loaded(self):
        ds, v1, v2 = self.ds, self.v1, self.v2
        # v1 reaches the bucket through a standalone move: nothing has loaded it yet. Objects listed before
        # it keep the loader busy, so that the mover is ready to put v2 long before v1's turn comes.
        backlog = [f"a{i:02}.csv" for i in range(40)]
        for i, name in enumerate(backlog):
            e2e.drop_file(None, ds.landing, name=name,
                          data=rows(*[(1000 + 300 * i + j, "Lima", "2024-06-01T00:00:00Z") for j in range(300)]))
        e2e.drop_file(None, ds.landing, name="c.csv", data=v1)
        ds.run("move", "--until-idle")
        # v2 lands under the same name; `run` must load v1 before v2 replaces it.
        e2e.drop_file(None, ds.landing, name="c.csv", data=v2)
        p = ds.run("run", "--until-idle", "--quiet", "--log-level", "info")
        self.assertEqual([l for l in self.loads() if l[0] == "c.csv"], [("c.csv", sha(v1)), ("c.csv", sha(v2))],
                         f"both contents must be loaded, in order\n{e2e.tail(p.stderr)}")
        self.assertEqual(len(self.loads()), len(backlog) + 2)
        self.assertEqual(self.cities(1), ["Oslo", "Bern"])
        self.assertEqual(e2e.visible_files(ds.landing), [])
        with open(os.path.join(ds.bucket, "c.csv"), "rb") as f:
            self.assertEqual(f.read(), v2)
        self.assertEqual(ds.check().returncode, 0)

    def test_standalone_move_warns_when_it_replaces_content(self):
        ds, v1, v2 = self.ds, self.v1, self.v2
        e2e.drop_file(None, ds.landing, name="c.csv", data=v1)
        ds.run("move", "--until-idle")
        e2e.drop_file(None, ds.landing, name="c.csv", data=v2)
        p = ds.run("move", "--until-idle")
        self.assertIn("replaces object c.csv", p.stderr)
        self.assertIn(sha(v1), p.stderr, "the warning names the content that may be lost")
        self.assertIn("never will be", p.stderr)
        # The same content again: nothing replaced, no warning.
        e2e.drop_file(None, ds.landing, name="c.csv", data=v2)
        p = ds.run("move", "--until-idle")
        self.assertNotIn("replaces object", p.stderr)


if __name__ == "__main__":
    e2e.main()

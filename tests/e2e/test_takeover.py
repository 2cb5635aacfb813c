#!/usr/bin/env python3
"""Several `merge --watch` processes on one PostgreSQL warehouse (a server of the test's own,
scripts/servers/postgres.sh), each with a data directory of its own, fed by a `move` and a `load` process
through a shared bucket directory. The process holding the merge lease merges; the other stands by. A
SIGKILL of the holder: the other takes over once the lease runs out (merge.lease_ms) and merges what arrives
next; PostgreSQL restarted under them all: they reconnect and go on; the killed one, restarted, stands by; a Ctrl-C of the holder hands the lease over at once. After it,
the dimension is the reference fold of the four sample files, `check` passes, and `status` lists every
process with its last heartbeat.

    python3 tests/e2e/test_takeover.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import os
import time
import unittest

import dimstream_e2e as e2e

LEASE_MS = 1500


class TakeoverTest(unittest.TestCase):
    def setUp(self):
        # A server of the test's own: it is restarted under the processes.
        self.postgres = e2e.PrivateServer(self, "postgres", "url")
        url = self.postgres.value
        self.dir = e2e.make_temp_dir(self)
        shared = os.path.join(self.dir, "shared")
        self.config = os.path.join(self.dir, "dimstream.toml")
        with open(self.config, "w") as f:
            f.write(f'landing_dir = "{shared}/landing"\nbucket_dir = "{shared}/bucket"\n'
                    f'[warehouse]\nurl = "{url}"\n'
                    f'[merge]\ninterval_ms = 200\nlease_ms = {LEASE_MS}\n'
                    '[loader]\nlist_interval_ms = 200\n')
        self.procs = {}

    def tearDown(self):
        for p, _ in self.procs.values():
            e2e.kill_if_running(p)

    def ds(self, name):
        return e2e.Dimstream(os.path.join(self.dir, name), config=self.config)

    def start(self, name, *args):
        ds = self.ds(name)
        log_dir = os.path.join(self.dir, "logs", name)
        os.makedirs(log_dir, exist_ok=True)
        proc = ds.popen(*args, log_dir=log_dir)
        self.procs[name] = (proc, log_dir)
        return proc

    def log(self, name):
        with open(os.path.join(self.procs[name][1], "run.stderr"), errors="replace") as f:
            return f.read()

    def holder(self, q):
        """The pid of the process holding the merge lease, or None."""
        rows = q.sql("SELECT holder FROM leases WHERE name = 'merge:customer' AND expires_at > now()")
        return int(rows[0]["holder"].split(":")[1]) if rows else None

    def merger_named(self, pid):
        for name, (p, _) in self.procs.items():
            if name.startswith("merge") and p.pid == pid and p.poll() is None:
                return name
        return None

    def drop_and_wait_merged(self, q, path, loads):
        """Drops one sample file into landing and waits until it is loaded and merged."""
        e2e.drop_file(path, os.path.join(self.dir, "shared", "landing"))
        e2e.wait_for(lambda: q.count("SELECT count(*) FROM load_history WHERE status = 'loaded'") == loads,
                     what=f"{os.path.basename(path)} to be loaded")
        e2e.wait_for(lambda: q.count("customer_raw") == 0, what=f"{os.path.basename(path)} to be merged")

    def test_the_standby_takes_over_after_a_kill_and_at_once_after_a_stop(self):
        files = e2e.sample_files()
        q = self.ds("query")
        self.start("move", "move")
        self.start("load", "load")
        self.start("merge-a", "merge", "--watch")
        first = e2e.wait_for(lambda: self.holder(q), what="merge-a to take the lease")
        self.assertEqual(self.merger_named(first), "merge-a")
        self.start("merge-b", "merge", "--watch")
        e2e.wait_for(lambda: q.count("SELECT count(*) FROM processes WHERE role = 'merge'") == 2,
                     what="both merge processes to beat")
        self.drop_and_wait_merged(q, files[0], 1)
        self.assertEqual(self.holder(q), first, "the lease moved while its holder was alive")
        self.assertNotRegex(self.log("merge-b"), r"customer: merged \d+ rows",
                            "the standby merged while the other held the lease")

        # SIGKILL of the holder: merge-b takes over once its lease runs out, then merges the next file.
        self.procs["merge-a"][0].kill()
        self.procs["merge-a"][0].wait()
        killed_at = time.monotonic()
        second = e2e.wait_for(lambda: self.holder(q) not in (None, first) and self.holder(q),
                              interval=0.1, what="merge-b to take the lease over")
        took = time.monotonic() - killed_at
        self.assertEqual(self.merger_named(second), "merge-b")
        self.assertRegex(self.log("merge-b"), r"took the lease merge:customer over from \S+:%d:" % first)
        print(f"takeover after SIGKILL: {took:.1f} s (lease {LEASE_MS} ms)")
        self.drop_and_wait_merged(q, files[1], 2)

        # PostgreSQL restarted under the loader and both merge processes: they reconnect, the lease stays
        # with its holder (or passes on if it ran out meanwhile), and the next file is merged.
        self.postgres.command("restart")
        self.drop_and_wait_merged(q, files[2], 3)
        e2e.wait_for(lambda: self.holder(q) == second, what="merge-b to keep the lease after the restart")

        # merge-a back: it stands by. Ctrl-C of merge-b: merge-a takes over at once (released, not run out).
        self.start("merge-a", "merge", "--watch")
        e2e.wait_for(lambda: "holds the lease merge:customer: standing by" in self.log("merge-a"),
                     what="the restarted merge-a to stand by")
        self.assertEqual(self.holder(q), second)
        stopped_at = time.monotonic()
        self.assertEqual(e2e.stop_process(self.procs["merge-b"][0]), 0, self.log("merge-b"))
        third = e2e.wait_for(lambda: self.holder(q) not in (None, second) and self.holder(q), interval=0.1,
                             what="merge-a to take the lease after merge-b stopped")
        print(f"takeover after a clean stop: {time.monotonic() - stopped_at:.1f} s")
        self.assertEqual(self.merger_named(third), "merge-a")
        self.drop_and_wait_merged(q, files[3], 4)

        # Every process in `status`; a stopped one says so in its last beat.
        status = q.run("status").stdout
        self.assertIn("processes", status)
        for role in ("load", "merge"):
            self.assertRegex(status, rf"\b{role}\b")
        beats = q.sql("SELECT process, role, detail FROM processes ORDER BY process")
        stopped = [b for b in beats if b["detail"] and b["detail"].startswith("stopped")]
        self.assertEqual([b["process"].split(":")[1] for b in stopped], [str(self.procs["merge-b"][0].pid)])
        checked = q.check()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        bucket = e2e.Dimstream(os.path.join(self.dir, "shared"), config=self.config)
        e2e.assert_dimension_is_fold(self, bucket)
        for name in ("merge-a", "load", "move"):
            self.assertEqual(e2e.stop_process(self.procs[name][0]), 0, self.log(name))


if __name__ == "__main__":
    e2e.main()

#!/usr/bin/env python3
"""End to end with the notifications on a real RabbitMQ (started for the run by the CTest fixture `rabbitmq`,
scripts/servers/rabbitmq.sh): `[queue] url = "amqp://..."`. With the loader's listing of the bucket made
rare, objects reach the loader only through the broker: from the mover of the same `run`, and from a `move`
process to a separate `load` process. A refused login stops the pipeline with a clear error that does not
hold the password.

    scripts/servers/rabbitmq.sh start /tmp/servers/rabbitmq
    DIMSTREAM_TEST_SERVERS=/tmp/servers python3 tests/e2e/test_rabbitmq.py --binary build/dimstream \\
        --samples ../shared/data/seed-sample
    scripts/servers/rabbitmq.sh stop /tmp/servers/rabbitmq
"""

import os
import signal
import unittest
import uuid

import dimstream_e2e as e2e

PASSWORD = "guest"  # the broker's own user (scripts/servers/rabbitmq.sh allows it from loopback)


def broker_url():
    return e2e.server_value("rabbitmq", "url")


class BrokerCase(unittest.TestCase):
    """A data directory whose configuration names a queue of its own on a broker (the fixture's by default)."""

    def broker_url_for_test(self):
        return broker_url()

    def setUp(self):
        self.url = self.broker_url_for_test()
        self.queue = f"e2e-{uuid.uuid4().hex[:12]}"
        self.dir = e2e.make_temp_dir(self)
        self.ds = e2e.Dimstream(os.path.join(self.dir, "data"))
        self.config = os.path.join(self.dir, "dimstream.toml")
        # The loader lists the bucket when it starts and then once a day: what it loads later, it heard of
        # from the broker.
        with open(self.config, "w") as f:
            f.write(f'[queue]\nurl = "{self.url}"\nqueue = "{self.queue}"\nuser = "amqp_user"\n'
                    'password = "amqp_password"\n'
                    '[loader]\nlist_interval_ms = 86400000\n'
                    '[secrets]\namqp_user = { env = "E2E_AMQP_USER" }\n'
                    'amqp_password = { env = "E2E_AMQP_PASSWORD" }\n')
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            e2e.kill_if_running(p)

    def env(self, password=PASSWORD):
        return {"E2E_AMQP_USER": "guest", "E2E_AMQP_PASSWORD": password}

    def run_ds(self, *args, password=PASSWORD, check=True):
        return self.ds.run("--config", self.config, *args, env_extra=self.env(password), check=check)

    def start(self, name, *args):
        log_dir = os.path.join(self.dir, name)
        os.makedirs(log_dir)
        p = self.ds.popen("--config", self.config, *args, log_dir=log_dir, env_extra=self.env())
        self.procs.append(p)
        return p, log_dir

    def serving(self, proc, log_dir):
        e2e.wait_serving(self.ds, proc, log_dir)

    def queue_status(self):
        lines = [l for l in self.run_ds("status").stdout.splitlines() if l.startswith("queue ")]
        self.assertEqual(len(lines), 1, lines)
        return lines[0]


class RabbitMqQueueTest(BrokerCase):
    def test_run_hears_of_new_objects_through_the_broker(self):
        proc, log_dir = self.start("run", "run", "--quiet")
        self.serving(proc, log_dir)
        files = e2e.sample_files()
        for f in files:
            e2e.drop_file(f, self.ds.landing)
        e2e.wait_for(lambda: self.ds.count("load_history") == 4 and self.ds.count(
            "SELECT count(*) FROM task_history WHERE rows_in > 0") > 0, what="the four files to be loaded")
        e2e.wait_for(lambda: self.ds.count("SELECT coalesce(sum(rows_in), 0) FROM task_history") >= 40000,
                     what="the four files to be merged")
        self.assertEqual(e2e.stop_process(proc, signal.SIGINT), 0)
        self.assertIn(f"{self.queue}: 0 waiting, 0 dead-lettered", self.queue_status())
        self.assertEqual(self.ds.check().returncode, 0)
        e2e.assert_dimension_is_fold(self, self.ds, rows=40000)

    def test_move_and_load_as_processes_of_their_own(self):
        loader, log_dir = self.start("load", "load")
        self.serving(loader, log_dir)  # started, and its listing of the empty bucket done
        files = e2e.sample_files()
        for f in files[:2]:
            e2e.drop_file(f, self.ds.landing)
        self.assertIn("move: 2 files (", self.run_ds("move", "--until-idle").stdout)
        e2e.wait_for(lambda: self.ds.count("load_history") == 2, what="two objects loaded from notifications")
        for f in files[2:]:
            e2e.drop_file(f, self.ds.landing)
        self.run_ds("move", "--until-idle")
        e2e.wait_for(lambda: self.ds.count("load_history") == 4, what="four objects loaded from notifications")
        self.assertEqual(e2e.stop_process(loader, signal.SIGINT), 0)
        with open(os.path.join(log_dir, "run.stdout")) as f:
            self.assertIn("load: 4 objects loaded (40000 rows", f.read())
        self.assertIn(f"{self.queue}: 0 waiting, 0 dead-lettered", self.queue_status())
        self.run_ds("merge")
        self.assertEqual(self.ds.check().returncode, 0)
        e2e.assert_dimension_is_fold(self, self.ds, rows=40000)

    def test_a_refused_login_stops_with_a_clear_error_and_no_password(self):
        e2e.drop_file(e2e.sample_files()[0], self.ds.landing)
        p = self.run_ds("run", "--until-idle", password="not-the-password-9f2", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ACCESS_REFUSED", p.stderr)
        self.assertNotIn("not-the-password-9f2", p.stdout + p.stderr)
        self.assertEqual(e2e.visible_files(self.ds.landing), [os.path.basename(e2e.sample_files()[0])])


class BrokerRestartTest(BrokerCase):
    """The broker restarted under a running pipeline: publishes fail and are retried, the loader reconnects,
    and every file is loaded once. The loader lists the bucket only when it starts: nothing is made up for by
    the listing."""

    def setUp(self):
        self.broker = e2e.PrivateServer(self, "rabbitmq", "url")
        super().setUp()

    def broker_url_for_test(self):
        return self.broker.value

    def test_a_broker_restart_under_run_loses_nothing(self):
        proc, log_dir = self.start("run", "run", "--quiet")
        self.serving(proc, log_dir)
        files = e2e.sample_files()
        for f in files[:2]:
            e2e.drop_file(f, self.ds.landing)
        e2e.wait_for(lambda: self.ds.count("load_history") == 2, what="two files loaded before the restart")
        self.broker.command("stop")
        # Files that arrive while the broker is away stay in landing until it is back.
        for f in files[2:]:
            e2e.drop_file(f, self.ds.landing)
        self.broker.command("restart")
        e2e.wait_for(lambda: self.ds.count("load_history") == 4, what="the other two files after the restart")
        e2e.wait_for(lambda: self.ds.count("SELECT coalesce(sum(rows_in), 0) FROM task_history") >= 40000,
                     what="the four files to be merged")
        self.assertEqual(e2e.stop_process(proc, signal.SIGINT), 0)
        with open(os.path.join(log_dir, "run.stderr")) as f:
            log = f.read()
        self.assertIn("cannot publish the notification of", log)  # the broker was away, and that was seen
        self.assertEqual(e2e.visible_files(self.ds.landing), [])
        self.assertEqual(self.ds.count("SELECT count(DISTINCT object_key) FROM load_history"), 4)
        self.assertIn(f"{self.queue}: 0 waiting, 0 dead-lettered", self.queue_status())
        self.assertEqual(self.ds.check().returncode, 0)
        e2e.assert_dimension_is_fold(self, self.ds, rows=40000)


if __name__ == "__main__":
    e2e.main()

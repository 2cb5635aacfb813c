#!/usr/bin/env python3
"""End to end with the seed's S3 -> SQS path on real servers: the bucket on Ceph's radosgw notifies RabbitMQ
of each new object itself (`queue.notified_by = "bucket"`), and a `load` process that lists the bucket only
when it starts loads what the notifications name. Both servers are started for the run by the CTest fixtures
`rgw` and `rabbitmq` (scripts/servers/).

    scripts/servers/rgw.sh start /tmp/servers/rgw; scripts/servers/rabbitmq.sh start /tmp/servers/rabbitmq
    DIMSTREAM_TEST_SERVERS=/tmp/servers python3 tests/e2e/test_bucket_notifications.py \\
        --binary build/dimstream --samples ../shared/data/seed-sample
"""

import os
import signal
import unittest
import uuid

import dimstream_e2e as e2e
import test_rabbitmq
import test_s3


class BucketNotificationTest(unittest.TestCase):
    def setUp(self):
        self.endpoint = test_s3.endpoint()
        self.broker = test_rabbitmq.broker_url()
        self.bucket = f"dimstream-e2e-{uuid.uuid4().hex[:12]}"
        self.queue = f"e2e-{uuid.uuid4().hex[:12]}"
        status, body = test_s3.s3("PUT", f"{self.endpoint}/{self.bucket}")
        self.assertEqual(status, 200, body)
        self.dir = e2e.make_temp_dir(self)
        self.ds = e2e.Dimstream(os.path.join(self.dir, "data"))
        self.config = os.path.join(self.dir, "dimstream.toml")
        with open(self.config, "w") as f:
            f.write(f'[object_store]\nurl = "s3://{self.bucket}/incoming/"\nendpoint = "{self.endpoint}"\n'
                    'access_key = "s3_access"\nsecret_key = "s3_secret"\n'
                    f'[queue]\nurl = "{self.broker}"\nqueue = "{self.queue}"\nnotified_by = "bucket"\n'
                    '[loader]\nlist_interval_ms = 86400000\n'
                    '[secrets]\ns3_access = { env = "E2E_S3_ACCESS" }\ns3_secret = { env = "E2E_S3_SECRET" }\n')
        self.env = {"E2E_S3_ACCESS": test_s3.ACCESS_KEY, "E2E_S3_SECRET": test_s3.SECRET_KEY}
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            e2e.kill_if_running(p)

    def run_ds(self, *args, check=True):
        return self.ds.run("--config", self.config, *args, env_extra=self.env, check=check)

    def test_the_bucket_notifies_the_loader_of_each_new_object(self):
        log_dir = os.path.join(self.dir, "load")
        os.makedirs(log_dir)
        loader = self.ds.popen("--config", self.config, "load", log_dir=log_dir, env_extra=self.env)
        self.procs.append(loader)

        e2e.wait_serving(self.ds, loader, log_dir)  # started, its listing of the empty bucket under way

        files = e2e.sample_files()
        for f in files:
            e2e.drop_file(f, self.ds.landing)
        moved = self.run_ds("move", "--until-idle")
        self.assertIn("move: 4 files (", moved.stdout)
        self.assertIn(f"notifies new objects to the queue {self.queue} through the exchange dimstream",
                      moved.stderr)
        e2e.wait_for(lambda: self.ds.count("load_history") == 4, what="four objects loaded from the bucket's "
                     "notifications")
        self.assertEqual(e2e.stop_process(loader, signal.SIGINT), 0)
        with open(os.path.join(log_dir, "run.stdout")) as f:
            self.assertIn("load: 4 objects loaded (40000 rows", f.read())
        status = self.run_ds("status").stdout
        self.assertIn(f"queue {self.queue}: 0 waiting, 0 dead-lettered", status)
        self.run_ds("merge")
        self.assertEqual(self.ds.check().returncode, 0)


if __name__ == "__main__":
    e2e.main()

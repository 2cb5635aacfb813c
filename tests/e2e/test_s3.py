#!/usr/bin/env python3
"""End to end with the bucket on a real S3 server (Ceph's radosgw, started for the run by the CTest fixture
`rgw`, scripts/servers/rgw.sh): `[object_store] url = "s3://..."` with its credentials from [secrets]. The
dimension built through S3 is the one built through the local bucket from the same files; the mover and the
loader run as separate commands; wrong credentials stop the pipeline with a clear error and lose nothing.

    scripts/servers/rgw.sh start /tmp/servers/rgw
    DIMSTREAM_TEST_SERVERS=/tmp/servers python3 tests/e2e/test_s3.py --binary build/dimstream \\
        --samples ../shared/data/seed-sample
    scripts/servers/rgw.sh stop /tmp/servers/rgw
"""

import os
import signal
import subprocess
import types
import unittest
import uuid
import xml.etree.ElementTree as ET

import dimstream_e2e as e2e

ACCESS_KEY = "AKDIM"  # the user scripts/servers/rgw.sh creates
SECRET_KEY = "SKDIMSECRET"


def endpoint():
    return e2e.server_value("rgw", "endpoint")


def s3(method, url):
    """One signed request with curl (SigV4), independent of dimstream's own S3 client."""
    p = subprocess.run(["curl", "-s", "-S", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
                        "--user", f"{ACCESS_KEY}:{SECRET_KEY}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                        "-X", method, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=True)
    body, _, status = p.stdout.decode().rpartition("\n")
    return int(status), body


class BucketCase(unittest.TestCase):
    """A data directory whose configuration names a bucket of its own on radosgw (the fixture's by default)."""

    def endpoint_for_test(self):
        return endpoint()

    def setUp(self):
        self.endpoint = self.endpoint_for_test()
        self.bucket = f"dimstream-e2e-{uuid.uuid4().hex[:12]}"
        status, body = s3("PUT", f"{self.endpoint}/{self.bucket}")
        self.assertEqual(status, 200, body)
        self.dir = e2e.make_temp_dir(self)
        self.ds = e2e.Dimstream(os.path.join(self.dir, "data"))
        self.config = os.path.join(self.dir, "dimstream.toml")
        self.write_config()

    def write_config(self, prefix="incoming/", endpoint=None, ca_file=None):
        with open(self.config, "w") as f:
            ca = f'ca_file = "{ca_file}"\n' if ca_file else ""
            f.write(f'[object_store]\nurl = "s3://{self.bucket}/{prefix}"\nendpoint = "{endpoint or self.endpoint}"\n'
                    f'{ca}region = "us-east-1"\npath_style = true\naccess_key = "s3_access"\n'
                    'secret_key = "s3_secret"\n'
                    '[secrets]\ns3_access = { env = "E2E_S3_ACCESS" }\ns3_secret = { env = "E2E_S3_SECRET" }\n')

    def run_ds(self, *args, secret=SECRET_KEY, check=True):
        env = {"E2E_S3_ACCESS": ACCESS_KEY, "E2E_S3_SECRET": secret}
        return self.ds.run("--config", self.config, *args, env_extra=env, check=check)

    def objects(self):
        """Key -> size of every object in the bucket, listed by curl."""
        status, body = s3("GET", f"{self.endpoint}/{self.bucket}?list-type=2")
        self.assertEqual(status, 200, body)
        ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
        root = ET.fromstring(body)
        return {c.find("s3:Key", ns).text: int(c.find("s3:Size", ns).text) for c in root.findall("s3:Contents", ns)}

    def assert_dimension_is_fold_of_the_bucket(self):
        """The dimension is the reference fold of the objects as the bucket holds them (downloaded by curl)."""
        downloaded = os.path.join(self.dir, "downloaded")
        os.makedirs(downloaded)
        for key in self.objects():
            status, body = s3("GET", f"{self.endpoint}/{self.bucket}/{key}")
            self.assertEqual(status, 200)
            with open(os.path.join(downloaded, key.removeprefix("incoming/")), "w", newline="") as f:
                f.write(body)
        e2e.assert_dimension_is_fold(self, types.SimpleNamespace(sql=self.ds.sql, bucket=downloaded), rows=40000)


class S3BucketTest(BucketCase):
    def test_run_through_s3_builds_the_same_dimension_as_the_local_bucket(self):
        files = e2e.sample_files()
        for f in files:
            e2e.drop_file(f, self.ds.landing)
        out = self.run_ds("run", "--until-idle").stdout
        self.assertIn("4 files moved, 4 objects loaded (40000 rows", out)
        self.assertEqual(e2e.visible_files(self.ds.landing), [])
        self.assertEqual(self.objects(), {f"incoming/{os.path.basename(f)}": os.path.getsize(f) for f in files})
        check = self.run_ds("check", check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        status = self.run_ds("status").stdout
        self.assertIn(f"s3://{self.bucket}/incoming/ ({self.endpoint}): 4 objects", status)
        self.assertNotIn(SECRET_KEY, status)

        local = e2e.Dimstream(os.path.join(self.dir, "local"))
        for f in files:
            e2e.drop_file(f, local.landing)
        local.run("run", "--until-idle")
        # Without an updated_at column a file's sequence is its load time, so the two dimensions differ in
        # their times: the loads and rejects must be the same, and each dimension the fold of its files.
        ours, theirs = e2e.table_snapshot(self.ds), e2e.table_snapshot(local)
        for part in ("loads", "rejects"):
            self.assertTrue(ours[part] == theirs[part], f"{part} differ from the local bucket's run")
        self.assertEqual(len(ours["history"]), len(theirs["history"]))
        self.assert_dimension_is_fold_of_the_bucket()

    def test_mover_and_loader_as_separate_commands(self):
        files = e2e.sample_files()
        for f in files[:2]:
            e2e.drop_file(f, self.ds.landing)
        self.assertIn("move: 2 files (", self.run_ds("move", "--until-idle").stdout)
        self.assertEqual(len(self.objects()), 2)
        # The loader finds the objects by listing the bucket: `move` alone notifies no one.
        self.assertIn("2 objects loaded (20000 rows", self.run_ds("load", "--until-idle").stdout)
        for f in files[2:]:
            e2e.drop_file(f, self.ds.landing)
        self.run_ds("move", "--until-idle")
        self.assertIn("2 objects loaded (20000 rows", self.run_ds("load", "--until-idle").stdout)
        # Every object once: listing again loads nothing.
        self.assertIn("0 objects loaded", self.run_ds("load", "--until-idle").stdout)
        self.run_ds("merge")
        check = self.run_ds("check", check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assert_dimension_is_fold_of_the_bucket()

    def test_wrong_credentials_stop_with_a_clear_error_and_lose_nothing(self):
        e2e.drop_file(e2e.sample_files()[0], self.ds.landing)
        p = self.run_ds("run", "--until-idle", secret="not-the-secret", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("SignatureDoesNotMatch (check the access key and secret key", p.stderr)
        self.assertNotIn("not-the-secret", p.stdout + p.stderr)
        self.assertEqual(e2e.visible_files(self.ds.landing), [os.path.basename(e2e.sample_files()[0])])
        self.assertEqual(self.objects(), {})
        # With the right secret the same file goes through.
        self.assertIn("1 file moved, 1 object loaded (10000 rows", self.run_ds("run", "--until-idle").stdout)

    def test_a_missing_bucket_is_named(self):
        self.bucket = f"dimstream-e2e-absent-{uuid.uuid4().hex[:8]}"
        self.write_config()
        e2e.drop_file(e2e.sample_files()[0], self.ds.landing)
        p = self.run_ds("run", "--until-idle", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NoSuchBucket", p.stderr)
        self.assertEqual(len(e2e.visible_files(self.ds.landing)), 1)


class S3TlsTest(BucketCase):
    """The same bucket through radosgw's TLS listener (a self-signed certificate for 127.0.0.1): with
    object_store.ca_file naming the test CA the pipeline runs; with the system's authorities it stops at once
    saying the certificate did not verify, and the file stays in landing."""

    def test_https_with_the_ca_file_and_without(self):
        https = e2e.server_value("rgw", "https_endpoint")
        ca = os.path.join(os.environ["DIMSTREAM_TEST_SERVERS"], "rgw", "ca.crt")
        first = e2e.sample_files()[0]
        e2e.drop_file(first, self.ds.landing)
        self.write_config(endpoint=https)
        p = self.run_ds("run", "--until-idle", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("did not verify against the system's authorities", p.stderr)
        self.assertEqual(e2e.visible_files(self.ds.landing), [os.path.basename(first)])
        self.assertEqual(self.objects(), {})
        self.write_config(endpoint=https, ca_file=ca)
        self.assertIn("1 file moved, 1 object loaded (10000 rows", self.run_ds("run", "--until-idle").stdout)
        self.assertEqual(self.objects(), {f"incoming/{os.path.basename(first)}": os.path.getsize(first)})
        self.assertIn(f"s3://{self.bucket}/incoming/ ({https}): 1 objects", self.run_ds("status").stdout)


class RadosgwRestartTest(BucketCase):
    """radosgw stopped and started again under a live `run` (a radosgw of the test's own; its data stays
    with the OSD): puts and listings fail meanwhile and are retried, and every file is loaded once."""

    def endpoint_for_test(self):
        self.rgw = e2e.PrivateServer(self, "rgw", "endpoint")
        return self.rgw.value

    def test_a_radosgw_restart_under_run_loses_nothing(self):
        log_dir = os.path.join(self.dir, "run")
        os.makedirs(log_dir)
        env = {"E2E_S3_ACCESS": ACCESS_KEY, "E2E_S3_SECRET": SECRET_KEY}
        proc = self.ds.popen("--config", self.config, "run", "--quiet", log_dir=log_dir, env_extra=env)
        self.addCleanup(e2e.kill_if_running, proc)
        def count():
            out = self.run_ds("sql", "--format", "csv", "SELECT count(*) FROM load_history").stdout
            return int(out.splitlines()[1])
        e2e.wait_serving(self.ds, proc, log_dir)
        files = e2e.sample_files()
        for f in files[:2]:
            e2e.drop_file(f, self.ds.landing)
        e2e.wait_for(lambda: count() == 2, what="two files loaded before the restart")
        self.rgw.command("stop-rgw")
        for f in files[2:]:  # they wait in landing while the bucket is away
            e2e.drop_file(f, self.ds.landing)
        e2e.wait_for(lambda: len(e2e.visible_files(self.ds.landing)) == 2, what="the files to wait in landing")
        self.rgw.command("restart-rgw")
        e2e.wait_for(lambda: count() == 4, what="the other two files after the restart")
        self.assertEqual(e2e.stop_process(proc, signal.SIGINT), 0)
        self.assertEqual(e2e.visible_files(self.ds.landing), [])
        self.assertEqual(self.objects(), {f"incoming/{os.path.basename(f)}": os.path.getsize(f) for f in files})
        self.run_ds("merge")
        check = self.run_ds("check", check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assert_dimension_is_fold_of_the_bucket()


if __name__ == "__main__":
    e2e.main()

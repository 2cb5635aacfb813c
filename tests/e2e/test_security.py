#!/usr/bin/env python3
"""End-to-end security: credentials ([secrets] in the configuration) come from the environment or a private
file, never from the configuration itself, and their values never appear in logs, errors or `status`; the
query socket of a running process is private to its user. (Hostile names in the configuration:
test_entity.py; object keys that would escape the bucket: src/object_store/tests.)

    python3 tests/e2e/test_security.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import os
import signal
import stat
import unittest

import dimstream_e2e as e2e

TOKEN = "tok-e2e-5f3a9b71"


class SecretsTest(unittest.TestCase):
    def setUp(self):
        self.dir = e2e.make_temp_dir(self)
        self.ds = e2e.Dimstream(os.path.join(self.dir, "data"))
        self.config = os.path.join(self.dir, "dimstream.toml")

    def write_config(self, secrets, landing=None):
        with open(self.config, "w") as f:
            if landing:
                f.write(f'landing_dir = "{landing}"\n')
            f.write("[secrets]\n" + secrets)

    def run_ds(self, *args, env=None, check=True):
        return self.ds.run("--config", self.config, *args, env_extra=env, check=check)

    def test_values_never_shown_in_logs_errors_or_status(self):
        # The landing directory's name holds the credential, so that log lines and `status` quote it.
        landing = os.path.join(self.dir, f"landing-{TOKEN}")
        self.write_config('token = { env = "DIMSTREAM_E2E_TOKEN" }\n', landing=landing)
        env = {"DIMSTREAM_E2E_TOKEN": TOKEN}
        os.makedirs(landing)
        e2e.drop_file(e2e.sample_files()[0], landing)

        outputs = []
        run = self.run_ds("--log-level", "debug", "run", "--until-idle", env=env)
        self.assertIn(f"landing-*** to", run.stderr, "the mover's log line names the landing directory")
        outputs += [run.stdout, run.stderr]
        status = self.run_ds("status", "--files", env=env)
        self.assertIn("landing-***", status.stdout)
        self.assertIn("10000", status.stdout)
        outputs += [status.stdout, status.stderr]
        bad = self.run_ds("sql", f"SELECT * FROM nothing_{TOKEN}", env=env, check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("nothing_***", bad.stderr)
        outputs += [bad.stdout, bad.stderr]
        for text in outputs:
            self.assertNotIn(TOKEN, text)
        # The user's own query results are data, not messages: shown as they are.
        self.assertIn(TOKEN, self.run_ds("sql", f"SELECT '{TOKEN}' AS v", env=env).stdout)

    def test_unset_variable_stops_every_command_by_name(self):
        self.write_config('token = { env = "DIMSTREAM_E2E_UNSET" }\n')
        for args in (("status",), ("run", "--until-idle"), ("sql", "SELECT 1")):
            p = self.run_ds(*args, env={"DIMSTREAM_E2E_UNSET": ""}, check=False)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("secrets.token", p.stderr)
            self.assertIn("DIMSTREAM_E2E_UNSET", p.stderr)

    def test_file_must_be_private(self):
        path = os.path.join(self.dir, "token")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        self.write_config(f'token = {{ file = "{path}" }}\n')
        os.chmod(path, 0o644)
        p = self.run_ds("status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"chmod 600 {path}", p.stderr)
        self.assertNotIn(TOKEN, p.stderr)
        os.chmod(path, 0o600)
        self.run_ds("status")

    def test_value_in_the_configuration_is_refused_unrepeated(self):
        for secrets in (f'token = "{TOKEN}"\n', f'token = {{ value = "{TOKEN}" }}\n'):
            self.write_config(secrets)
            p = self.run_ds("status", check=False)
            self.assertEqual(p.returncode, 1, secrets)
            self.assertIn("secrets.token", p.stderr)
            self.assertIn("env", p.stderr)
            self.assertNotIn(TOKEN, p.stderr)


class QuerySocketTest(unittest.TestCase):
    def test_only_its_user_may_reach_the_socket(self):
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        proc = ds.popen("run", log_dir=tmp)
        self.addCleanup(e2e.kill_if_running, proc)
        sock = e2e.query_socket_for(ds.warehouse)
        e2e.wait_for(lambda: os.path.exists(sock), interval=0.1, what="the query socket")
        st = os.lstat(sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, oct(st.st_mode))
        self.assertEqual(st.st_uid, os.getuid())
        d = os.lstat(os.path.dirname(sock))
        self.assertTrue(stat.S_ISDIR(d.st_mode), "a real directory, not a link")
        self.assertEqual(stat.S_IMODE(d.st_mode), 0o700, oct(d.st_mode))
        self.assertEqual(d.st_uid, os.getuid())
        self.assertEqual(ds.scalar("SELECT 41 + 1"), "42", "served through the socket while `run` holds the file")
        self.assertEqual(e2e.stop_process(proc, signal.SIGINT), 0)
        self.assertFalse(os.path.exists(sock), "removed at a clean stop")


if __name__ == "__main__":
    e2e.main()

#!/usr/bin/env python3
"""End-to-end: what an operator runs around the pipeline: `init` (a commented configuration and the folders),
`config --check` (validation that touches nothing), `--log-format json`.

    python3 tests/e2e/test_operate.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import json
import os
import subprocess
import unittest

import dimstream_e2e as e2e


def dimstream(*args, cwd=None, env=None):
    p = subprocess.run([e2e.OPTIONS.binary, *args], cwd=cwd, env=env, capture_output=True, timeout=600)
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    return p


class Operate(unittest.TestCase):

    def test_init_writes_a_configuration_that_checks_and_runs(self):
        tmp = e2e.make_temp_dir(self)
        data = os.path.join(tmp, "data")
        p = dimstream("--data-dir", data, "init", cwd=tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        config = os.path.join(tmp, "dimstream.toml")
        self.assertTrue(os.path.isdir(os.path.join(data, "landing")))
        self.assertTrue(os.path.isdir(os.path.join(data, "bucket")))
        with open(config, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("# Log level", text)  # commented: every key with its description
        self.assertIn("[entity]", text)
        checked = dimstream("config", "--check", config)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("valid", checked.stdout)
        self.assertIn("customer", checked.stdout)

        # It does not overwrite what an operator edited, unless told to.
        again = dimstream("--data-dir", data, "init", cwd=tmp)
        self.assertEqual(again.returncode, 1)
        self.assertIn("--force", again.stderr)
        self.assertEqual(dimstream("--data-dir", data, "init", "--force", cwd=tmp).returncode, 0)

        # The configuration it wrote runs the pipeline on the sample files.
        for f in e2e.sample_files():
            e2e.drop_file(f, os.path.join(data, "landing"))
        ds = e2e.Dimstream(data, config=config)
        ds.run("run", "--until-idle")
        self.assertEqual(ds.count("load_history"), len(e2e.sample_files()))
        self.assertGreater(ds.count("customer_current"), 0)

    def test_init_declares_the_entities_named(self):
        tmp = e2e.make_temp_dir(self)
        p = dimstream("--data-dir", os.path.join(tmp, "data"), "init", "--file", "two.toml", "--entity", "product",
                      "--entity", "supplier", cwd=tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        checked = dimstream("config", "--check", os.path.join(tmp, "two.toml"))
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("product (files product_*)", checked.stdout)
        self.assertIn("supplier (files supplier_*)", checked.stdout)
        bad = dimstream("init", "--file", "x.toml", "--entity", "Not-A-Name", cwd=tmp)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("Not-A-Name", bad.stderr)
        self.assertFalse(os.path.exists(os.path.join(tmp, "x.toml")))

    def test_config_check_names_what_is_wrong_and_touches_nothing(self):
        tmp = e2e.make_temp_dir(self)
        cases = {
            "a wrong value": ('[merge]\ninterval_ms = -5\n', "merge.interval_ms"),
            "an unknown key": ('[merge]\nintervall_ms = 5\n', "intervall_ms"),
            "a syntax error": ('[merge\n', "bad.toml"),
            "a secret not declared": ('[warehouse]\nurl = "postgresql://u@127.0.0.1:1/db"\npassword = "pw"\n',
                                      "pw"),
            "an unset variable": ('[http]\nlisten = "0.0.0.0:7470"\ntoken = "t"\n[secrets]\nt = { env = '
                                  '"DIMSTREAM_TEST_UNSET_TOKEN" }\n', "DIMSTREAM_TEST_UNSET_TOKEN"),
            "an open port without a token": ('[http]\nlisten = "0.0.0.0:7470"\n', "http.token"),
        }
        env = dict(os.environ)
        env.pop("DIMSTREAM_TEST_UNSET_TOKEN", None)
        for what, (text, named) in cases.items():
            path = os.path.join(tmp, "bad.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            p = dimstream("config", "--check", path, cwd=tmp, env=env)
            self.assertEqual(p.returncode, 1, f"{what}: {p.stdout}")
            self.assertIn(named, p.stderr, what)
        good = os.path.join(tmp, "good.toml")
        with open(good, "w", encoding="utf-8") as f:
            f.write('[warehouse]\nurl = "postgresql://u@127.0.0.1:1/db"\n[object_store]\nurl = "s3://dimstream-bucket/p/"\n'
                    'endpoint = "http://127.0.0.1:1"\naccess_key = "a"\nsecret_key = "s"\n'
                    '[secrets]\na = { env = "DS_A" }\ns = { env = "DS_S" }\n')
        p = dimstream("config", "--check", good, cwd=tmp, env=dict(env, DS_A="x", DS_S="y"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("postgresql://u@127.0.0.1:1/db", p.stdout)
        self.assertEqual(sorted(os.listdir(tmp)), ["bad.toml", "good.toml"], "config --check made files")

    def test_json_logs_are_one_object_a_line(self):
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        for f in e2e.sample_files()[:2]:
            e2e.drop_file(f, ds.landing)
        p = ds.run("--log-format", "json", "--log-level", "info", "run", "--until-idle")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertGreater(len(lines), 2, p.stderr)
        for line in lines:
            entry = json.loads(line)
            self.assertEqual(list(entry), ["time", "level", "message"], line)
            self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
            self.assertIn(entry["level"], ("trace", "debug", "info", "warning", "error", "critical"))
        self.assertTrue(any("merged" in json.loads(l)["message"] for l in lines), p.stderr)

    def test_a_long_command_shows_its_progress_on_a_terminal(self):
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        ds.run("generate", "--rows", "600000", "--rows-per-file", "600000", "--no-progress")
        ds.run("move", "--until-idle")
        # `script` gives the command a terminal (util-linux); what it printed comes back on stdout.
        cmd = " ".join(ds.cmd("load", "--until-idle"))
        p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=600)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertRegex(out, r"\r\x1b\[Kload: \d+ objects loaded, 0 failed, \d+ rows loaded, \d+ rejected \(\d+ s\)")
        self.assertIn("load: 1 object loaded (600000 rows", out)
        # Not on a pipe: the summary alone.
        ds2 = e2e.Dimstream(os.path.join(tmp, "data2"))
        ds2.run("generate", "--rows", "600000", "--rows-per-file", "600000", "--no-progress")
        ds2.run("move", "--until-idle")
        piped = ds2.run("load", "--until-idle")
        self.assertNotIn("\x1b[K", piped.stderr + piped.stdout)


if __name__ == "__main__":
    e2e.main()

#!/usr/bin/env python3
"""End-to-end: the dimension for other tools: `export` (Parquet and CSV, as of a moment, also while `run` holds
the warehouse) and `run --publish DIR` (generations switched atomically, with a manifest). Each file is read
back by DuckDB's own readers (a scratch DuckDB data directory) and compared with the tables.

    python3 tests/e2e/test_export.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import csv
import json
import os
import unittest

import dimstream_e2e as e2e

COLUMNS = "customer_id, " + ", ".join(e2e.ATTRS) + ", valid_from"


def normalized_history(rows):
    for r in rows:
        r["customer_id"] = int(r["customer_id"])
        r["valid_from"] = e2e.parse_ts(r["valid_from"])
        r["valid_to"] = e2e.parse_ts(r["valid_to"])
        r["is_current"] = e2e.parse_bool(r["is_current"])
    return rows


def normalized_current(rows):
    for r in rows:
        r["customer_id"] = int(r["customer_id"])
        r["valid_from"] = e2e.parse_ts(r["valid_from"])
    return rows


class Export(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        tmp = e2e.make_class_temp_dir(cls)
        cls.tmp = tmp
        cls.ds = e2e.Dimstream(os.path.join(tmp, "data"))
        for f in e2e.sample_files():
            e2e.drop_file(f, cls.ds.landing)
        cls.ds.run("run", "--until-idle")
        # DuckDB's readers, in a data directory of their own: what any other tool would see in the files.
        cls.reader = e2e.Dimstream(os.path.join(tmp, "reader"), warehouse="duckdb")

    def parquet_history(self, path):
        return normalized_history(self.reader.sql(
            f"SELECT {COLUMNS}, valid_to, is_current FROM read_parquet('{path}') ORDER BY customer_id, valid_from"))

    def parquet_current(self, path):
        return normalized_current(self.reader.sql(
            f"SELECT {COLUMNS} FROM read_parquet('{path}') ORDER BY customer_id"))

    def test_parquet_and_csv_hold_the_tables(self):
        history = e2e.read_history(self.ds)
        current = e2e.read_current(self.ds)
        out = os.path.join(self.tmp, "history.parquet")
        p = self.ds.run("export", "--table", "history", "--out", out)
        self.assertIn(f"{len(history)} rows", p.stdout)
        self.assertEqual(self.parquet_history(out), history)
        # Parquet keeps the types: a key is a number, a sequence a timestamp.
        types = {r["column_name"]: r["column_type"] for r in self.reader.sql(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{out}'))")}
        self.assertEqual(types["customer_id"], "BIGINT")
        self.assertTrue(types["valid_from"].startswith("TIMESTAMP"), types)
        self.assertEqual(types["is_current"], "BOOLEAN")

        out = os.path.join(self.tmp, "current.csv")
        self.ds.run("export", "--out", out)  # current by default, CSV from the extension
        with open(out, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            r.pop("_key_id", None)
        picked = [{k: r[k] for k in ["customer_id", *e2e.ATTRS, "valid_from"]} for r in rows]
        picked = sorted(normalized_current(picked), key=lambda r: r["customer_id"])
        for r in picked:  # CSV: NULL as an empty field
            for a in e2e.ATTRS:
                r[a] = r[a] if r[a] != "" else None
        expected = [dict(r, **{a: r[a] if r[a] != "" else None for a in e2e.ATTRS}) for r in current]
        self.assertEqual(picked, expected)
        self.assertFalse(os.path.exists(out + ".partial"))

    def test_as_of_a_moment_gives_the_tables_as_they_were(self):
        history = e2e.read_history(self.ds)
        starts = sorted({r["valid_from"] for r in history})
        moment = starts[len(starts) // 2]
        text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        open_then = [r for r in history if r["valid_from"] <= moment and (r["valid_to"] is None or r["valid_to"] > moment)]
        out = os.path.join(self.tmp, "current_then.parquet")
        self.ds.run("export", "--as-of", text, "--out", out)
        got = self.parquet_current(out)
        want = sorted(({k: r[k] for k in ["customer_id", *e2e.ATTRS, "valid_from"]} for r in open_then),
                      key=lambda r: r["customer_id"])
        self.assertEqual(got, want)
        self.assertLess(len(got), len(e2e.read_current(self.ds)) + 1)

        out = os.path.join(self.tmp, "history_then.parquet")
        self.ds.run("export", "--table", "history", "--as-of", text, "--out", out)
        want = []
        for r in history:
            if r["valid_from"] <= moment:
                later = r["valid_to"] is not None and r["valid_to"] > moment
                want.append(dict(r, valid_to=None if later else r["valid_to"],
                                 is_current=r["valid_to"] is None or later))
        self.assertEqual(self.parquet_history(out), want)

    def test_a_bad_request_is_refused_and_writes_nothing(self):
        out = os.path.join(self.tmp, "nothing.parquet")
        p = self.ds.run("export", "--table", "history", "--as-of", "not a time", "--out", out, check=False)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".partial"))
        p = self.ds.run("export", "--entity", "nobody", "--out", out, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("nobody", p.stderr)


class Publish(unittest.TestCase):

    def test_generations_switch_atomically_and_the_old_ones_go(self):
        tmp = e2e.make_temp_dir(self)
        ds = e2e.Dimstream(os.path.join(tmp, "data"))
        reader = e2e.Dimstream(os.path.join(tmp, "reader"), warehouse="duckdb")
        publish = os.path.join(tmp, "published")
        files = e2e.sample_files()
        for n, f in enumerate(files[:3]):
            e2e.drop_file(f, ds.landing)
            ds.run("run", "--until-idle", "--publish", publish)
            gen = os.readlink(os.path.join(publish, "current"))
            self.assertEqual(gen, f"g-{n + 1:08}")
            with open(os.path.join(publish, "current", "manifest.json"), encoding="utf-8") as f:
                manifest = json.load(f)
            entry = manifest["entities"]["customer"]
            self.assertEqual(entry["watermark"], int(ds.scalar(
                "SELECT parameter_value FROM parameter_control WHERE parameter_name = 'LETS'")))
            self.assertEqual(entry["current"]["rows"], ds.count("customer_current"))
            self.assertEqual(entry["history"]["rows"], ds.count("customer_history"))
            path = os.path.join(publish, "current", entry["history"]["file"])
            got = normalized_history(reader.sql(
                f"SELECT {COLUMNS}, valid_to, is_current FROM read_parquet('{path}') ORDER BY customer_id, valid_from"))
            self.assertEqual(got, e2e.read_history(ds))
            kept = sorted(d for d in os.listdir(publish) if d.startswith("g-"))
            self.assertEqual(kept, [f"g-{k:08}" for k in range(max(1, n), n + 2)])

    def test_a_running_pipeline_publishes_after_its_merges(self):
        tmp = e2e.make_temp_dir(self)
        config = os.path.join(tmp, "dimstream.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write("[publish]\ninterval_ms = 200\n")
        ds = e2e.Dimstream(os.path.join(tmp, "data"), config=config)
        publish = os.path.join(tmp, "published")
        proc = ds.popen("run", "--quiet", "--publish", publish, log_dir=tmp)
        self.addCleanup(e2e.kill_if_running, proc)
        e2e.wait_serving(ds, proc, tmp)
        for f in e2e.sample_files()[:2]:
            e2e.drop_file(f, ds.landing)
        e2e.wait_for(lambda: ds.count("load_history") == 2 and ds.count("customer_raw") == 0,
                     what="two files merged")
        watermark = int(ds.scalar("SELECT parameter_value FROM parameter_control WHERE parameter_name = 'LETS'"))

        def published():
            try:
                with open(os.path.join(publish, "current", "manifest.json"), encoding="utf-8") as f:
                    return json.load(f)["entities"]["customer"]["watermark"] == watermark
            except (OSError, ValueError):
                return False
        e2e.wait_for(published, interval=0.2, what="the merged watermark to be published")
        # Exported through the running process: it holds the DuckDB file.
        out = os.path.join(tmp, "live.parquet")
        ds.run("export", "--table", "history", "--out", out)
        reader = e2e.Dimstream(os.path.join(tmp, "reader"), warehouse="duckdb")
        self.assertEqual(int(reader.scalar(f"SELECT count(*) FROM read_parquet('{out}')")), ds.count("customer_history"))
        self.assertEqual(e2e.stop_process(proc), 0)


if __name__ == "__main__":
    e2e.main()

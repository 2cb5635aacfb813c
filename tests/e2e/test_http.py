#!/usr/bin/env python3
"""End-to-end: the HTTP endpoints of a running `dimstream run` (http.listen): /metrics checked by promtool and
against load_history and task_history, /api/status against `status --format json`, /api/sql with read-only
statements only, and the token required off loopback.

    python3 tests/e2e/test_http.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import json
import os
import shutil
import subprocess
import unittest
import urllib.error
import urllib.parse
import urllib.request

import dimstream_e2e as e2e



def http(port, path, data=None, headers=None):
    """(status, content type, body) of a request to the process's endpoints."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode("utf-8")


def samples(text):
    """The samples of a Prometheus exposition: {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


class HttpEndpoints(unittest.TestCase):

    def start(self, tmp, config_text, env_extra=None):
        config = os.path.join(tmp, "dimstream.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(config_text)
        ds = e2e.Dimstream(os.path.join(tmp, "data"), config=config)
        proc = ds.popen("run", "--quiet", log_dir=tmp, env_extra=env_extra)
        self.addCleanup(e2e.kill_if_running, proc)
        e2e.wait_serving(ds, proc, tmp)
        return ds, proc, e2e.wait_http_port(tmp)

    def test_metrics_status_and_sql_of_a_running_pipeline(self):
        tmp = e2e.make_temp_dir(self)
        # Port 0: a free one, which the process logs.
        ds, proc, port = self.start(tmp, '[http]\nlisten = "127.0.0.1:0"\n')
        files = e2e.sample_files()
        for f in files:
            e2e.drop_file(f, ds.landing)

        def merged():
            return int(ds.scalar("SELECT coalesce(sum(rows_in), 0) FROM task_history WHERE status = 'succeeded'"))
        e2e.wait_for(lambda: merged() == 40000 and ds.count("load_history") == len(files),
                     what="the four sample files to be merged")

        ledger = ds.sql("SELECT count(*) AS objects, sum(rows_loaded) AS rows_loaded, "
                        "sum(rows_rejected) AS rows_rejected FROM load_history WHERE status = 'loaded'")[0]
        runs = ds.sql("SELECT count(*) AS runs, sum(rows_in) AS rows_in, sum(versions_opened) AS opened, "
                      "sum(versions_closed) AS closed, sum(scd1_updates) AS scd1 FROM task_history "
                      "WHERE status = 'succeeded' AND rows_in > 0")[0]

        # The counters follow each commit; read them once the last run's have been counted.
        def scraped():
            status, ctype, body = http(port, "/metrics")
            self.assertEqual(status, 200, body)
            m = samples(body)
            return (m.get('dimstream_merge_rows_total{entity="customer",role="run"}') == 40000
                    and (ctype, body, m))
        ctype, text, m = e2e.wait_for(scraped, what="/metrics to count the 40,000 merged rows")
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")

        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian's prometheus package, scripts/setup.sh) is needed")
        checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
        self.assertEqual(checked.returncode, 0, checked.stdout.decode() + checked.stderr.decode())

        # The README's table names every metric the endpoint writes.
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
        with open(readme, encoding="utf-8") as f:
            documented = f.read()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                self.assertIn(f"| `{line.split()[2]}` |", documented, "a metric missing from README.md")

        run = 'role="run"'
        ent = 'entity="customer",role="run"'
        expect = {
            f"dimstream_mover_files_total{{{run}}}": len(files),
            f"dimstream_loader_objects_loaded_total{{{run}}}": int(ledger["objects"]),
            f"dimstream_loader_objects_failed_total{{{run}}}": 0,
            f"dimstream_loader_rows_loaded_total{{{run}}}": int(ledger["rows_loaded"]),
            f"dimstream_loader_rows_rejected_total{{{run}}}": int(ledger["rows_rejected"]),
            f"dimstream_load_duration_seconds_count{{{run}}}": len(files),
            f"dimstream_put_duration_seconds_count{{{run}}}": len(files),
            f"dimstream_merge_runs_total{{{ent}}}": int(runs["runs"]),
            f"dimstream_merge_rows_total{{{ent}}}": int(runs["rows_in"]),
            f"dimstream_merge_versions_opened_total{{{ent}}}": int(runs["opened"]),
            f"dimstream_merge_versions_closed_total{{{ent}}}": int(runs["closed"]),
            f"dimstream_merge_scd1_updates_total{{{ent}}}": int(runs["scd1"]),
            f"dimstream_merge_run_duration_seconds_count{{{ent}}}": int(runs["runs"]),
            f"dimstream_freshness_seconds_count{{{ent}}}": int(runs["runs"]),
            f"dimstream_merge_keys{{{ent}}}": ds.count("customer_current"),
            f"dimstream_raw_rows_waiting{{{ent}}}": 0,
            f"dimstream_watermark_lag_seconds{{{ent}}}": 0,
            f"dimstream_landing_files{{{run}}}": 0,
            f"dimstream_bucket_objects{{{run}}}": len(files),
            f"dimstream_bucket_backlog_objects{{{run}}}": 0,
            f"dimstream_queue_backlog_messages{{{run}}}": 0,
            f"dimstream_scrape_errors_total{{{run}}}": 0,
        }
        for series, value in expect.items():
            self.assertEqual(m.get(series), value, f"{series}\n{text}")
        self.assertGreater(m[f"dimstream_merge_key_index_bytes{{{ent}}}"], 0)
        self.assertGreater(m[f"dimstream_mover_bytes_total{{{run}}}"], 0)

        # /api/status: the document `status --format json` prints.
        status, ctype, body = http(port, "/api/status")
        self.assertEqual((status, ctype), (200, "application/json"), body)
        served = json.loads(body)
        printed = json.loads(ds.run("status", "--format", "json").stdout)
        if ds.postgres:
            # The processes' heartbeats move between the two reads.
            self.assertEqual([p["role"] for p in served.pop("processes")], ["run"])
            self.assertEqual([p["role"] for p in printed.pop("processes")], ["run"])
        self.assertEqual(served, printed)
        self.assertEqual(printed["bucket"]["objects"], len(files))
        self.assertEqual(printed["pipeline"][0]["rows_loaded"], 40000)

        # /api/sql: what `dimstream sql` gives, as JSON or CSV, by GET or POST.
        keys = ds.count("customer_current")
        q = urllib.parse.quote("SELECT count(*) AS n FROM customer_current")
        status, ctype, body = http(port, f"/api/sql?q={q}")
        self.assertEqual((status, ctype), (200, "application/json"), body)
        self.assertEqual(json.loads(body), [{"n": keys}])
        status, ctype, body = http(port, f"/api/sql?q={q}&format=csv")
        self.assertEqual((status, ctype, body), (200, "text/csv; charset=utf-8", f"n\r\n{keys}\r\n"))
        status, _, body = http(port, "/api/sql?format=json",
                               data=b"SELECT customer_id FROM customer_history ORDER BY customer_id LIMIT 2")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(json.loads(body)), 2)

        # Parquet: read back by DuckDB's own reader, in a data directory of its own.
        status, ctype, _ = http(port, f"/api/sql?q={q}&format=parquet")
        self.assertEqual((status, ctype), (200, "application/vnd.apache.parquet"))
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/sql?format=parquet",
                                     data=b"SELECT customer_id, city FROM customer_current -- a comment")
        with urllib.request.urlopen(req, timeout=60) as r:
            parquet = r.read()
        self.assertEqual(parquet[:4], b"PAR1")
        path = os.path.join(tmp, "result.parquet")
        with open(path, "wb") as f:
            f.write(parquet)
        reader = e2e.Dimstream(os.path.join(tmp, "reader"), warehouse="duckdb")
        self.assertEqual(int(reader.scalar(f"SELECT count(*) FROM read_parquet('{path}')")), keys)
        status, _, body = http(port, "/api/sql?format=parquet&q=" + urllib.parse.quote("DROP TABLE load_history"))
        self.assertEqual(status, 400, body)

        # Anything but reading is refused, and nothing changes.
        before = e2e.table_snapshot(ds)
        watermark = ds.scalar("SELECT max(parameter_value) FROM parameter_control")
        copy_target = os.path.join(tmp, "copied.csv")
        for statement in ("INSERT INTO customer_raw SELECT * FROM customer_raw",
                          "DELETE FROM load_history",
                          "UPDATE parameter_control SET parameter_value = 0",
                          "DROP TABLE load_history",
                          "CREATE TABLE stolen AS SELECT * FROM customer_current",
                          "ALTER TABLE load_history ADD COLUMN x INTEGER",
                          f"ATTACH '{os.path.join(tmp, 'other.duckdb')}' AS other",
                          "INSTALL httpfs",
                          "LOAD httpfs",
                          f"COPY (SELECT * FROM customer_current) TO '{copy_target}'",
                          "SET threads = 1",
                          "SELECT 1; DROP TABLE load_history"):
            status, _, body = http(port, "/api/sql?q=" + urllib.parse.quote(statement))
            self.assertEqual(status, 400, f"{statement!r} was not refused: {body}")
        self.assertFalse(os.path.exists(copy_target), "COPY wrote its file")
        self.assertFalse(os.path.exists(os.path.join(tmp, "other.duckdb")), "ATTACH made its file")
        self.assertEqual(e2e.table_snapshot(ds), before)
        self.assertEqual(ds.scalar("SELECT max(parameter_value) FROM parameter_control"), watermark)

        self.assertEqual(e2e.stop_process(proc), 0)

    def test_beyond_loopback_a_token_is_required(self):
        tmp = e2e.make_temp_dir(self)
        open_config = os.path.join(tmp, "open.toml")
        with open(open_config, "w", encoding="utf-8") as f:
            f.write('[http]\nlisten = "0.0.0.0:0"\n')
        ds = e2e.Dimstream(os.path.join(tmp, "refused"))
        p = ds.run("--config", open_config, "run", "--until-idle", check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("http.token", p.stderr)

        token = "tok-" + os.urandom(8).hex()
        ds, proc, port = self.start(
            tmp, '[http]\nlisten = "0.0.0.0:0"\ntoken = "dashboard"\n\n[secrets]\ndashboard = { env = "DS_TOKEN" }\n',
            env_extra={"DS_TOKEN": token})
        for path in ("/metrics", "/api/status", "/api/sql?q=SELECT%201"):
            status, _, body = http(port, path)
            self.assertEqual(status, 401, f"{path}: {body}")
        status, _, body = http(port, "/metrics", headers={"Authorization": "Bearer wrong"})
        self.assertEqual(status, 401)
        status, _, body = http(port, "/metrics", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(status, 200, body)
        status, _, body = http(port, f"/api/sql?q=SELECT%2042%20AS%20x&token={token}")
        self.assertEqual((status, json.loads(body)), (200, [{"x": 42}]))
        self.assertEqual(e2e.stop_process(proc), 0)
        for name in ("run.stdout", "run.stderr"):
            with open(os.path.join(tmp, name), encoding="utf-8", errors="replace") as f:
                self.assertNotIn(token, f.read(), f"the token shows in {name}")


if __name__ == "__main__":
    e2e.main()

#!/usr/bin/env python3
"""End-to-end: the dashboard of a running `dimstream run`, in a real browser: a private headless Chromium
(scripts/servers/chromium.sh, as nobody) driven by tests/browser/dashboard_test.mjs (playwright-core over the
DevTools protocol). The page must show what the warehouse holds, run a query through its query box, offer the
result as CSV, and refuse a statement that writes. The screenshot is kept as the test's artifact:
<build>/test-artifacts/dashboard.png (the README's picture).

    python3 tests/e2e/test_dashboard.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import json
import os
import shutil
import subprocess
import unittest

import dimstream_e2e as e2e

BROWSER_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser")


class Dashboard(unittest.TestCase):

    def test_the_page_shows_the_warehouse_and_answers_queries(self):
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_TESTS, "node_modules", "playwright-core")),
                        "tests/browser/node_modules is missing: scripts/setup.sh runs `npm ci` there")
        tmp = e2e.make_temp_dir(self)
        config = os.path.join(tmp, "dimstream.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write('[http]\nlisten = "127.0.0.1:0"\n')
        ds = e2e.Dimstream(os.path.join(tmp, "data"), config=config)
        proc = ds.popen("run", "--quiet", log_dir=tmp)
        self.addCleanup(e2e.kill_if_running, proc)
        e2e.wait_serving(ds, proc, tmp)
        port = e2e.wait_http_port(tmp)
        files = e2e.sample_files()
        for f in files:
            e2e.drop_file(f, ds.landing)
        e2e.wait_for(lambda: ds.count("load_history") == len(files) and ds.count("customer_raw") == 0,
                     what="the sample files to be merged")

        query = "SELECT customer_id, city, valid_from FROM customer_current ORDER BY customer_id LIMIT 5"
        rows = ds.sql(query)
        csv_text = ds.run("sql", "--format", "csv", query).stdout
        ledger = ds.sql("SELECT sum(rows_loaded) AS rows_loaded, sum(rows_rejected) AS rows_rejected "
                        "FROM load_history")[0]
        expect = {
            "values": {
                "files_moved": len(files),
                "objects_loaded": len(files),
                "objects_failed": 0,
                "rows_loaded": int(ledger["rows_loaded"]),
                "rows_rejected": int(ledger["rows_rejected"]),
                "rows_merged": int(ds.scalar("SELECT sum(rows_in) FROM task_history WHERE status = 'succeeded'")),
                "versions_opened": int(ds.scalar(
                    "SELECT sum(versions_opened) FROM task_history WHERE status = 'succeeded'")),
                "raw_rows_waiting": 0,
                "bucket_objects": len(files),
                "landing_files": 0,
                "current_keys": ds.count("customer_current"),
                "history_versions": ds.count("customer_history"),
            },
            "files": len(files),
            "query": query,
            "query_rows": [[r["customer_id"], r["city"], r["valid_from"]] for r in rows],
            "query_csv": csv_text,
        }
        expect_file = os.path.join(tmp, "expect.json")
        with open(expect_file, "w", encoding="utf-8") as f:
            json.dump(expect, f)

        browser = e2e.PrivateServer(self, "chromium", "cdp_url")
        artifacts = os.path.join(os.getcwd(), "test-artifacts")
        os.makedirs(artifacts, exist_ok=True)
        shot = os.path.join(artifacts, "dashboard.png")
        if os.path.exists(shot):
            os.remove(shot)
        p = subprocess.run(["node", "dashboard_test.mjs", browser.value, f"http://127.0.0.1:{port}/", expect_file, shot],
                           cwd=BROWSER_TESTS, capture_output=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")
        print(f"\nscreenshot: {shot}")
        self.assertEqual(e2e.stop_process(proc), 0)


if __name__ == "__main__":
    e2e.main()

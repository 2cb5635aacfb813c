#!/usr/bin/env python3
"""End-to-end: the merge (SEMANTICS.md 4-6). The four sample files are fed in order, one `run --until-idle`
each; after every file the dimension must equal an independent fold of the records written in this test.

    python3 tests/e2e/test_merge.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import collections
import csv
import os
import unittest

import dimstream_e2e as e2e


class MergeSamplesInOrder(unittest.TestCase):

    def test_merge_matches_reference_fold(self):
        files = e2e.sample_files()
        ds = e2e.Dimstream(e2e.make_temp_dir(self))
        snapshots = []  # (history, current) after each file

        for k, f in enumerate(files, start=1):
            e2e.drop_file(f, ds.landing)
            ds.run("run", "--until-idle", "--quiet")
            with self.subTest(after_file=k):
                self.assertEqual(e2e.visible_files(ds.landing), [])
                loads = ds.sql("SELECT object_key, status, rows_loaded, rows_rejected, sequence_time, load_id "
                               "FROM load_history ORDER BY load_id")
                self.assertEqual([(r["object_key"], r["status"], r["rows_loaded"], r["rows_rejected"]) for r in loads],
                                 [(os.path.basename(x), "loaded", "10000", "0") for x in files[:k]])
                seqs = [e2e.parse_ts(r["sequence_time"]) for r in loads]
                self.assertEqual(seqs, sorted(set(seqs)), "sequence_time must increase from load to load")
                self.assertEqual(ds.count("customer_stage"), 0, "customer_stage must be empty between runs")
                self.assertEqual(ds.count("customer_raw"), 0, "merged rows should be cleaned from customer_raw")

                history, current = self.assert_matches_fold(ds, files[:k])
                snapshots.append((history, current))
                c = ds.check()
                self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")

        # One merge run per file, each taking that file's 10,000 rows.
        runs = ds.sql("SELECT status, rows_in FROM task_history WHERE rows_in > 0 ORDER BY started_at")
        self.assertEqual([(r["status"], r["rows_in"]) for r in runs], [("succeeded", "10000")] * 4)
        self.assertEqual(ds.count("SELECT count(*) FROM task_history WHERE status <> 'succeeded' "
                                  "AND status <> 'empty'"), 0)

        # The watermark (LETS) is recorded and the raw rows are gone.
        lets = ds.sql("SELECT parameter_value FROM parameter_control WHERE parameter_name = 'LETS'")
        self.assertEqual(len(lets), 1, f"parameter_control: {lets}")

        self.assert_specific_facts(ds, files, snapshots)

    def assert_matches_fold(self, ds, files_so_far):
        # The loader keeps each object in the bucket under its key; the fold reads the same bytes from there.
        return e2e.assert_dimension_is_fold(self, ds, rows=10000 * len(files_so_far))

    def assert_specific_facts(self, ds, files, snapshots):
        history, current = snapshots[-1]
        seqs = [e2e.parse_ts(r["sequence_time"]) for r in
                ds.sql("SELECT sequence_time FROM load_history ORDER BY load_id")]

        # No key has two current versions; customer_current has one row per key.
        n_current = collections.Counter(v["customer_id"] for v in history if v["is_current"])
        self.assertEqual([k for k, n in n_current.items() if n > 1], [])
        self.assertEqual(len(current), len({r["customer_id"] for r in current}))
        self.assertEqual(len(current), len(n_current))

        # The third file's ids that occur several times: one current version each, holding the values of
        # their last line in the third file (the fourth repeats those lines), and the earlier lines of the
        # third file leave no trace: no version opened at the third file's sequence except the last line's.
        with open(files[2], newline="", encoding="utf-8") as f:
            third = list(csv.DictReader(f))
        occurrences = collections.defaultdict(list)
        for row in third:
            occurrences[int(row["customer_id"])].append(row)
        multi = {k: rows for k, rows in occurrences.items() if len(rows) > 1}
        self.assertEqual(len(multi), 2071, "the third sample file should have 2,071 repeated ids")
        cur_by_key = {r["customer_id"]: r for r in current}
        hist_by_key = collections.defaultdict(list)
        for v in history:
            hist_by_key[v["customer_id"]].append(v)
        for key, rows in multi.items():
            self.assertEqual(n_current.get(key), 1, f"key {key}: {n_current.get(key)} current versions")
            last = rows[-1]
            self.assertEqual({c: cur_by_key[key][c] for c in e2e.SCD2}, {c: last[c] for c in e2e.SCD2},
                             f"key {key}: the current address should be the last line's")
            opened_at_third = [v for v in hist_by_key[key] if v["valid_from"] == seqs[2]]
            self.assertLessEqual(len(opened_at_third), 1, f"key {key}: superseded lines opened versions")
            for v in hist_by_key[key]:
                for earlier in rows[:-1]:
                    if any(earlier[c] != last[c] for c in e2e.SCD2):
                        self.assertNotEqual({c: v[c] for c in e2e.SCD2}, {c: earlier[c] for c in e2e.SCD2},
                                            f"key {key}: a superseded address left a version")

        # The fourth file differs from the third in one name (4082, SCD1: overwritten in place, no new
        # version) and one address (464, SCD2: the version is closed and a new one opened).
        h3, _ = snapshots[2]
        v4082_before = [v for v in h3 if v["customer_id"] == 4082]
        v4082_after = hist_by_key[4082]
        self.assertEqual(len(v4082_after), len(v4082_before), "an SCD1 change must not open a version")
        self.assertEqual((cur_by_key[4082]["first_name"], cur_by_key[4082]["last_name"], cur_by_key[4082]["email"]),
                         ("Sam", "Walton", "samwalton@example.net"))
        self.assertLess(cur_by_key[4082]["valid_from"], seqs[3])
        self.assertEqual(cur_by_key[4082]["valid_from"], [v for v in v4082_before if v["is_current"]][0]["valid_from"])

        v464 = hist_by_key[464]
        self.assertEqual((cur_by_key[464]["city"], cur_by_key[464]["state"], cur_by_key[464]["country"]),
                         ("Kansas", "Texas", "United States of America"))
        self.assertEqual(cur_by_key[464]["valid_from"], seqs[3])
        closed = [v for v in v464 if v["valid_to"] == seqs[3]]
        self.assertEqual([(v["city"], v["is_current"]) for v in closed], [("New Jonathan", False)])
        self.assertEqual(len(v464), len([v for v in h3 if v["customer_id"] == 464]) + 1)


class MergeIndependence(unittest.TestCase):
    """SEMANTICS.md 5: with event time the dimension depends on the records and their order only, not on how
    they were split into files or grouped into merge runs (the generator writes the same rows whatever the
    file size)."""

    GENERATE = ["generate", "--rows", "6000", "--update-share", "0.4", "--event-time", "--delete-share", "0.05",
                "--late-share", "0.1", "--duplicate-share", "0.05", "--null-share", "0.02", "--seed", "7",
                "--no-progress"]

    def generated(self, tmp, rows_per_file):
        gen = e2e.Dimstream(os.path.join(tmp, f"gen-{rows_per_file}"))
        gen.run(*self.GENERATE, "--rows-per-file", str(rows_per_file))
        return [os.path.join(gen.landing, f) for f in e2e.visible_files(gen.landing)]

    def test_split_and_grouping_do_not_matter(self):
        tmp = e2e.make_temp_dir(self)
        results = {}

        # One file, one run.
        ds = e2e.Dimstream(os.path.join(tmp, "one-file"))
        files = self.generated(tmp, 6000)
        self.assertEqual(len(files), 1)
        e2e.drop_file(files[0], ds.landing)
        ds.run("run", "--until-idle", "--quiet")
        results["one file"] = ds

        # Six files, a run after each.
        ds = e2e.Dimstream(os.path.join(tmp, "six-runs"))
        files = self.generated(tmp, 1000)
        self.assertEqual(len(files), 6)
        for f in files:
            e2e.drop_file(f, ds.landing)
            ds.run("run", "--until-idle", "--quiet")
        results["six files, six runs"] = ds

        # Four files of 1,500 rows in two merge runs, through the single-role commands.
        ds = e2e.Dimstream(os.path.join(tmp, "two-merges"))
        files = self.generated(tmp, 1500)
        self.assertEqual(len(files), 4)
        for group in (files[:1], files[1:]):
            for f in group:
                e2e.drop_file(f, ds.landing)
            ds.run("move", "--until-idle")
            ds.run("load", "--until-idle")
            ds.run("merge")
        results["four files, two merges"] = ds

        base_name, base = next(iter(results.items()))
        base_history, base_current = e2e.read_history(base), e2e.read_current(base)
        self.assertGreater(len(base_history), len(base_current))
        self.assertTrue(any(v["first_name"] is None for v in base_history), "--null-share should leave NULLs")
        for name, ds in results.items():
            with self.subTest(layout=name):
                c = ds.check()
                self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")
                self.assertEqual(int(ds.scalar("SELECT sum(rows_loaded) + sum(rows_rejected) FROM load_history")),
                                 6000)
                if ds is base:
                    continue
                e2e.assert_same_rows(self, base_history, e2e.read_history(ds), ("customer_id", "valid_from"),
                                     f"customer_history of '{name}' differs from '{base_name}'")
                e2e.assert_same_rows(self, base_current, e2e.read_current(ds), ("customer_id",),
                                     f"customer_current of '{name}' differs from '{base_name}'")


def _t(seconds):
    return f"2025-01-01T00:00:{seconds:02d}Z"


class MergeEdgeCases(unittest.TestCase):
    """Hand-written event-time records, one merge run per file: late records that split versions, late
    deletes, ties across merge runs, a delete of an unknown key, re-inserts, NULL attributes."""

    HEADER = "customer_id,first_name,last_name,email,street,city,state,country,updated_at,op"
    # (key, first_name, city, seconds, op); other attributes fixed. None = empty field (NULL).
    FILES = [
        [(1, "A", "X", 10, "U"), (1, "A", "Z", 30, "U"),
         (2, "A", "X", 10, "I"),
         (3, "A", "X", 10, "I"),
         (4, "A", "X", 10, "U"), (4, "B", "Y", 10, "U"),          # tie in one file: only the second counts
         (5, None, None, 5, "D"), (5, "A", "X", 10, "U"),          # delete of an unknown key: nothing
         (6, "A", None, 10, "U"), (6, "B", None, 20, "U"), (6, "C", "C", 30, "U"),
         (9223372036854775807, "Max", "X", 10, "U"),
         (-5, "Neg", "X", 10, "U")],
        [(1, "A", "Y", 20, "U"),                                   # late: splits [10,30) at 20
         (2, "B", "Y", 10, "U"),                                   # tie with a merged record: replaces it
         (3, None, None, 20, "D"), (3, "A", "X", 40, "I"),         # delete, then re-insert the same values
         (4, "W", "W", 5, "U"),                                    # older than everything known
         (6, "D", None, 25, "U"),                                  # late SCD1 change of [10,30)
         (7, "A", "X", 10, "U"), (7, "A", "X", 10, "U")],          # exact duplicate
        [(1, None, None, 25, "d"),                                 # late delete: ends Y at 25
         (3, "Late", "X", 15, "U"),                                # late SCD1 change before the delete
         (4, None, None, 1, "D"),                                  # delete before the first record: nothing
         (2, None, None, 10, "D")],                                # a third tie, a delete: k2 leaves no trace
    ]

    def csv_text(self, rows):
        lines = [self.HEADER]
        for key, first, city, sec, op in rows:
            lines.append(",".join([str(key), first or "", "L", "e@x", "S", city or "", "ST", "CO", _t(sec), op]))
        return ("\r\n".join(lines) + "\r\n").encode()

    def test_edge_cases(self):
        ds = e2e.Dimstream(e2e.make_temp_dir(self))
        records = []
        for i, rows in enumerate(self.FILES):
            e2e.drop_file(None, ds.landing, name=f"edge_{i}.csv", data=self.csv_text(rows))
            ds.run("run", "--until-idle", "--quiet")
            for line, (key, first, city, sec, op) in enumerate(rows, start=2):
                attrs = {"first_name": first, "last_name": "L", "email": "e@x", "street": "S", "city": city,
                         "state": "ST", "country": "CO"}
                records.append(e2e.Record(key, e2e.parse_ts(_t(sec)), (i, line), e2e.normalize_op(op), attrs))
            with self.subTest(after_file=i):
                self.assertEqual(ds.count("customer_rejects"), 0)
                expected = e2e.fold(records)
                history = e2e.read_history(ds)
                e2e.assert_same_rows(self, expected, history, ("customer_id", "valid_from"),
                                     "customer_history differs from the reference fold")
                e2e.assert_same_rows(self, e2e.current_of(expected), e2e.read_current(ds), ("customer_id",),
                                     "customer_current differs from the reference fold")
                c = ds.check()
                self.assertEqual(c.returncode, 0, f"check failed:\n{c.stdout}\n{c.stderr}")

        # The same facts, written out by hand for the interesting keys.
        ts = lambda sec: e2e.parse_ts(_t(sec))  # noqa: E731
        h = collections.defaultdict(list)
        for v in e2e.read_history(ds):
            h[v["customer_id"]].append((v["first_name"], v["city"], v["valid_from"], v["valid_to"], v["is_current"]))
        self.assertEqual(h[1], [("A", "X", ts(10), ts(20), False), ("A", "Y", ts(20), ts(25), False),
                                ("A", "Z", ts(30), None, True)])
        self.assertEqual(h[2], [], "key 2's last record (a tie) is a delete: no version may remain")
        self.assertEqual(h[3], [("Late", "X", ts(10), ts(20), False), ("A", "X", ts(40), None, True)])
        self.assertEqual(h[4], [("W", "W", ts(5), ts(10), False), ("B", "Y", ts(10), None, True)])
        self.assertEqual(h[5], [("A", "X", ts(10), None, True)])
        self.assertEqual(h[6], [("D", None, ts(10), ts(30), False), ("C", "C", ts(30), None, True)])
        self.assertEqual(h[7], [("A", "X", ts(10), None, True)])
        self.assertEqual(h[9223372036854775807], [("Max", "X", ts(10), None, True)])
        self.assertEqual(h[-5], [("Neg", "X", ts(10), None, True)])


if __name__ == "__main__":
    e2e.main()

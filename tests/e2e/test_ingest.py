#!/usr/bin/env python3
"""End-to-end: the ingest path (landing -> mover -> bucket -> loader -> customer_raw), SEMANTICS.md 1-3.

    python3 tests/e2e/test_ingest.py --binary build/dimstream --samples ../shared/data/seed-sample
"""

import os
import unittest

import dimstream_e2e as e2e

HEADER = b"customer_id,first_name,last_name,email,street,city,state,country\r\n"


class IngestSamples(unittest.TestCase):
    """The four sample files, moved then loaded; then the same files again."""

    def test_samples_load_once(self):
        files = e2e.sample_files()
        ds = e2e.Dimstream(e2e.make_temp_dir(self))
        for f in files:
            e2e.drop_file(f, ds.landing)
        ds.run("move", "--until-idle")
        ds.run("load", "--until-idle")

        names = [os.path.basename(f) for f in files]
        self.assertEqual(e2e.visible_files(ds.landing), [], "landing should be empty after the move")
        self.assertEqual(e2e.visible_files(ds.bucket), names, "the bucket should hold the four objects")
        for f in files:
            self.assertEqual(e2e.sha256_file(os.path.join(ds.bucket, os.path.basename(f))), e2e.sha256_file(f),
                             f"bucket object {os.path.basename(f)} differs from the landed file")

        self.assertEqual(ds.count("customer_raw"), 40000)
        expected = sorted((os.path.basename(f), e2e.sha256_file(f)) for f in files)
        self.assert_load_history(ds, expected)
        # Every row of each file is in raw under its object key, with distinct line numbers.
        per_key = ds.sql("SELECT _object_key AS k, count(*) AS n, count(DISTINCT _line) AS lines, "
                         "min(_line) AS first_line FROM customer_raw GROUP BY _object_key ORDER BY k")
        self.assertEqual([(r["k"], r["n"], r["lines"], r["first_line"]) for r in per_key],
                         [(n, "10000", "10000", "2") for n in names])
        # Spot check: the first data row of the first file, as written.
        row = ds.sql("SELECT customer_id, first_name, last_name, email, street, city, state, country "
                     "FROM customer_raw WHERE _object_key = 'customer_20250101122014.csv' AND _line = 2")
        self.assertEqual(row, [{"customer_id": "0", "first_name": "Mia", "last_name": "Moore",
                                "email": "dmejia@example.com", "street": "952 Campbell Shores Apt. 622",
                                "city": "Davidside", "state": "Wyoming", "country": "Moldova"}])
        # The sample files have no empty fields: nothing should be NULL or an empty string.
        self.assertEqual(ds.count("SELECT count(*) FROM customer_raw WHERE " +
                                  " OR ".join(f"{c} IS NULL OR {c} = ''" for c in e2e.ATTRS)), 0)

        # The same files again: moved (landing empties) but nothing new is loaded.
        for f in files:
            e2e.drop_file(f, ds.landing)
        ds.run("move", "--until-idle")
        ds.run("load", "--until-idle")
        self.assertEqual(e2e.visible_files(ds.landing), [], "landing should be empty after the second move")
        self.assertEqual(e2e.visible_files(ds.bucket), names)
        self.assertEqual(ds.count("customer_raw"), 40000, "the same files were loaded twice")
        self.assert_load_history(ds, expected)
        self.assertEqual(ds.count("customer_rejects"), 0)

        # A load with nothing new, and a re-listing, change nothing either.
        ds.run("load", "--until-idle")
        self.assertEqual(ds.count("customer_raw"), 40000)
        self.assertEqual(ds.count("load_history"), 4)

    def assert_load_history(self, ds, expected):
        rows = ds.sql("SELECT object_key, checksum, status, rows_loaded, rows_rejected, error "
                      "FROM load_history ORDER BY object_key")
        self.assertEqual(len(rows), len(expected), f"load_history: {rows}")
        for (name, sha), r in zip(expected, rows):
            self.assertEqual(r, {"object_key": name, "checksum": sha, "status": "loaded", "rows_loaded": "10000",
                                 "rows_rejected": "0", "error": None})


class IngestBadInput(unittest.TestCase):
    """Bad rows are rejected one by one with a reason; a file without the key column fails whole."""

    def setUp(self):
        self.ds = e2e.Dimstream(e2e.make_temp_dir(self))

    def move_and_load(self):
        self.ds.run("move", "--until-idle")
        self.ds.run("load", "--until-idle")

    def test_bad_rows(self):
        ds = self.ds
        lines = [
            HEADER,                                                               # line 1
            b'1,Ann,Lee,ann@x.com,"1 Main St, Apt 2",Springfield,IL,USA\r\n',     # 2: quoted comma
            b'2,Bob,Ray,bob@x.com,"12 Elm\r\nUnit 5",Town,CA,USA\r\n',            # 3-4: quoted CRLF
            b'3,Too,Few,fields\r\n',                                              # 5: 4 fields
            b'abc,Not,Int,n@x.com,s,c,st,co\r\n',                                 # 6: key not an integer
            b'4,Caf\xe9,Latin,l@x.com,s,c,st,co\r\n',                              # 7: Latin-1, not UTF-8
            b'5,"Say ""hi""",Q,"q@x.com","a\nb, c",,st,co\r\n',                  # 8-9: quotes, LF, empty city
            b',Empty,Key,e@x.com,s,c,st,co\r\n',                                  # 10: empty key
            b'6,Too,Many,m@x.com,s,c,st,co,extra\r\n',                            # 11: 9 fields
            b'7,Zo\xc3\xab,M\xc3\xbcller,z@x.com,s,c,st,co\r\n',                  # 12: good UTF-8 accents
            b'8,Open,"Quote,o@x.com,s,c,st,co\r\n',                               # 13: unterminated quote
            b'9,Never,Seen,n@x.com,s,c,st,co\r\n',                                # 14: inside that quote
        ]
        data = b"".join(lines)
        e2e.drop_file(None, ds.landing, name="bad_rows.csv", data=data)
        self.move_and_load()

        raw = ds.sql("SELECT customer_id, first_name, last_name, email, street, city, state, country, _line "
                     "FROM customer_raw ORDER BY _line")
        self.assertEqual(raw, [
            {"customer_id": "1", "first_name": "Ann", "last_name": "Lee", "email": "ann@x.com",
             "street": "1 Main St, Apt 2", "city": "Springfield", "state": "IL", "country": "USA", "_line": "2"},
            {"customer_id": "2", "first_name": "Bob", "last_name": "Ray", "email": "bob@x.com",
             "street": "12 Elm\r\nUnit 5", "city": "Town", "state": "CA", "country": "USA", "_line": "3"},
            {"customer_id": "5", "first_name": 'Say "hi"', "last_name": "Q", "email": "q@x.com",
             "street": "a\nb, c", "city": None, "state": "st", "country": "co", "_line": "8"},
            {"customer_id": "7", "first_name": "Zo\u00eb", "last_name": "M\u00fcller", "email": "z@x.com",
             "street": "s", "city": "c", "state": "st", "country": "co", "_line": "12"},
        ])
        self.assertEqual(ds.count("SELECT count(*) FROM customer_raw WHERE customer_id = 5 AND city IS NULL"), 1,
                         "an empty field must load as NULL")

        rejects = ds.sql("SELECT object_key, line, raw, reason FROM customer_rejects ORDER BY line")
        by_line = {int(r["line"]): r for r in rejects}
        # line -> (words one of which the reason must contain, text the raw must contain)
        expected = {
            5: (["field"], "3,Too,Few,fields"),
            6: (["bigint"], "abc,Not,Int"),
            7: (["utf-8", "utf8"], "Latin"),
            10: (["empty", "missing"], "Empty,Key"),
            11: (["field"], "6,Too,Many"),
            13: (["quote"], "8,Open"),
        }
        self.assertEqual(sorted(by_line), sorted(expected), f"rejects: {rejects}")
        for line, (words, raw_part) in expected.items():
            r = by_line[line]
            self.assertEqual(r["object_key"], "bad_rows.csv")
            self.assertTrue(r["reason"] and any(w in r["reason"].lower() for w in words),
                            f"line {line}: reason {r['reason']!r} should mention one of {words}")
            self.assertIn(raw_part, r["raw"] or "", f"line {line}: raw text {r['raw']!r}")
        self.assertIn("customer_id", by_line[10]["reason"].lower())
        self.assertIn("abc", by_line[6]["reason"])

        lh = ds.sql("SELECT object_key, checksum, status, rows_loaded, rows_rejected FROM load_history")
        self.assertEqual(lh, [{"object_key": "bad_rows.csv", "checksum": e2e.hashlib.sha256(data).hexdigest(),
                               "status": "loaded", "rows_loaded": "4", "rows_rejected": "6"}])
        files = {r["object_key"]: r for r in ds.status_files()}
        self.assertIn("bad_rows.csv", files, f"status --files: {files}")
        self.assertEqual((files["bad_rows.csv"]["rows_loaded"], files["bad_rows.csv"]["rows_rejected"]), ("4", "6"))

    def test_event_time_and_op_rows(self):
        """updated_at (offsets converted to UTC) and op (any case, empty = U), and the rows they reject."""
        ds = self.ds
        data = (b"op,Updated_At,CUSTOMER_ID,city\r\n"
                b"U,2025-01-01T10:00:00+02:00,1,A\r\n"        # 2: 08:00 UTC
                b"d,2025-01-01T11:00:00Z,1,\r\n"              # 3: delete, lower case
                b",2025-01-01T12:00:00,2,B\r\n"               # 4: empty op = U, no offset = UTC
                b"U,,3,C\r\n"                                 # 5: empty updated_at
                b"U,yesterday,4,D\r\n"                        # 6: unparsable updated_at
                b"X,2025-01-01T12:00:00Z,5,E\r\n"             # 7: bad op
                b"i,2025-01-01T13:30:00-01:30,6,F\r\n")       # 8: 15:00 UTC
        e2e.drop_file(None, ds.landing, name="events.csv", data=data)
        self.move_and_load()
        # op as the file spells it; _op what it means (U upsert, D delete).
        raw = ds.sql("SELECT customer_id, city, updated_at, op, _op, first_name, _line "
                     "FROM customer_raw ORDER BY _line")
        got = [(r["customer_id"], r["city"], e2e.parse_ts(r["updated_at"]), r["op"], r["_op"], r["first_name"],
                r["_line"]) for r in raw]
        ts = e2e.parse_ts
        self.assertEqual(got, [
            ("1", "A", ts("2025-01-01 08:00:00"), "U", "U", None, "2"),
            ("1", None, ts("2025-01-01 11:00:00"), "d", "D", None, "3"),
            ("2", "B", ts("2025-01-01 12:00:00"), None, "U", None, "4"),
            ("6", "F", ts("2025-01-01 15:00:00"), "i", "U", None, "8"),
        ])
        rejects = {int(r["line"]): r["reason"].lower() for r in ds.sql("SELECT line, reason FROM customer_rejects")}
        self.assertEqual(sorted(rejects), [5, 6, 7], f"rejects: {rejects}")
        self.assertIn("updated_at", rejects[5])
        self.assertIn("updated_at", rejects[6])
        self.assertIn("op", rejects[7])

    def test_header_by_name_any_order_any_case(self):
        ds = self.ds
        data = b"City,EMAIL,Customer_Id\n10,x@y.z,42\n,,43\n"
        e2e.drop_file(None, ds.landing, name="sub/dir/reordered.csv", data=data)
        self.move_and_load()
        self.assertEqual(e2e.visible_files(ds.bucket), ["sub/dir/reordered.csv"], "the object key keeps the path")
        raw = ds.sql("SELECT customer_id, first_name, last_name, email, street, city, state, country, _object_key "
                     "FROM customer_raw ORDER BY customer_id")
        none = {c: None for c in e2e.ATTRS}
        self.assertEqual(raw, [
            {"customer_id": "42", **none, "city": "10", "email": "x@y.z", "_object_key": "sub/dir/reordered.csv"},
            {"customer_id": "43", **none, "_object_key": "sub/dir/reordered.csv"},
        ])

    def test_line_endings_limits_and_empty_files(self):
        ds = self.ds
        h = HEADER.rstrip(b"\r\n")
        e2e.drop_file(None, ds.landing, name="lf_no_final_newline.csv",
                      data=h + b"\n1,a,b,c,d,e,f,g\n2,a,b,c,d,e,f,g")
        e2e.drop_file(None, ds.landing, name="header_only.csv", data=HEADER)
        e2e.drop_file(None, ds.landing, name="empty.csv", data=b"")
        e2e.drop_file(None, ds.landing, name="int64.csv",
                      data=h + b"\n9223372036854775808,a,b,c,d,e,f,g\n-9223372036854775808,a,b,c,d,e,f,g\n"
                                b"1.0,a,b,c,d,e,f,g\n9223372036854775807,a,b,c,d,e,f,g\n")
        e2e.drop_file(None, ds.landing, name="long.csv",
                      data=h + b"\n3," + b"x" * 100000 + b",too,few\n4,a,b,c,d,e,f,g\n")
        self.move_and_load()
        lh = {r["object_key"]: (r["status"], r["rows_loaded"], r["rows_rejected"])
              for r in ds.sql("SELECT object_key, status, rows_loaded, rows_rejected FROM load_history")}
        self.assertEqual(lh.pop("empty.csv")[0], "failed", "an empty file has no header: it fails whole")
        self.assertEqual(lh, {"lf_no_final_newline.csv": ("loaded", "2", "0"), "header_only.csv": ("loaded", "0", "0"),
                              "int64.csv": ("loaded", "2", "2"), "long.csv": ("loaded", "1", "1")})
        self.assertEqual(ds.sql("SELECT customer_id FROM customer_raw WHERE _object_key = 'int64.csv' "
                                "ORDER BY customer_id"),
                         [{"customer_id": "-9223372036854775808"}, {"customer_id": "9223372036854775807"}])
        self.assertEqual([r["line"] for r in ds.sql("SELECT line FROM customer_rejects WHERE object_key = 'int64.csv' "
                                                    "ORDER BY line")], ["2", "4"])
        long_reject = ds.sql("SELECT line, raw FROM customer_rejects WHERE object_key = 'long.csv'")
        self.assertEqual(len(long_reject), 1)
        self.assertEqual(long_reject[0]["line"], "2")
        raw = long_reject[0]["raw"]
        self.assertTrue(raw.startswith("3,xxxx"), raw[:20])
        self.assertLessEqual(len(raw.encode()), 64 * 1024, "the raw text is cut at 64 KiB")
        self.assertGreaterEqual(len(raw.encode()), 60 * 1024, "the raw text should keep up to 64 KiB")

    def test_file_without_key_column_fails_whole(self):
        ds = self.ds
        e2e.drop_file(None, ds.landing, name="nokey.csv",
                      data=b"id,first_name,last_name\r\n1,A,B\r\n2,C,D\r\n")
        e2e.drop_file(None, ds.landing, name="good.csv", data=HEADER + b"1,A,B,a@b.c,s,c,st,co\r\n")
        self.move_and_load()
        lh = {r["object_key"]: r for r in ds.sql("SELECT object_key, status, rows_loaded, error FROM load_history")}
        self.assertEqual(sorted(lh), ["good.csv", "nokey.csv"])
        self.assertEqual(lh["nokey.csv"]["status"], "failed")
        self.assertIn("customer_id", lh["nokey.csv"]["error"] or "", "the reason should name the missing key")
        self.assertIn(lh["nokey.csv"]["rows_loaded"], ("0", None))
        self.assertEqual(lh["good.csv"]["status"], "loaded")
        self.assertEqual(ds.count("SELECT count(*) FROM customer_raw WHERE _object_key = 'nokey.csv'"), 0)
        self.assertEqual(ds.count("customer_raw"), 1)
        files = {r["object_key"]: r for r in ds.status_files()}
        self.assertEqual(files["nokey.csv"]["status"], "failed")
        # Failed is final for that content: listing again does not retry it into a second row.
        ds.run("load", "--until-idle")
        self.assertEqual(ds.count("SELECT count(*) FROM load_history WHERE object_key = 'nokey.csv'"), 1)

    def test_same_key_new_content_is_a_new_object(self):
        ds = self.ds
        v1 = HEADER + b"1,A,B,a@b.c,s,c,st,co\r\n"
        v2 = HEADER + b"1,A,B,a@b.c,s,c,st,co\r\n2,C,D,c@d.e,s,c,st,co\r\n"
        e2e.drop_file(None, ds.landing, name="f.csv", data=v1)
        self.move_and_load()
        e2e.drop_file(None, ds.landing, name="f.csv", data=v1)  # same content: nothing new
        self.move_and_load()
        self.assertEqual(ds.count("load_history"), 1)
        e2e.drop_file(None, ds.landing, name="f.csv", data=v2)  # new content under the same key: loaded
        self.move_and_load()
        lh = ds.sql("SELECT object_key, checksum, rows_loaded FROM load_history ORDER BY load_id")
        self.assertEqual([(r["object_key"], r["checksum"], r["rows_loaded"]) for r in lh],
                         [("f.csv", e2e.hashlib.sha256(v1).hexdigest(), "1"),
                          ("f.csv", e2e.hashlib.sha256(v2).hexdigest(), "2")])
        self.assertEqual(ds.count("customer_raw"), 3)
        self.assertEqual(e2e.visible_files(ds.landing), [])


if __name__ == "__main__":
    e2e.main()

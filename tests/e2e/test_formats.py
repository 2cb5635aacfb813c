#!/usr/bin/env python3
"""End-to-end: file formats (SEMANTICS.md section 1, "Files"). The four seed sample files, converted to each
format the loader reads, give the same dimension as the CSV files themselves.

    python3 tests/e2e/test_formats.py --binary build/dimstream [--samples DIR] [-v] [--keep]

The samples are tests/e2e/data/seed-sample/ (a copy of the four files, so that a clone has them) unless
--samples names another directory. For each format: a fresh data directory, the converted files fed one per
`run --until-idle` in their order (as test_merge.py does), then customer_history and customer_current must
equal those of the CSV run, with valid_from and valid_to (the commit times of the loads: the sample files have
no updated_at) told as the file whose load they are; load_history and `status --files` must show every row
loaded, none rejected, and the file's format and sizes. The CSV run itself is checked against the reference
fold (dimstream_e2e.fold). Parquet files are written by dimstream itself (DuckDB's COPY ... (FORMAT parquet));
zstd files by the zstd command.

Environment: DIMSTREAM_E2E_FORMATS, a comma-separated list of the formats to test (the names in FORMATS;
default all): the others are skipped. e2e.formats.postgres tests a few, the decoding of the others being the
same whatever the warehouse.
"""

import csv
import gzip
import io
import json
import os
import shutil
import subprocess
import unittest

import dimstream_e2e as e2e

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_SAMPLES = os.path.join(HERE, "data", "seed-sample")
COLUMNS = ("customer_id",) + e2e.ATTRS

# A header-less TSV names its fields in the configuration; a different order from the CSV header's, so that
# the fields are matched by these names and not by position.
TSV_COLUMNS = ("email", "customer_id", "country", "state", "city", "street", "last_name", "first_name")


def sample_files():
    if e2e.OPTIONS.samples is None:
        e2e.OPTIONS.samples = REPO_SAMPLES
    return e2e.sample_files()


def read_sample(path):
    """The rows of a sample CSV as dicts of text (the samples have no empty field and no quote)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, rec)) for rec in reader]


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout


def csv_text(header, rows, delimiter=",", with_header=True, columns=None):
    out = io.StringIO(newline="")
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    columns = columns or header
    if with_header:
        w.writerow(columns)
    for r in rows:
        w.writerow([r[c] for c in columns])
    return out.getvalue().encode("utf-8")


def jsonl(rows):
    """One object per line; customer_id as a JSON number, the rest strings, keys as in the CSV."""
    lines = []
    for r in rows:
        obj = {c: (int(v) if c == "customer_id" else v) for c, v in r.items()}
        lines.append(json.dumps(obj, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def ndjson(rows):
    """Another spelling: keys in another order and case, the key as a JSON string, non-ASCII escaped, CRLF, and a
    key that is no column (ignored)."""
    lines = []
    for r in rows:
        obj = {"SOURCE": "ndjson"}
        for c in reversed(COLUMNS):
            obj[c.upper() if c in ("customer_id", "email") else c.title()] = r[c]
        lines.append(json.dumps(obj, ensure_ascii=True))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


# Each format: object name suffix, the [entity.loader] configuration (or None), and how one sample file's bytes
# are made. "parquet" files are written by dimstream (see FormatsTest.parquet_of).
FORMATS = {
    "csv": (".csv", None),
    "csv.gz": (".csv.gz", None),
    "csv.zst": (".csv.zst", None),
    "jsonl": (".jsonl", None),
    "ndjson.gz": (".ndjson.gz", None),
    "parquet": (".parquet", None),
    "parquet.zst": (".parquet.zst", None),
    "semicolon": (".csv", '[entity.loader]\ndelimiter = ";"\n'),
    "tsv_no_header": (".tsv", '[entity.loader]\nformat = "csv"\ndelimiter = "tab"\nheader = false\ncolumns = [' +
                      ", ".join(f'"{c}"' for c in TSV_COLUMNS) + "]\n"),
}
# What load_history.format says for each.
FORMAT_NAME = {"semicolon": "csv", "tsv_no_header": "csv", "ndjson.gz": "jsonl.gz"}
SELECTED = [f for f in os.environ.get("DIMSTREAM_E2E_FORMATS", "").split(",") if f] or list(FORMATS)
if set(SELECTED) - set(FORMATS):
    raise SystemExit(f"DIMSTREAM_E2E_FORMATS names no format: {sorted(set(SELECTED) - set(FORMATS))} "
                     f"(the formats: {', '.join(FORMATS)})")


def stem(path):
    return os.path.basename(path)[: -len(".csv")]


class FormatsTest(unittest.TestCase):
    """One data directory per format; the CSV run is the reference."""

    @classmethod
    def setUpClass(cls):
        cls.samples = sample_files()
        cls.stems = [stem(f) for f in cls.samples]
        cls.tmp = e2e.make_class_temp_dir(cls, prefix="dimstream-formats-")
        cls.parsed = [read_sample(f) for f in cls.samples]
        cls.parquet = {}
        cls.baseline = None

    @classmethod
    def parquet_of(cls, i):
        """Sample file i as Parquet (customer_id BIGINT, the attributes VARCHAR), written once by dimstream
        (through a DuckDB warehouse of its own whatever --warehouse says: DuckDB's COPY writes it)."""
        if i not in cls.parquet:
            ds = e2e.Dimstream(os.path.join(cls.tmp, "parquet-writer"), warehouse="duckdb")
            out = os.path.join(cls.tmp, cls.stems[i] + ".parquet")
            types = ", ".join(f"'{c}': '{'BIGINT' if c == 'customer_id' else 'VARCHAR'}'" for c in cls.parsed[i][0])
            ds.run("sql", f"COPY (SELECT * FROM read_csv('{cls.samples[i]}', header = true, columns = {{{types}}}))"
                          f" TO '{out}' (FORMAT parquet)")
            with open(out, "rb") as f:
                cls.parquet[i] = f.read()
        return cls.parquet[i]

    def converted(self, fmt, i):
        """(bytes as stored, bytes after decompression) of sample file i in format fmt."""
        header, rows = self.parsed[i]
        with open(self.samples[i], "rb") as f:
            raw = f.read()
        if fmt == "csv":
            return raw, raw
        if fmt == "csv.gz":
            return gzip.compress(raw, mtime=0), raw
        if fmt == "csv.zst":
            return zstd(raw), raw
        if fmt == "jsonl":
            data = jsonl(rows)
            return data, data
        if fmt == "ndjson.gz":
            data = ndjson(rows)
            return gzip.compress(data, mtime=0), data
        if fmt == "parquet":
            data = self.parquet_of(i)
            return data, data
        if fmt == "parquet.zst":
            data = self.parquet_of(i)
            return zstd(data), data
        if fmt == "semicolon":
            data = csv_text(header, rows, delimiter=";")
            return data, data
        if fmt == "tsv_no_header":
            data = csv_text(header, rows, delimiter="\t", with_header=False, columns=TSV_COLUMNS)
            return data, data
        raise AssertionError(fmt)

    def load(self, fmt):
        """Loads the samples in format fmt into a fresh data directory, one file per run. Returns the data
        directory and {object key: (stored size, uncompressed size)}."""
        suffix, config_text = FORMATS[fmt]
        base = os.path.join(self.tmp, fmt)
        os.makedirs(base)
        if config_text is None:
            ds = e2e.Dimstream(os.path.join(base, "data"))
        else:
            config = os.path.join(base, "dimstream.toml")
            with open(config, "w") as f:
                f.write(config_text)
            ds = e2e.Dimstream(os.path.join(base, "data"), config=config)
        sizes = {}
        for i, s in enumerate(self.stems):
            stored, plain = self.converted(fmt, i)
            name = s + suffix
            sizes[name] = (len(stored), len(plain))
            os.makedirs(ds.landing, exist_ok=True)
            e2e.drop_file(None, ds.landing, name, data=stored)
            ds.run("run", "--until-idle", "--quiet")
        return ds, sizes

    def dimension(self, ds, sizes):
        """customer_history and customer_current with valid_from/valid_to as the stem of the file whose load
        they are (the loads' commit times differ from run to run)."""
        loads = ds.sql("SELECT object_key, sequence_time FROM load_history WHERE status = 'loaded'")
        self.assertEqual(sorted(l["object_key"] for l in loads), sorted(sizes))
        by_time = {}
        for l in loads:
            k = l["object_key"]
            by_time[e2e.parse_ts(l["sequence_time"])] = k[: k.index(".")]
        self.assertEqual(len(by_time), len(loads), "two loads with one sequence time")
        self.assertEqual([by_time[t] for t in sorted(by_time)], self.stems, "the loads committed out of order")

        def told(t):
            if t is None:
                return None
            self.assertIn(t, by_time, f"a version's time {t} is no load's sequence time")
            return by_time[t]

        history = e2e.read_history(ds)
        for r in history:
            r["valid_from"], r["valid_to"] = told(r["valid_from"]), told(r["valid_to"])
        current = e2e.read_current(ds)
        for r in current:
            r["valid_from"] = told(r["valid_from"])
        return history, current

    def get_baseline(self):
        """The CSV run: (data directory, sizes, history, current), loaded once for all tests."""
        cls = type(self)
        if cls.baseline is None:
            ds, sizes = self.load("csv")
            # The CSV run is the reference: it must itself be the fold of the records.
            e2e.assert_dimension_is_fold(self, ds, rows=40000)
            history, current = self.dimension(ds, sizes)
            self.assertGreater(len(history), len(current), "the samples should open new versions")
            cls.baseline = (ds, sizes, history, current)
        return cls.baseline

    def check_format(self, fmt):
        if fmt not in SELECTED:
            self.skipTest(f"{fmt} is not in DIMSTREAM_E2E_FORMATS={','.join(SELECTED)}")
        base_ds, base_sizes, history, current = self.get_baseline()
        ds, sizes = (base_ds, base_sizes) if fmt == "csv" else self.load(fmt)
        got_history, got_current = self.dimension(ds, sizes)
        e2e.assert_same_rows(self, history, got_history, ("customer_id", "valid_from"),
                             f"{fmt}: customer_history differs from the CSV run's")
        e2e.assert_same_rows(self, current, got_current, ("customer_id",),
                             f"{fmt}: customer_current differs from the CSV run's")

        want_format = FORMAT_NAME.get(fmt, fmt)
        loads = ds.sql("SELECT object_key, status, rows_loaded, rows_rejected, error, format, size, "
                       "uncompressed_size, ignored_columns FROM load_history ORDER BY object_key")
        self.assertEqual(len(loads), len(sizes), loads)
        for l in loads:
            name = l["object_key"]
            stored, plain = sizes[name]
            self.assertEqual((l["status"], l["rows_loaded"], l["rows_rejected"], l["error"]),
                             ("loaded", "10000", "0", None), f"{fmt}: {name}")
            self.assertEqual((l["format"], int(l["size"]), int(l["uncompressed_size"])), (want_format, stored, plain),
                             f"{fmt}: {name}: format, stored and uncompressed size")
            self.assertEqual(l["ignored_columns"], "1" if fmt == "ndjson.gz" else "0", f"{fmt}: {name}")
        self.assertEqual(ds.count("customer_rejects"), 0)

        files = {r["object_key"]: r for r in ds.status_files()}
        for name, (stored, plain) in sizes.items():
            r = files[name]
            self.assertEqual((r["format"], r["stored_bytes"], r["uncompressed_bytes"], r["status"],
                              r["rows_loaded"], r["rows_rejected"]),
                             (want_format, str(stored), str(plain), "loaded", "10000", "0"),
                             f"{fmt}: `status --files` for {name}")
        self.assertEqual(ds.check().returncode, 0, f"{fmt}: `dimstream check`")

    def test_csv(self):
        self.check_format("csv")

    def test_csv_gz(self):
        self.check_format("csv.gz")

    def test_csv_zst(self):
        self.check_format("csv.zst")

    def test_jsonl(self):
        self.check_format("jsonl")

    def test_ndjson_gz(self):
        self.check_format("ndjson.gz")

    def test_parquet(self):
        self.check_format("parquet")

    def test_parquet_zst(self):
        self.check_format("parquet.zst")

    def test_csv_dialect_semicolon(self):
        self.check_format("semicolon")

    def test_csv_dialect_tsv_without_header(self):
        self.check_format("tsv_no_header")


if __name__ == "__main__":
    e2e.main()

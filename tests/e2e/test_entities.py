"""Two entities at once from one configuration (SEMANTICS.md revision 2, sections 1-5 and 7): the seed's
customer stream and an orders stream shaped like a CDC export (a composite text + bigint key, a decimal, a
date, a two-column sequence of log position and position in the transaction, Debezium's c/u/d/r operations
and a truncate), loaded and merged by the built binary in several runs, and compared with a fold written
here, independently of the C++. Also: a file that matches no entity's file_pattern is recorded as failed
with the patterns in its reason; check, status and rebuild work per entity."""

import collections
import csv
import decimal
import io
import os
import random
import unittest

import dimstream_e2e as e2e

CONFIG = """
[[entities]]
name = "customer"

[[entities]]
name = "orders"
key_columns = ["tenant_id", "order_id"]
scd1_columns = ["status_note"]
scd2_columns = ["status", "amount", "ship_date"]
sequence_columns = ["lsn", "seq_in_tx"]
operation_column = "op"
delete_values = ["d", "DELETE"]
upsert_values = ["c", "u", "r", "INSERT", "UPDATE", ""]
truncate_values = ["t", "TRUNCATE"]
[entities.types]
tenant_id = "text"
order_id = "bigint"
amount = "decimal(12,2)"
ship_date = "date"
lsn = "bigint"
seq_in_tx = "bigint"
"""

ORDER_COLUMNS = ["tenant_id", "order_id", "status_note", "status", "amount", "ship_date", "lsn", "seq_in_tx", "op"]
ORDER_ATTRS = ("status_note", "status", "amount", "ship_date")
ORDER_SCD2 = ("status", "amount", "ship_date")
DEC = decimal.Decimal


def amount_spellings(value):
    """Equivalent texts of one decimal(12,2) value: 12.5, 12.50, 012.500."""
    plain = f"{value:.2f}"
    return [plain, plain.rstrip("0").rstrip(".") if "." in plain else plain, "0" + plain + "0"]


class OrdersStream:
    """A CDC export of orders: what each row means, and its CSV text, in the order the files hold them."""

    def __init__(self, seed, rows=2400, keys=150, files=6):
        rng = random.Random(seed)
        self.files = [[] for _ in range(files)]  # per file: (line text, record or None when it must be rejected)
        tenants = ["acme", "globex", "初音", "o'reilly"]
        keyspace = [(rng.choice(tenants), rng.randrange(1, 10 ** rng.choice([2, 6, 12]))) for _ in range(keys)]
        keyspace = sorted(set(keyspace))
        live = {}
        lsn = 1000
        newest = collections.defaultdict(lambda: None)  # key -> its newest (lsn, pos)
        used = collections.defaultdict(set)
        truncate_at = rows // 2
        for n in range(rows):
            f = min(files - 1, n * files // rows)
            if n == truncate_at:
                lsn += 5
                self.add(f, rng, [rng.choice(["", "acme"]), "", "", "", "", "", str(lsn), "0", rng.choice(["t", "TRUNCATE"])],
                         ("T", None, (lsn, 0), None))
                continue
            if rng.random() < 0.3:
                lsn += 1  # a new transaction; else the row joins the current one
            key = rng.choice(keyspace)
            pos = rng.randrange(0, 5)
            seq = (lsn, pos)
            roll = rng.random()
            if roll < 0.06 and newest[key] is not None:
                # Late: a position before the key's newest that it has not used.
                back = (newest[key][0] - rng.randrange(1, 30), rng.randrange(0, 5))
                if back not in used[key]:
                    seq = back
            elif roll < 0.12 and used[key]:
                seq = rng.choice(sorted(used[key]))  # a tie: the later arrival wins
            if rng.random() < 0.1 and key in live:
                self.add(f, rng, [key[0], str(key[1]), "", "", "", "", str(seq[0]), str(seq[1]),
                                  rng.choice(["d", "DELETE", " D "])], ("D", key, seq, None))
                del live[key]
            else:
                values = dict(live.get(key) or {})
                if not values or rng.random() < 0.3:
                    values["status"] = rng.choice(["new", "paid", "shipped", None])
                if not values or rng.random() < 0.3:
                    values["amount"] = DEC(rng.randrange(0, 100000)) / 100
                if not values or rng.random() < 0.2:
                    values["ship_date"] = f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
                values["status_note"] = rng.choice(["ok", "call back", "\"quoted\", with comma", None, "é"])
                live[key] = values
                amount = values.get("amount")
                self.add(f, rng, [key[0], rng.choice([str(key[1]), "0" + str(key[1]), "+" + str(key[1])]),
                                  values.get("status_note") or "", values.get("status") or "",
                                  "" if amount is None else rng.choice(amount_spellings(amount)),
                                  values.get("ship_date") or "", str(seq[0]), str(seq[1]),
                                  rng.choice(["c", "u", "r", "INSERT", "update", ""])],
                         ("U", key, seq, dict(values)))
            used[key].add(seq)
            if newest[key] is None or seq > newest[key]:
                newest[key] = seq
            if rng.random() < 0.01:
                bad = [key[0], "x" + str(key[1]), "bad", "new", "12,5", "2025-13-01", str(lsn), "0", "c"]
                self.add(f, rng, bad, None)

    def add(self, f, rng, fields, record):
        self.files[f].append((fields, record))

    def csv_files(self, rng):
        """(name, bytes, [(line, record)]) per file: shuffled columns, CRLF or LF, RFC 4180 quoting."""
        out = []
        for i, rows in enumerate(self.files):
            order = list(range(len(ORDER_COLUMNS)))
            rng.shuffle(order)
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator=rng.choice(["\r\n", "\n"]))
            w.writerow([ORDER_COLUMNS[j].upper() if rng.random() < 0.3 else ORDER_COLUMNS[j] for j in order])
            lines = []
            for n, (fields, record) in enumerate(rows):
                w.writerow([fields[j] for j in order])
                lines.append((n + 2, record))
            out.append((f"orders_{i:03d}.csv", buf.getvalue().encode("utf-8"), lines))
        return out


def fold_orders(records):
    """records: (op, key, (lsn, pos), arrival, values). SEMANTICS.md sections 4-5: per key, its records and every
    truncate in (sequence, arrival) order; a tie keeps the later arrival only; truncate closes like a delete."""
    truncates = [r for r in records if r[0] == "T"]
    by_key = collections.defaultdict(list)
    for r in records:
        if r[0] != "T":
            by_key[r[1]].append(r)
    history = []
    for key in sorted(by_key):
        events = sorted(by_key[key] + truncates, key=lambda r: (r[2], r[3]))
        kept = []
        for r in events:
            if kept and kept[-1][2] == r[2]:
                kept[-1] = r
            else:
                kept.append(r)
        current = None
        for op, _, seq, _, values in kept:
            if op != "U":
                if current is not None:
                    current["valid_to"] = seq
                    current = None
                continue
            if current is not None and all(current[c] == values.get(c) for c in ORDER_SCD2):
                current["status_note"] = values.get("status_note")
                continue
            if current is not None:
                current["valid_to"] = seq
            current = {"tenant_id": key[0], "order_id": key[1], **{c: values.get(c) for c in ORDER_ATTRS},
                       "valid_from": seq, "valid_to": None}
            history.append(current)
    history.sort(key=lambda v: (v["tenant_id"].encode(), v["order_id"], v["valid_from"]))
    return history


def read_orders(ds):
    rows = ds.sql("SELECT tenant_id, order_id, status_note, status, CAST(amount AS VARCHAR) AS amount, "
                  "CAST(ship_date AS VARCHAR) AS ship_date, valid_from, valid_from_seq_in_tx, valid_to, "
                  f"valid_to_seq_in_tx FROM orders_history ORDER BY {ds.spell('byte_order', 'tenant_id')}, "
                  "order_id, valid_from, valid_from_seq_in_tx")
    out = []
    for r in rows:
        out.append({"tenant_id": r["tenant_id"], "order_id": int(r["order_id"]), "status_note": r["status_note"],
                    "status": r["status"], "amount": None if r["amount"] is None else DEC(r["amount"]),
                    "ship_date": r["ship_date"],
                    "valid_from": (int(r["valid_from"]), int(r["valid_from_seq_in_tx"])),
                    "valid_to": None if r["valid_to"] is None else (int(r["valid_to"]), int(r["valid_to_seq_in_tx"]))})
    return out


class TwoEntitiesTest(unittest.TestCase):
    def setUp(self):
        self.dir = e2e.make_temp_dir(self)
        self.config = os.path.join(self.dir, "dimstream.toml")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        self.ds = e2e.Dimstream(os.path.join(self.dir, "data"))
        os.makedirs(self.ds.landing)

    def run_ds(self, *args, check=True):
        return self.ds.run("--config", self.config, *args, check=check)

    def sql(self, query):
        return e2e.parse_csv(self.run_ds("sql", "--format", "csv", query).stdout)

    def test_customers_and_cdc_orders_in_one_process(self):
        rng = random.Random(11)
        orders = OrdersStream(seed=7).csv_files(rng)
        samples = e2e.sample_files()
        # Three rounds: half the customer samples and orders, the rest, then a file no entity takes.
        rounds = [(samples[:2], orders[:3]), (samples[2:], orders[3:]), ([], [])]
        arrival_of = {}
        for i, (customer_files, order_files) in enumerate(rounds):
            for path in customer_files:
                e2e.drop_file(path, self.ds.landing)
            for name, data, _ in order_files:
                e2e.drop_file(None, self.ds.landing, name, data)
            if i == 2:
                e2e.drop_file(None, self.ds.landing, "products_1.csv", b"sku,name\nA,x\n")
            self.run_ds("run", "--until-idle", "--quiet")

        loads = self.sql("SELECT load_id, object_key, entity, status, rows_loaded, rows_rejected, error, "
                         "sequence_time FROM load_history ORDER BY load_id")
        by_key = {l["object_key"]: l for l in loads}
        # Routed by file_pattern; the stray file failed with the patterns in its reason.
        for path in samples:
            self.assertEqual(by_key[os.path.basename(path)]["entity"], "customer")
        stray = by_key["products_1.csv"]
        self.assertEqual(stray["status"], "failed")
        self.assertIsNone(stray["entity"])
        self.assertIn('customer = "customer_*", orders = "orders_*"', stray["error"])

        # Orders: every row loaded or rejected, and the dimension is the independent fold.
        records = []
        for name, _, lines in orders:
            load = by_key[name]
            self.assertEqual(load["entity"], "orders")
            self.assertEqual(load["status"], "loaded", load)
            accepted = [(line, r) for line, r in lines if r is not None]
            self.assertEqual(int(load["rows_loaded"]), len(accepted), name)
            self.assertEqual(int(load["rows_rejected"]), len(lines) - len(accepted), name)
            for line, (op, key, seq, values) in accepted:
                records.append((op, key, seq, (int(load["load_id"]), line), values))
        rejects = self.sql("SELECT object_key, line, reason FROM orders_rejects ORDER BY object_key, line")
        expected_rejects = [(name, line) for name, _, lines in orders for line, r in lines if r is None]
        self.assertEqual([(r["object_key"], int(r["line"])) for r in rejects], expected_rejects)
        for r in rejects:
            self.assertIn('key "order_id" is "x', r["reason"])
            self.assertIn('amount "12,5" is not a decimal(12,2)', r["reason"])
        self.assertTrue(any(r[0] == "T" for r in records), "the stream has a truncate")
        self.assertTrue(any(r[0] == "D" for r in records), "the stream has deletes")
        expected = fold_orders(records)
        e2e.assert_same_rows(self, expected, read_orders(self.ds), ("tenant_id", "order_id", "valid_from"),
                             "orders_history differs from the reference fold")
        open_orders = self.sql("SELECT count(*) AS n FROM orders_current")[0]["n"]
        self.assertEqual(int(open_orders), sum(1 for v in expected if v["valid_to"] is None))

        # Customers: the sample files' records, each file's sequence its load's commit time.
        customer_records = []
        customer_loads = sorted((l for l in loads if l["entity"] == "customer"),
                                key=lambda l: (e2e.parse_ts(l["sequence_time"]), int(l["load_id"])))
        for order, l in enumerate(customer_loads):
            customer_records += e2e.records_from_csv_file(os.path.join(self.ds.bucket, l["object_key"]),
                                                          e2e.parse_ts(l["sequence_time"]), order)
        self.assertEqual(len(customer_records), 40000)
        expected_customers = e2e.fold(customer_records)
        e2e.assert_same_rows(self, expected_customers, e2e.read_history(self.ds), ("customer_id", "valid_from"),
                             "customer_history differs from the reference fold")

        # Each entity has its own watermark and task records; check, status and rebuild work per entity.
        jobs = {r["job_name"] for r in self.sql("SELECT job_name FROM parameter_control WHERE parameter_name = 'LETS'")}
        self.assertEqual(jobs, {"customer_merge", "orders_merge"})
        tasks = {r["task_name"] for r in self.sql("SELECT DISTINCT task_name FROM task_history")}
        self.assertEqual(tasks, {"customer_merge", "orders_merge"})
        check = self.run_ds("check")
        self.assertIn("check customer: all invariants hold", check.stdout)
        self.assertIn("check orders: all invariants hold", check.stdout)
        status = self.run_ds("status", "--entity", "orders", "--format", "csv").stdout
        self.assertIn("orders,", status)
        self.assertNotIn("customer,", status)
        rebuild = self.run_ds("rebuild", "--entity", "orders").stdout
        self.assertIn("rebuild orders:", rebuild)
        self.assertIn("(identical)", rebuild)
        unknown = self.run_ds("check", "--entity", "nope", check=False)
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("no entity 'nope'", unknown.stderr)


if __name__ == "__main__":
    e2e.main()

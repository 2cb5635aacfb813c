"""A second pipeline declared in a configuration file, with no code: a product entity whose key, SCD1 and
SCD2 columns, sequence column, (absent) operation column and types come from TOML. Also: configuration errors
are refused with a message naming the key, and hostile names never reach SQL."""

import os
import unittest

import dimstream_e2e as e2e

PRODUCT_TOML = """
[entity]
name = "product"
key_columns = ["product_id"]
scd1_columns = ["price"]
scd2_columns = ["category", "supplier"]
sequence_column = "changed_at"
operation_column = ""
[entity.types]
product_id = "bigint"
price = "decimal(10,2)"
"""


class ConfiguredEntityTest(unittest.TestCase):
    def setUp(self):
        self.dir = e2e.make_temp_dir(self)
        self.config = os.path.join(self.dir, "product.toml")
        with open(self.config, "w") as f:
            f.write(PRODUCT_TOML)
        self.ds = e2e.Dimstream(os.path.join(self.dir, "data"))

    def run_ds(self, *args, check=True):
        return self.ds.run("--config", self.config, *args, check=check)

    def sql(self, query):
        return e2e.parse_csv(self.run_ds("sql", "--format", "csv", query).stdout)

    def test_product_pipeline(self):
        landing = self.ds.landing
        os.makedirs(landing, exist_ok=True)
        e2e.drop_file(None, landing, "p1.csv", data=(
            b"product_id,price,category,supplier,changed_at\r\n"
            b"1,9.99,tools,ACME,2025-01-01T00:00:00Z\r\n"
            b"2,5.00,toys,Blue Co,2025-01-01T00:00:00Z\r\n"
            b"x,1.00,toys,Blue Co,2025-01-01T00:00:00Z\r\n"))
        self.run_ds("run", "--until-idle", "--quiet")
        e2e.drop_file(None, landing, "p2.csv", data=(
            b"changed_at,product_id,price,category,supplier\n"
            b"2025-02-01T00:00:00Z,1,8.99,tools,ACME\n"          # SCD1: price in place
            b"2025-02-01T00:00:00Z,2,5.00,games,Blue Co\n"       # SCD2: new category
            b"2025-01-15T00:00:00Z,2,4.50,toys,Blue Co\n"))      # late SCD1 on the first version
        self.run_ds("run", "--until-idle", "--quiet")

        epoch = lambda column: self.ds.spell("epoch_seconds", column)  # noqa: E731
        history = self.sql(f"SELECT product_id, price, category, supplier, {epoch('valid_from')} AS f, "
                           f"{epoch('valid_to')} AS t, is_current FROM product_history "
                           "ORDER BY product_id, valid_from")
        jan1, jan15, feb1 = 1735689600, 1736899200, 1738368000
        self.assertEqual(jan15 - jan1, 14 * 86400)
        self.assertEqual(history, [
            {"product_id": "1", "price": "8.99", "category": "tools", "supplier": "ACME", "f": str(jan1),
             "t": None, "is_current": "true"},
            {"product_id": "2", "price": "4.50", "category": "toys", "supplier": "Blue Co", "f": str(jan1),
             "t": str(feb1), "is_current": "false"},
            {"product_id": "2", "price": "5.00", "category": "games", "supplier": "Blue Co", "f": str(feb1),
             "t": None, "is_current": "true"},
        ])
        self.assertEqual(self.sql("SELECT count(*) AS n FROM product_current"), [{"n": "2"}])
        rejects = self.sql("SELECT object_key, line, reason FROM product_rejects")
        self.assertEqual(len(rejects), 1)
        self.assertIn('key "product_id" is "x", not a bigint', rejects[0]["reason"])
        self.assertEqual(self.sql("SELECT parameter_name FROM parameter_control WHERE job_name = 'product_merge'"),
                         [{"parameter_name": "LETS"}])
        self.assertEqual(self.run_ds("check", check=False).returncode, 0)
        # The customer tables were never created: the entity is the configuration's alone.
        tables = {r["table_name"] for r in self.sql("SELECT table_name FROM information_schema.tables")}
        self.assertIn("product_history", tables)
        self.assertNotIn("customer_history", tables)

    def test_bad_configuration_is_refused_by_name(self):
        cases = {
            "[merge]\ninterval_msec = 5\n": "unknown configuration key 'merge.interval_msec'",
            "[merge]\ninterval_ms = \"soon\"\n": "'merge.interval_ms' must be an integer",
            "[loader]\non_error = \"ignore\"\n": "'loader.on_error' must be one of",
            "[entity]\nname = \"x\\\"; DROP TABLE y; --\"\n": "entity.name",
            "[entity]\nscd1_columns = [\"a\\\"b\"]\n": "is not a valid name",
        }
        for text, expected in cases.items():
            with open(self.config, "w") as f:
                f.write(text)
            p = self.run_ds("status", check=False)
            self.assertNotEqual(p.returncode, 0, text)
            self.assertIn(expected, p.stderr, text)
            self.assertIn(self.config, p.stderr, text)
        self.assertFalse(self.ds.warehouse_exists(), "a refused configuration must touch nothing")


if __name__ == "__main__":
    e2e.main()

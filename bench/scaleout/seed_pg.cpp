#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "bench/bench_common.h"
#include "bench/scaleout/phases.h"
#include "bench/scaleout/servers.h"
#include "config/entity.h"
#include "warehouse/sql.h"

namespace dimstream::scaleout {
namespace {

using bench::Clock;
using bench::Seconds;

// The seed's tables and stored procedure (SEED.md) in PostgreSQL's SQL, with the fixes it needs to run at
// all and no more (as the DuckDB port in bench/merge/seed_baseline.cpp): the batch reduced to the latest row
// of each key (DISTINCT ON), the SCD2 insert joined against current versions only, NULL-safe hashes, one
// transaction. RAW carries MD5 hashes of the SCD1 and SCD2 columns and INSERT_TS; LETS is a timestamp in
// parameter_control. No indexes, as on Snowflake; STAGE is analysed once filled, which a PostgreSQL port
// needs for the planner to join it by hashing rather than by nested loops.
class SeedSql {
 public:
  SeedSql() {
    const EntitySpec e;
    key_ = QuoteIdent(e.key_columns.front());
    for (const auto& col : e.attribute_columns()) {
      attrs_.push_back(QuoteIdent(col));
    }
    for (const auto& col : e.scd1_columns) {
      scd1_.push_back(QuoteIdent(col));
    }
    for (const auto& col : e.scd2_columns) {
      scd2_.push_back(QuoteIdent(col));
    }
  }

  std::vector<std::string> Schema() const {
    std::string cols = key_ + " BIGINT";
    for (const auto& a : attrs_) {
      cols += ", " + a + " TEXT";
    }
    const std::string row = cols + ", scd1_hash TEXT, scd2_hash TEXT";
    return {
        fmt::format("CREATE TABLE seed_landing ({})", cols),
        fmt::format("CREATE TABLE raw ({}, insert_ts TIMESTAMP)", row),
        fmt::format("CREATE TABLE stage ({}, insert_ts TIMESTAMP)", row),
        fmt::format(
            "CREATE TABLE customer_history ({}, start_ts TIMESTAMP, end_ts TIMESTAMP, is_current BOOLEAN)",
            row),
        fmt::format("CREATE TABLE customer_current ({}, valid_from TIMESTAMP, updated_at TIMESTAMP)", row),
        "CREATE TABLE parameter_control (job_name TEXT, parameter_name TEXT, parameter_value TEXT, "
        "updated_at "
        "TIMESTAMP)",
        "INSERT INTO parameter_control VALUES ('customer_merge', 'LETS', '1970-01-01 00:00:00', now())",
    };
  }

  // Snowpipe's COPY of one file, with the seed's two hash columns and INSERT_TS: the file's CSV into
  // seed_landing, then this.
  std::string LoadRaw() const {
    return fmt::format("INSERT INTO raw SELECT {}, {}, {}, {}, clock_timestamp() FROM seed_landing", key_,
                       List(attrs_, ""), Hash(scd1_), Hash(scd2_));
  }

  std::vector<std::pair<std::string, std::string>> Steps() const {
    const std::string lets =
        "(SELECT parameter_value::TIMESTAMP FROM parameter_control WHERE job_name = 'customer_merge' AND "
        "parameter_name = 'LETS')";
    std::string scd1_set;
    for (const auto& a : scd1_) {
      scd1_set += fmt::format("{0} = s.{0}, ", a);
    }
    std::string all_set;
    for (const auto& a : attrs_) {
      all_set += fmt::format("{0} = s.{0}, ", a);
    }
    const std::string s_attrs = List(attrs_, "s.");
    return {
        {"truncate stage", "TRUNCATE stage"},
        {"raw to stage",
         fmt::format(
             "INSERT INTO stage SELECT DISTINCT ON ({0}) * FROM raw WHERE insert_ts > {1} ORDER BY {0}, "
             "insert_ts DESC",
             key_, lets)},
        {"analyze stage", "ANALYZE stage"},
        {"SCD2 expire",
         fmt::format(
             "UPDATE customer_history AS h SET end_ts = s.insert_ts, is_current = false FROM stage AS s "
             "WHERE h.{0} = s.{0} AND h.is_current AND h.scd2_hash <> s.scd2_hash",
             key_)},
        {"SCD2 insert",
         fmt::format(
             "INSERT INTO customer_history SELECT s.{0}, {1}, s.scd1_hash, s.scd2_hash, s.insert_ts, NULL, "
             "true FROM stage AS s WHERE NOT EXISTS (SELECT 1 FROM customer_history AS h WHERE h.{0} = "
             "s.{0} AND h.is_current)",
             key_, s_attrs)},
        {"SCD1 merge history",
         fmt::format(
             "MERGE INTO customer_history AS h USING stage AS s ON h.{0} = s.{0} AND h.is_current WHEN "
             "MATCHED AND h.scd1_hash <> s.scd1_hash THEN UPDATE SET {1}scd1_hash = s.scd1_hash",
             key_, scd1_set)},
        {"SCD1 merge current",
         fmt::format(
             "MERGE INTO customer_current AS c USING stage AS s ON c.{0} = s.{0} WHEN MATCHED AND "
             "(c.scd1_hash <> s.scd1_hash OR c.scd2_hash <> s.scd2_hash) THEN UPDATE SET {1}scd1_hash = "
             "s.scd1_hash, scd2_hash = s.scd2_hash, valid_from = CASE WHEN c.scd2_hash <> s.scd2_hash "
             "THEN s.insert_ts ELSE c.valid_from END, updated_at = s.insert_ts WHEN NOT MATCHED THEN "
             "INSERT VALUES (s.{0}, {2}, s.scd1_hash, s.scd2_hash, s.insert_ts, s.insert_ts)",
             key_, all_set, s_attrs)},
        {"advance LETS",
         "UPDATE parameter_control SET parameter_value = (SELECT max(insert_ts) FROM stage)::TEXT, "
         "updated_at = "
         "now() WHERE job_name = 'customer_merge' AND parameter_name = 'LETS' AND EXISTS (SELECT 1 FROM "
         "stage)"},
        {"delete raw", "DELETE FROM raw WHERE insert_ts <= " + lets},
        {"empty stage", "TRUNCATE stage"},
    };
  }

 private:
  static std::string List(const std::vector<std::string>& cols, const std::string& prefix) {
    std::string out;
    for (const auto& col : cols) {
      out += (out.empty() ? "" : ", ") + prefix + col;
    }
    return out;
  }
  // MD5 of the columns, NULL-safe (the seed's hash was NULL when any column was).
  static std::string Hash(const std::vector<std::string>& cols) {
    std::string parts;
    for (const auto& col : cols) {
      parts += fmt::format(", coalesce({}, chr(30))", col);
    }
    return fmt::format("md5(concat_ws(chr(31){}))", parts);
  }

  std::string key_;
  std::vector<std::string> attrs_, scd1_, scd2_;
};

// An order-free fingerprint of a table's rows over the key and the attributes (and is_current): the count
// and the sum of a 60-bit prefix of each row's MD5.
std::string FingerprintSql(const std::string& table, bool history) {
  const EntitySpec e;
  std::string parts = QuoteIdent(e.key_columns.front()) + "::TEXT";
  for (const auto& col : e.attribute_columns()) {
    parts += fmt::format(", coalesce({}, chr(30))", QuoteIdent(col));
  }
  if (history) {
    parts += ", is_current::TEXT";
  }
  return fmt::format(
      "SELECT count(*)::TEXT || ' rows, ' || coalesce(sum(('x' || substr(md5(concat_ws(chr(31), {})), 1, "
      "15))::BIT(60)::BIGINT), 0)::TEXT FROM {}",
      parts, QuoteIdent(table));
}

Result<std::string> Fingerprint(pg::PgConnection& conn, const std::string& table, bool history) {
  auto r = conn.Exec(FingerprintSql(table, history), {}, "fingerprint " + table);
  if (!r.ok()) {
    return r.error();
  }
  return std::string(r->Text(0, 0));
}

}  // namespace

Status RunSeedPhase(const Context& c, const std::vector<std::string>& order, SeedResult& r) {
  DIMSTREAM_TRY(RecreateDatabase(c.pg_url, kSeedDatabase));
  auto opened = Connect(WithDatabase(c.pg_url, kSeedDatabase));
  if (!opened.ok()) {
    return opened.error();
  }
  pg::PgConnection& conn = **opened;
  const SeedSql sql;
  for (const auto& ddl : sql.Schema()) {
    DIMSTREAM_TRY(conn.Run(ddl, {}, "create the seed's tables"));
  }
  const auto steps = sql.Steps();
  const std::string load_raw = sql.LoadRaw();
  for (size_t i = 0; i < order.size(); ++i) {
    std::ifstream in(c.files_dir / order[i], std::ios::binary);
    const std::string csv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto loading = Clock::now();
    auto copied =
        conn.CopyIn("COPY seed_landing FROM STDIN (FORMAT csv, HEADER true)", csv, "COPY " + order[i]);
    if (!copied.ok()) {
      return copied.error();
    }
    DIMSTREAM_TRY(conn.Run(load_raw, {}, "fill RAW"));
    DIMSTREAM_TRY(conn.Run("TRUNCATE seed_landing", {}, "empty seed_landing"));
    r.raw_load_seconds += Seconds(Clock::now() - loading);
    r.rows += *copied;

    auto start = Clock::now();
    DIMSTREAM_TRY(conn.Run("BEGIN", {}, "begin"));
    for (size_t s = 0; s < steps.size(); ++s) {
      auto step_start = Clock::now();
      Status st = conn.Run(steps[s].second, {}, steps[s].first);
      if (!st.ok()) {
        (void)conn.Run("ROLLBACK");
        return st.error().Context("the seed's procedure on " + order[i]);
      }
      if (r.steps.size() <= s) {
        r.steps.emplace_back(steps[s].first, 0.0);
      }
      r.steps[s].second += Seconds(Clock::now() - step_start);
    }
    auto committing = Clock::now();
    DIMSTREAM_TRY(conn.Run("COMMIT", {}, "commit"));
    if (r.steps.size() <= steps.size()) {
      r.steps.emplace_back("commit", 0.0);
    }
    r.steps.back().second += Seconds(Clock::now() - committing);
    r.run_seconds.push_back(Seconds(Clock::now() - start));
    fmt::print(stderr, "  seed procedure, file {} of {} ({}): {:.3f} s\n", i + 1, order.size(), order[i],
               r.run_seconds.back());
  }
  auto current = QueryInt(conn, "SELECT count(*) FROM customer_current");
  auto history = QueryInt(conn, "SELECT count(*) FROM customer_history");
  if (!current.ok() || !history.ok()) {
    return current.ok() ? history.error() : current.error();
  }
  r.current_rows = static_cast<uint64_t>(*current);
  r.history_rows = static_cast<uint64_t>(*history);
  return Ok();
}

Status CompareWithSeed(const Context& c, std::vector<Check>& checks) {
  auto seed = Connect(WithDatabase(c.pg_url, kSeedDatabase));
  auto dim = Connect(WithDatabase(c.pg_url, LoadDatabase(c.o.loaders.front())));
  if (!seed.ok() || !dim.ok()) {
    return seed.ok() ? dim.error() : seed.error();
  }
  const EntitySpec e;
  for (bool history : {false, true}) {
    const std::string table = history ? e.history_table() : e.current_table();
    auto a = Fingerprint(**dim, table, history);
    auto b = Fingerprint(**seed, table, history);
    if (!a.ok() || !b.ok()) {
      return a.ok() ? b.error() : a.error();
    }
    checks.push_back(
        {fmt::format("the seed's {} and dimstream's agree (dimstream {}; seed {})", table, *a, *b),
         *a == *b});
  }
  return Ok();
}

}  // namespace dimstream::scaleout

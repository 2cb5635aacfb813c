#include "bench/merge/seed_baseline.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "bench/merge/dimstream_side.h"
#include "bench/merge/seed_db.h"
#include "common/clock.h"
#include "config/entity.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

// The seed's tables and its stored procedure (SEED.md), ported to DuckDB as honestly as it can be made to
// work: RAW carries MD5 hashes of the SCD1 and of the SCD2 columns and INSERT_TS; STAGE is RAW's shape; the
// dimension is customer_history (SCD2 versions with start and end time and a current flag; name and email
// overwritten on the current version) and customer_current (one row per key); LETS is a timestamp in
// parameter_control. The fixes it needs to run at all, and no more: in-batch reduction (the latest row per
// key), the SCD2 insert joined against the current versions only, NULL-safe hashes, one transaction.
class SeedProcedure {
 public:
  explicit SeedProcedure(const EntitySpec& e) : entity_(e) {
    const std::string key = QuoteIdent(e.key_columns.front());
    raw_ = QuoteIdent(e.raw_table());
    stage_ = QuoteIdent(e.stage_table());
    history_ = QuoteIdent(e.history_table());
    current_ = QuoteIdent(e.current_table());
    control_ = QuoteIdent("parameter_control");
    key_ = key;
    attrs_ = IdentList(e.attribute_columns());
  }

  std::vector<std::string> Schema() const {
    std::string attrs;
    for (const auto& c : entity_.attribute_columns()) {
      attrs += ", " + QuoteIdent(c) + " VARCHAR";
    }
    const std::string input = key_ + " BIGINT" + attrs + ", scd1_hash VARCHAR, scd2_hash VARCHAR";
    return {
        fmt::format("CREATE TABLE {} ({}, insert_ts TIMESTAMP)", raw_, input),
        fmt::format("CREATE TABLE {} ({}, insert_ts TIMESTAMP)", stage_, input),
        fmt::format("CREATE TABLE {} ({}, start_ts TIMESTAMP, end_ts TIMESTAMP, is_current BOOLEAN)",
                    history_, input),
        fmt::format("CREATE TABLE {} ({}, valid_from TIMESTAMP, updated_at TIMESTAMP)", current_, input),
        fmt::format("CREATE TABLE {} (job_name VARCHAR, parameter_name VARCHAR, parameter_value VARCHAR, "
                    "updated_at TIMESTAMP)",
                    control_),
    };
  }

  // Seeds LETS ($1 job, $2 'LETS').
  std::string InitLets() const {
    return fmt::format("INSERT INTO {} VALUES ($1, $2, '1970-01-01 00:00:00', now())", control_);
  }

  // The Snowpipe COPY of one file into RAW ($1 path, $2 INSERT_TS), with the seed's two hash columns.
  std::string LoadRaw() const {
    std::string columns = QuoteLiteral(entity_.key_columns.front()) + ": 'BIGINT'";
    for (const auto& c : entity_.attribute_columns()) {
      columns += ", " + QuoteLiteral(c) + ": 'VARCHAR'";
    }
    return fmt::format(
        "INSERT INTO {} SELECT {}, {}, {}, {}, $2 FROM read_csv($1, header = true, auto_detect = false, "
        "delim = "
        "',', quote = '\"', escape = '\"', columns = {{{}}})",
        raw_, key_, attrs_, Hash(entity_.scd1_columns), Hash(entity_.scd2_columns), columns);
  }

  // The procedure's statements in order, each with a name for the step timings. Parameters: $1 the job name,
  // $2 'LETS'. BEGIN and COMMIT are the caller's.
  std::vector<std::pair<std::string, std::string>> Steps() const {
    const std::string lets = fmt::format(
        "(SELECT CAST(parameter_value AS TIMESTAMP) FROM {} WHERE job_name = $1 AND parameter_name = $2)",
        control_);
    std::string set_scd1;
    for (const auto& c : entity_.scd1_columns) {
      set_scd1 += fmt::format("{} = s.{}, ", QuoteIdent(c), QuoteIdent(c));
    }
    std::string set_all;
    for (const auto& c : entity_.attribute_columns()) {
      set_all += fmt::format("{} = s.{}, ", QuoteIdent(c), QuoteIdent(c));
    }
    const std::string s_attrs = IdentList(entity_.attribute_columns(), "s.");
    return {
        {"truncate stage", fmt::format("DELETE FROM {}", stage_)},
        // RAW above LETS into STAGE, reduced to the latest row of each key: the seed's MERGE cannot run
        // on a batch that holds a key twice.
        {"raw to stage",
         fmt::format("INSERT INTO {0} SELECT * FROM {1} WHERE insert_ts > {2} QUALIFY row_number() OVER "
                     "(PARTITION BY {3} ORDER BY insert_ts DESC) = 1",
                     stage_, raw_, lets, key_)},
        {"SCD2 expire",
         fmt::format(
             "UPDATE {0} AS h SET end_ts = s.insert_ts, is_current = false FROM {1} AS s WHERE h.{2} = "
             "s.{2} AND h.is_current AND h.scd2_hash <> s.scd2_hash",
             history_, stage_, key_)},
        {"SCD2 insert",
         fmt::format(
             "INSERT INTO {0} SELECT s.{2}, {3}, s.scd1_hash, s.scd2_hash, s.insert_ts, NULL, true FROM "
             "{1} AS s WHERE NOT EXISTS (SELECT 1 FROM {0} AS h WHERE h.{2} = s.{2} AND h.is_current)",
             history_, stage_, key_, s_attrs)},
        {"SCD1 merge history",
         fmt::format("MERGE INTO {0} AS h USING {1} AS s ON h.{2} = s.{2} AND h.is_current WHEN MATCHED AND "
                     "h.scd1_hash <> s.scd1_hash THEN UPDATE SET {3}scd1_hash = s.scd1_hash",
                     history_, stage_, key_, set_scd1)},
        {"SCD1 merge current",
         fmt::format(
             "MERGE INTO {0} AS c USING {1} AS s ON c.{2} = s.{2} WHEN MATCHED AND (c.scd1_hash <> "
             "s.scd1_hash OR c.scd2_hash <> s.scd2_hash) THEN UPDATE SET {3}scd1_hash = s.scd1_hash, "
             "scd2_hash = s.scd2_hash, valid_from = CASE WHEN c.scd2_hash <> s.scd2_hash THEN s.insert_ts "
             "ELSE c.valid_from END, updated_at = s.insert_ts WHEN NOT MATCHED THEN INSERT VALUES (s.{2}, "
             "{4}, s.scd1_hash, s.scd2_hash, s.insert_ts, s.insert_ts)",
             current_, stage_, key_, set_all, s_attrs)},
        {"advance LETS",
         fmt::format(
             "UPDATE {0} SET parameter_value = CAST((SELECT max(insert_ts) FROM {1}) AS VARCHAR), "
             "updated_at = now() WHERE job_name = $1 AND parameter_name = $2 AND EXISTS (SELECT 1 FROM {1})",
             control_, stage_)},
        {"delete raw", fmt::format("DELETE FROM {} WHERE insert_ts <= {}", raw_, lets)},
        {"empty stage", fmt::format("DELETE FROM {}", stage_)},
    };
  }

  // Rows of `a` missing from `b` (as multisets) over the key, the attributes and, for history, is_current:
  // the count and up to five keys.
  std::pair<std::string, std::string> Difference(const std::string& a_catalog, const std::string& b_catalog,
                                                 bool history) const {
    const std::string table = history ? entity_.history_table() : entity_.current_table();
    const std::string columns = key_ + ", " + attrs_ + (history ? ", is_current" : "");
    const std::string diff =
        fmt::format("SELECT {0} FROM {1}.main.{3} EXCEPT ALL SELECT {0} FROM {2}.main.{3}", columns,
                    QuoteIdent(a_catalog), QuoteIdent(b_catalog), QuoteIdent(table));
    return {fmt::format("SELECT count(*) FROM ({})", diff),
            fmt::format("SELECT DISTINCT {} FROM ({}) ORDER BY 1 LIMIT 5", key_, diff)};
  }

 private:
  // MD5 of the columns, NULL-safe (the seed's hash was NULL when any column was).
  static std::string Hash(const std::vector<std::string>& columns) {
    std::string parts;
    for (const auto& c : columns) {
      parts += fmt::format("{}coalesce({}, chr(30))", parts.empty() ? "" : ", ", QuoteIdent(c));
    }
    return fmt::format("md5(concat_ws(chr(31), {}))", parts);
  }

  const EntitySpec& entity_;
  std::string raw_, stage_, history_, current_, control_, key_, attrs_;
};

}  // namespace

Status RunSeed(const BenchOptions& o, const std::vector<PlannedFile>& plan, const DimResult& dim,
               const Paths& p, SeedResult& r, CompareResult* compare) {
  EntitySpec entity;
  std::map<std::string, const PlannedFile*> by_name;
  for (const auto& f : plan) {
    by_name[f.name] = &f;
  }
  std::vector<const PlannedFile*> apply;
  if (compare != nullptr) {
    for (const auto& key : dim.load_order) {
      auto it = by_name.find(key);
      if (it == by_name.end()) {
        return Error::Permanent("dimstream loaded an object the plan does not know: " + key);
      }
      apply.push_back(it->second);
    }
  } else {
    for (const auto& f : plan) {
      if (f.group == FileGroup::kInitial || f.group == FileGroup::kChange) {
        apply.push_back(&f);
      }
    }
  }
  // The checkpoints of dimstream's side, at the same places: after the initial load and after the change
  // stream.
  size_t last_initial = 0;
  size_t last_change = 0;
  for (size_t i = 0; i < apply.size(); ++i) {
    last_initial = apply[i]->group == FileGroup::kInitial ? i : last_initial;
    last_change = apply[i]->group == FileGroup::kChange ? i : last_change;
  }

  auto opened = SeedDb::Open(p.seed_db, WarehouseOptions(o, p));
  if (!opened.ok()) {
    return opened.error();
  }
  std::unique_ptr<SeedDb> db = std::move(opened).value();
  SeedProcedure proc(entity);
  for (const auto& ddl : proc.Schema()) {
    DIMSTREAM_TRY(db->Exec(ddl));
  }
  const std::vector<SqlParam> job{SqlParam::Text(entity.merge_job()), SqlParam::Text("LETS")};
  DIMSTREAM_TRY(db->Run(proc.InitLets(), job));
  const std::string load_sql = proc.LoadRaw();
  const auto steps = proc.Steps();
  r.ran = true;
  Micros last_insert = 0;
  auto progress = Clock::now() + std::chrono::seconds(2);
  for (size_t i = 0; i < apply.size(); ++i) {
    const PlannedFile& f = *apply[i];
    Micros insert_ts = std::max(NowMicros(), last_insert + 1);
    last_insert = insert_ts;
    auto loading = Clock::now();
    DIMSTREAM_TRY(
        db->Run(load_sql, {SqlParam::Text((p.bucket / f.name).string()), SqlParam::Time(insert_ts)}));
    r.load_seconds += Seconds(Clock::now() - loading);

    double cpu = ProcessCpuSeconds();
    auto start = Clock::now();
    StepTimes run_steps;
    DIMSTREAM_TRY(db->Exec("BEGIN TRANSACTION"));
    Status st = [&]() -> Status {
      for (const auto& [name, sql] : steps) {
        auto step_start = Clock::now();
        DIMSTREAM_TRY(db->Run(sql, sql.find("$1") != std::string::npos ? job : std::vector<SqlParam>{}));
        AddStep(run_steps, name, Seconds(Clock::now() - step_start));
      }
      auto committing = Clock::now();
      DIMSTREAM_TRY(db->Exec("COMMIT"));
      AddStep(run_steps, "commit", Seconds(Clock::now() - committing));
      return Ok();
    }();
    if (!st.ok()) {
      (void)db->Exec("ROLLBACK");
      return st.error().Context("the seed procedure failed on " + f.name);
    }
    double seconds = Seconds(Clock::now() - start);
    double cpu_s = ProcessCpuSeconds() - cpu;
    switch (f.group) {
      case FileGroup::kInitial:
        r.initial.Add(seconds, f.mix.rows(), cpu_s);
        break;
      case FileGroup::kChange:
        r.change.Add(seconds, f.mix.rows(), cpu_s);
        for (const auto& [name, s] : run_steps) {
          AddStep(r.change_steps, name, s);
        }
        break;
      case FileGroup::kFresh:
        r.fresh.Add(seconds, f.mix.rows(), cpu_s);
        break;
      case FileGroup::kRestart:
        r.restart.Add(seconds, f.mix.rows(), cpu_s);
        break;
    }
    if (f.group != FileGroup::kFresh || Clock::now() > progress) {
      fmt::print(stderr, "  seed procedure, {} file {} ({} of {}): {:.3f} s\n", GroupName(f.group), f.name,
                 i + 1, apply.size(), seconds);
      progress = Clock::now() + std::chrono::seconds(2);
    }
    if ((i == last_initial && f.group == FileGroup::kInitial) ||
        (i == last_change && f.group == FileGroup::kChange)) {
      auto checkpointing = Clock::now();
      DIMSTREAM_TRY(db->Exec("CHECKPOINT"));
      (f.group == FileGroup::kInitial ? r.initial_checkpoint_s : r.change_checkpoint_s) =
          Seconds(Clock::now() - checkpointing);
    }
  }
  auto current = db->Int("SELECT count(*) FROM " + QuoteIdent(entity.current_table()));
  auto history = db->Int("SELECT count(*) FROM " + QuoteIdent(entity.history_table()));
  if (!current.ok() || !history.ok()) {
    return current.ok() ? history.error() : current.error();
  }
  r.current_rows = *current;
  r.history_rows = *history;
  MemorySample m;
  m.phase = "after the seed baseline";
  m.rss = RssBytes();
  m.peak = std::max(PeakRssBytes(), m.rss);
  auto duck = db->Int("SELECT CAST(coalesce(sum(memory_usage_bytes), 0) AS BIGINT) FROM duckdb_memory()");
  m.duckdb = duck.ok() ? *duck : -1;
  r.memory = m;

  if (compare != nullptr) {
    // The seed's catalog is named after its file (seed.duckdb); dimstream's file is attached beside it.
    const std::string seed_catalog = p.seed_db.stem().string();
    const std::string dim_catalog = "dimstream_bench";
    DIMSTREAM_TRY(db->Exec(fmt::format("ATTACH {} AS {} (READ_ONLY)", QuoteLiteral(p.dimstream_db.string()),
                                       QuoteIdent(dim_catalog))));
    compare->ran = true;
    struct Side {
      bool history;
      bool dimstream_first;
      int64_t* out;
    };
    for (const Side& side :
         {Side{false, true, &compare->current_only_dimstream},
          Side{false, false, &compare->current_only_seed}, Side{true, true, &compare->history_only_dimstream},
          Side{true, false, &compare->history_only_seed}}) {
      auto [count_sql, keys_sql] = side.dimstream_first
                                       ? proc.Difference(dim_catalog, seed_catalog, side.history)
                                       : proc.Difference(seed_catalog, dim_catalog, side.history);
      auto n = db->Int(count_sql);
      if (!n.ok()) {
        return n.error();
      }
      *side.out = *n;
      if (*n > 0) {
        std::vector<std::optional<std::string>> keys;
        DIMSTREAM_TRY(db->Run(keys_sql, {}, &keys));
        for (const auto& k : keys) {
          compare->example_keys.push_back(k.value_or("NULL"));
        }
      }
    }
    DIMSTREAM_TRY(db->Exec("DETACH " + QuoteIdent(dim_catalog)));
  }
  return Ok();
}

}  // namespace dimstream

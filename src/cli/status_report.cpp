#include "cli/status_report.h"

#include <fmt/format.h>

#include "cli/app_context.h"
#include "cli/output_format.h"
#include "common/secret.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

// The status tables, each a title and its query.
std::vector<std::pair<std::string, std::string>> StatusQueries(const Config& config,
                                                               const std::string& entity, bool files) {
  std::vector<const EntitySpec*> entities;
  for (const EntitySpec& e : config.entities) {
    if (entity.empty() || e.name == entity) {
      entities.push_back(&e);
    }
  }
  // One row per entity; objects that matched no entity's file_pattern count on a row of their own.
  std::string pipeline;
  std::string jobs;
  for (const EntitySpec* e : entities) {
    std::string name = QuoteLiteral(e->name);
    pipeline += fmt::format(
        "{0}SELECT {1} AS entity, (SELECT count(*) FROM load_history WHERE entity = {1} AND status = "
        "'loaded') AS "
        "objects_loaded, (SELECT count(*) FROM load_history WHERE entity = {1} AND status = 'failed') AS "
        "objects_failed, (SELECT coalesce(sum(rows_loaded), 0) FROM load_history WHERE entity = {1}) AS "
        "rows_loaded, (SELECT coalesce(sum(rows_rejected), 0) FROM load_history WHERE entity = {1}) AS "
        "rows_rejected, (SELECT count(*) FROM {2}) AS raw_rows_waiting, (SELECT count(*) FROM {3}) AS "
        "current_keys, (SELECT count(*) FROM {4}) AS history_versions, (SELECT max(parameter_value) FROM "
        "parameter_control WHERE job_name = {5}) AS watermark",
        pipeline.empty() ? "" : " UNION ALL ", name, QuoteIdent(e->raw_table()),
        QuoteIdent(e->current_table()), QuoteIdent(e->history_table()), QuoteLiteral(e->merge_job()));
    jobs += (jobs.empty() ? "" : ", ") + QuoteLiteral(e->merge_job());
  }
  if (entity.empty()) {
    pipeline +=
        " UNION ALL SELECT '(no entity)', 0, count(*), 0, 0, NULL, NULL, NULL, NULL FROM load_history WHERE "
        "entity IS NULL HAVING count(*) > 0";
  }
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("pipeline", pipeline);
  out.emplace_back(
      "last merge runs",
      fmt::format(
          "SELECT task_name, started_at, finished_at - started_at AS took, status, rows_in, versions_opened, "
          "versions_closed, scd1_updates, error FROM task_history WHERE task_name IN ({}) ORDER BY "
          "started_at "
          "DESC LIMIT 5",
          jobs));
  if (IsPostgres(config)) {
    // Every process working on the server (`run`, `load`, `merge --watch`): its last heartbeat and leases.
    out.emplace_back(
        "processes",
        "SELECT process, role, beat_at, seconds_since_beat, leases, detail FROM processes ORDER BY "
        "role, process");
  }
  if (files) {
    std::string which;
    for (const EntitySpec* e : entities) {
      which += (which.empty() ? "" : ", ") + QuoteLiteral(e->name);
    }
    out.emplace_back("files",
                     fmt::format("SELECT load_id, object_key, entity, format, size AS stored_bytes, "
                                 "uncompressed_size AS uncompressed_bytes, status, rows_loaded, "
                                 "rows_rejected, ignored_columns, loaded_at, error FROM load_history{} "
                                 "ORDER BY load_id",
                                 entity.empty() ? "" : " WHERE entity IN (" + which + ")"));
  }
  return out;
}

void RedactResult(QueryResult& r) {
  for (auto& row : r.rows) {
    for (auto& v : row) {
      if (v) {
        *v = Redact(*v);
      }
    }
  }
}

// "last merge runs" -> "last_merge_runs": the JSON member of a table.
std::string MemberName(const std::string& title) {
  std::string out = title;
  for (char& c : out) {
    c = c == ' ' ? '_' : c;
  }
  return out;
}

}  // namespace

uint64_t CountLandingFiles(const Config& config) {
  uint64_t n = 0;
  std::error_code ec;
  if (!std::filesystem::exists(config.Landing(), ec)) {
    return 0;
  }
  for (auto it = std::filesystem::recursive_directory_iterator(config.Landing(), ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      break;
    }
    n += it->is_regular_file(ec) && it->path().filename().string().front() != '.' ? 1 : 0;
  }
  return n;
}

Result<StatusReport> ReadStatus(const Config& config, const std::string& entity, bool files,
                                const StatusQuery& query, ObjectStore& store, NotificationQueue* broker) {
  StatusReport r;
  r.landing = Redact(config.Landing().string());
  r.landing_files = CountLandingFiles(config);
  r.bucket = Redact(store.Describe());
  auto listing = store.List();
  if (listing.ok()) {
    r.bucket_objects = listing->size();
  } else {
    r.bucket_error = Redact(listing.error().message);
  }
  if (NotificationQueue* queue = broker) {
    r.queue = Redact(queue->Describe());
    auto waiting = queue->Backlog();
    auto dead = waiting.ok() ? queue->DeadLetters() : Result<uint64_t>(waiting.error());
    if (dead.ok()) {
      r.queue_waiting = *waiting;
      r.queue_dead = *dead;
    } else {
      r.queue_error = Redact(dead.error().message);
    }
  }
  r.warehouse = Redact(DescribeWarehouse(config));
  for (const auto& [title, sql] : StatusQueries(config, entity, files)) {
    auto result = query(sql);
    if (!result.ok()) {
      return result.error().Context(title);
    }
    RedactResult(*result);
    r.tables.emplace_back(title, std::move(*result));
  }
  return r;
}

nlohmann::ordered_json StatusJson(const StatusReport& r) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["landing"] = {{"dir", r.landing}, {"files_waiting", r.landing_files}};
  nlohmann::ordered_json bucket = {{"store", r.bucket}};
  bucket["objects"] = r.bucket_objects ? nlohmann::ordered_json(*r.bucket_objects) : nullptr;
  if (!r.bucket_error.empty()) {
    bucket["error"] = r.bucket_error;
  }
  j["bucket"] = bucket;
  if (!r.queue.empty()) {
    nlohmann::ordered_json queue = {{"broker", r.queue}};
    queue["waiting"] = r.queue_waiting ? nlohmann::ordered_json(*r.queue_waiting) : nullptr;
    queue["dead_lettered"] = r.queue_dead ? nlohmann::ordered_json(*r.queue_dead) : nullptr;
    if (!r.queue_error.empty()) {
      queue["error"] = r.queue_error;
    }
    j["queue"] = queue;
  }
  j["warehouse"] = r.warehouse;
  for (const auto& [title, result] : r.tables) {
    j[MemberName(title)] = ResultJson(result);
  }
  return j;
}

}  // namespace dimstream

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/config.h"
#include "config/entity_settings.h"
#include "config/server_urls.h"

namespace dimstream {
namespace {

// A declared setting: how to read it from a TOML node into a Config, and how to show its default.
struct Setting {
  SettingInfo info;
  std::function<Status(Config&, const toml::node&)> set;
};

Setting UInt(std::string key, std::string description, uint64_t Config::*field, uint64_t min, uint64_t max) {
  Config defaults;
  std::string k = key;
  return {{std::move(key), "integer", std::to_string(defaults.*field), std::move(description)},
          [=](Config& c, const toml::node& n) -> Status {
            auto v = n.value_exact<int64_t>();
            if (!v || *v < 0 || static_cast<uint64_t>(*v) < min || static_cast<uint64_t>(*v) > max) {
              return Error::Invalid(fmt::format("'{}' must be an integer from {} to {}", k, min, max));
            }
            c.*field = static_cast<uint64_t>(*v);
            return Ok();
          }};
}

Setting Text(std::string key, std::string description, std::string Config::*field,
             std::vector<std::string> choices = {}) {
  Config defaults;
  std::string k = key;
  std::string type = choices.empty() ? "string" : "one of " + ListText(choices);
  return {
      {std::move(key), type, Quote(defaults.*field), std::move(description)},
      [=](Config& c, const toml::node& n) -> Status {
        auto v = n.value_exact<std::string>();
        if (!v) {
          return Error::Invalid(fmt::format("'{}' must be a string", k));
        }
        if (!choices.empty() && std::find(choices.begin(), choices.end(), *v) == choices.end()) {
          return Error::Invalid(fmt::format("'{}' must be one of {}, not \"{}\"", k, ListText(choices), *v));
        }
        c.*field = *v;
        return Ok();
      }};
}

Setting Bool(std::string key, std::string description, bool Config::*field) {
  Config defaults;
  std::string k = key;
  return {{std::move(key), "boolean", defaults.*field ? "true" : "false", std::move(description)},
          [=](Config& c, const toml::node& n) -> Status {
            auto v = n.value_exact<bool>();
            if (!v) {
              return Error::Invalid(fmt::format("'{}' must be true or false", k));
            }
            c.*field = *v;
            return Ok();
          }};
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> settings = [] {
    constexpr uint64_t kDay = 86400000;
    std::vector<Setting> s;
    s.push_back(Text("landing_dir",
                     "Directory the generator writes to and the mover watches (default <data-dir>/landing)",
                     &Config::landing_dir));
    s.push_back(
        Text("bucket_dir", "Directory that is the bucket (default <data-dir>/bucket)", &Config::bucket_dir));
    s.push_back(Text("warehouse_path",
                     "DuckDB database file (default <data-dir>/warehouse.duckdb; warehouse.url may name it "
                     "instead)",
                     &Config::warehouse_path));
    s.push_back(Text("log_level", "Log level", &Config::log_level,
                     {"trace", "debug", "info", "warn", "error", "off"}));
    s.push_back(Text("log_format",
                     "Log lines as text, or as JSON objects ({\"time\", \"level\", \"message\"}) for log "
                     "shippers",
                     &Config::log_format, {"text", "json"}));
    s.push_back(Text("object_store.url",
                     "The bucket: file:///path (a directory; empty: bucket_dir) or s3://bucket/prefix/ (any "
                     "S3-compatible store)",
                     &Config::object_store_url));
    s.push_back(Text("object_store.endpoint",
                     "S3 endpoint, e.g. \"http://127.0.0.1:7480\" (empty: AWS's endpoint for the region)",
                     &Config::object_store_endpoint));
    s.push_back(Text("object_store.region", "S3 region (signs every request)", &Config::object_store_region));
    s.push_back(Bool("object_store.path_style",
                     "S3 addressing: http://host/bucket/key (true) or http://bucket.host/key (false)",
                     &Config::object_store_path_style));
    s.push_back(Text("object_store.access_key", "Name of the [secrets] entry holding the S3 access key",
                     &Config::object_store_access_key));
    s.push_back(Text("object_store.secret_key", "Name of the [secrets] entry holding the S3 secret key",
                     &Config::object_store_secret_key));
    s.push_back(
        Text("object_store.ca_file",
             "https:// endpoint: file of the authorities to verify it with, peer and host name (empty: "
             "the system's)",
             &Config::object_store_ca_file));
    s.push_back(Text("queue.url",
                     "The notification queue: memory: (in this process) or amqp://host:port/vhost (RabbitMQ; "
                     "amqps:// with TLS), e.g. \"amqp://127.0.0.1:5672/%2F\"",
                     &Config::queue_url));
    s.push_back(Text("queue.queue",
                     "RabbitMQ queue of the notifications (a quorum queue; beside it <queue>.dead)",
                     &Config::queue_name));
    s.push_back(Text("queue.exchange",
                     "RabbitMQ topic exchange a bucket's own notifications come through, the queue's name as "
                     "their routing key (one for every queue: radosgw pushes to one exchange per broker)",
                     &Config::queue_exchange));
    s.push_back(Text("queue.user", "Name of the [secrets] entry holding the RabbitMQ user (empty: guest)",
                     &Config::queue_user));
    s.push_back(Text("queue.password",
                     "Name of the [secrets] entry holding the RabbitMQ password (empty: guest)",
                     &Config::queue_password));
    s.push_back(UInt("queue.delivery_limit",
                     "A notification returned this many times (its load failed, its loader died) goes to "
                     "<queue>.dead",
                     &Config::queue_delivery_limit, 1, 1000));
    s.push_back(Text("queue.ca_file",
                     "amqps://: file of the authorities to verify the broker with (empty: "
                     "the system's)",
                     &Config::queue_ca_file));
    s.push_back(
        Text("queue.notified_by",
             "Who tells the broker of a new object: the mover, or the bucket itself (an s3:// bucket on "
             "radosgw: its notifications go to queue.exchange, set up when the mover starts)",
             &Config::queue_notified_by, {"mover", "bucket"}));
    s.push_back(UInt("mover.poll_interval_ms", "How often the mover lists landing, besides inotify events",
                     &Config::mover_poll_interval_ms, 10, kDay));
    s.push_back(
        UInt("mover.min_file_age_ms",
             "A landing file must be unchanged this long before it is moved (for writers that do not rename)",
             &Config::mover_min_file_age_ms, 0, kDay));
    s.push_back(UInt("mover.max_backlog_objects",
                     "Back-pressure: the mover waits while more notifications than this are not yet loaded",
                     &Config::mover_max_backlog_objects, 1, 1000000000));
    s.push_back(UInt("mover.retry_initial_ms", "First retry delay for a file that failed to move",
                     &Config::mover_retry_initial_ms, 1, kDay));
    s.push_back(UInt("mover.retry_max_ms", "Longest retry delay for a file that keeps failing",
                     &Config::mover_retry_max_ms, 1, kDay));
    s.push_back(
        Text("loader.on_error",
             "What a bad row does: continue (reject the row, load the rest), skip_file (load none of the "
             "file's rows, record it failed), abort_file (the same, and stop at the first bad row)",
             &Config::loader_on_error, {"continue", "skip_file", "abort_file"}));
    s.push_back(UInt("loader.list_interval_ms",
                     "How often the loader lists the bucket for objects whose notification was lost",
                     &Config::loader_list_interval_ms, 10, kDay));
    s.push_back(UInt("loader.max_reject_bytes", "A rejected row's raw text is cut at this many bytes",
                     &Config::loader_max_reject_bytes, 64, 1 << 30));
    s.push_back(
        UInt("loader.max_record_bytes",
             "A record (CSV) or line (JSON lines) longer than this fails its file: what bounds a load's "
             "memory whatever a file holds",
             &Config::loader_max_record_bytes, 1024, uint64_t{1} << 32));
    s.push_back(UInt("loader.max_inflate_ratio",
                     "A compressed file that inflates more than this many times its size (past 64 MiB) is "
                     "refused as a likely decompression bomb",
                     &Config::loader_max_inflate_ratio, 2, 1000000));
    s.push_back(
        Text("loader.memory_limit",
             "Memory limit of the DuckDB instance that reads Parquet files, e.g. \"256MB\" (spills to "
             "disk beyond it)",
             &Config::loader_memory_limit));
    s.push_back(UInt("merge.interval_ms",
                     "The merge task runs this often, and also as soon as a load commits",
                     &Config::merge_interval_ms, 10, kDay));
    s.push_back(
        UInt("merge.lease_ms",
             "On a warehouse server, the merge lease's time to live: of several `merge --watch` processes "
             "one merges and renews it every fifth of this; another takes over this long after it dies",
             &Config::merge_lease_ms, 500, kDay));
    s.push_back(
        UInt("merge.log_retention_days",
             "How far back (in sequence time, from the newest record) late records can still be placed "
             "exactly; older log records are compacted and a record older than that is rejected (0: forever)",
             &Config::merge_log_retention_days, 0, 1000000));
    s.push_back(
        UInt("merge.max_rows_per_run",
             "Raw rows one merge transaction takes at most (0: all); a larger backlog (a big file) is "
             "merged in several transactions, so that a run's memory stays bounded (about 100 bytes a key of "
             "the run)",
             &Config::merge_max_rows_per_run, 0, uint64_t{1} << 40));
    s.push_back(
        UInt("merge.delta_rows_max",
             "Merge on read: once a run leaves more delta rows with values than this (versions opened or "
             "changed since the last compaction), they are compacted down to half of it right after the "
             "run; reads of current and history slow down as the delta grows",
             &Config::merge_delta_rows_max, 0, uint64_t{1} << 40));
    s.push_back(
        UInt("merge.delta_closes_max",
             "Merge on read: delta rows that only close a version wait until there are more than this, "
             "then are compacted all at once (compacting them reads every column of current)",
             &Config::merge_delta_closes_max, 0, uint64_t{1} << 40));
    s.push_back(
        UInt("merge.busy_delta_factor",
             "Merge on read: while loaded records wait for the next run, compaction yields to it until the "
             "delta holds this many times merge.delta_rows_max rows with values (or merge.delta_closes_max "
             "closes); 1: never yields",
             &Config::merge_busy_delta_factor, 1, 1000));
    s.push_back(
        UInt("merge.compaction_slice",
             "Merge on read: delta rows one compaction transaction moves at most (how long it can delay "
             "the next run)",
             &Config::merge_compaction_slice, 1, uint64_t{1} << 40));
    s.push_back(UInt(
        "merge.delta_bounds_keys",
        "Merge on read: merge.delta_rows_max, merge.delta_closes_max and merge.compaction_slice are for a "
        "dimension of up to this many keys; a larger one scales them in proportion, so that what "
        "each slice's scan of the compacted tables costs a compacted row does not grow with them (0: never "
        "scaled)",
        &Config::merge_delta_bounds_keys, 0, uint64_t{1} << 40));
    s.push_back(UInt("merge.opened_to_base_from",
                     "Merge on read: a run that opens at least this many versions (an initial load, a large "
                     "backlog) writes them straight into the compacted tables instead of the delta",
                     &Config::merge_opened_to_base_from, 1, uint64_t{1} << 40));
    s.push_back(
        UInt("merge.idle_compaction_ms",
             "How long the merge must have found nothing to merge before it compacts the whole delta (merge "
             "on read), checkpoints and saves its key index snapshot",
             &Config::merge_idle_compaction_ms, 0, kDay));
    s.push_back(Text("warehouse.url",
                     "The warehouse: a DuckDB file (empty: warehouse_path; a path, or duckdb:///path) or a "
                     "PostgreSQL database (postgresql://user@host:port/database, libpq's URL; no password in "
                     "it)",
                     &Config::warehouse_url));
    s.push_back(Text("warehouse.password",
                     "Name of the [secrets] entry holding the PostgreSQL password (empty: none, or libpq's "
                     "~/.pgpass)",
                     &Config::warehouse_password));
    s.push_back(UInt("warehouse.threads", "DuckDB worker threads (0: DuckDB's default, one per core)",
                     &Config::warehouse_threads, 0, 1024));
    s.push_back(
        UInt("warehouse.open_timeout_ms",
             "How long a command waits for a warehouse file another process holds (e.g. a brief `sql`)",
             &Config::warehouse_open_timeout_ms, 0, kDay));
    s.push_back(
        Text("warehouse.memory_limit",
             "DuckDB memory limit, e.g. \"4GB\"; beyond it DuckDB spills to disk (empty: DuckDB's default, "
             "80% of the machine's memory). With loader.memory_limit, what bounds the process's memory",
             &Config::warehouse_memory_limit));
    s.push_back(
        Text("warehouse.checkpoint_threshold",
             "Write-ahead log size at which DuckDB checkpoints during a merge, e.g. \"1GB\"; the merge "
             "also checkpoints whenever it is idle (empty: DuckDB's default, 16MB)",
             &Config::warehouse_checkpoint_threshold));
    s.push_back(Text("publish.dir",
                     "Where `run` publishes every entity's current and history tables as Parquet files for "
                     "other tools, after merge runs (DIR/current/: a consistent set with its manifest.json); "
                     "empty: not published (run --publish DIR sets it)",
                     &Config::publish_dir));
    s.push_back(UInt("publish.interval_ms",
                     "Publish at most this often (and only after new merge runs): each publication writes "
                     "the whole tables",
                     &Config::publish_interval_ms, 100, kDay));
    s.push_back(Text("http.listen",
                     "host:port of the HTTP endpoints of `run`, `load` and `merge --watch`: /metrics "
                     "(Prometheus), /api/status, /api/sql (read-only); empty: off. An address other than "
                     "loopback needs http.token",
                     &Config::http_listen));
    s.push_back(Text("http.token",
                     "Name of the [secrets] entry holding the token every HTTP request must carry "
                     "(Authorization: Bearer <token>); required off loopback",
                     &Config::http_token));
    return s;
  }();
  return settings;
}

constexpr const char* kSecretsHelp =
    "a credential is named by its source, { env = \"VARIABLE\" } or { file = \"/path/to/private-file\" }, "
    "never written here";

// [secrets]: name = { env = "VAR" } or name = { file = "path" }.
Status ApplySecrets(Config& config, const toml::node& node, const std::string& origin) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Error::Invalid(fmt::format("{}: 'secrets' must be a table: {}", origin, kSecretsHelp));
  }
  for (const auto& [k, entry] : *table) {
    std::string key = "secrets." + std::string(k.str());
    if (!IsValidName(std::string(k.str()))) {
      return Error::Invalid(
          fmt::format("{}: '{}': a credential's name is [a-z_][a-z0-9_]{{0,47}}", origin, key));
    }
    const toml::table* source = entry.as_table();
    if (source == nullptr) {
      // Not even the type of the value is repeated: it may be the credential itself.
      return Error::Invalid(fmt::format("{}: '{}': {}", origin, key, kSecretsHelp));
    }
    auto env = (*source)["env"].value_exact<std::string>();
    auto file = (*source)["file"].value_exact<std::string>();
    if (source->size() != 1 || (!env && !file) || (env && env->empty()) || (file && file->empty())) {
      return Error::Invalid(fmt::format("{}: '{}': {}", origin, key, kSecretsHelp));
    }
    config.secrets[std::string(k.str())] =
        env ? SecretSource{SecretSource::Kind::kEnv, *env} : SecretSource{SecretSource::Kind::kFile, *file};
  }
  return Ok();
}

// [entity] (one entity) or [[entities]] (any number), each over the built-in entity's defaults. Called for
// whichever of the two keys the top-level table holds; reads both, once.
Status ApplyEntities(Config& config, const toml::table& top, const std::string& origin) {
  if (top.contains("entity") && top.contains("entities")) {
    return Error::Invalid(
        fmt::format("{}: declare entities with [entity] (one) or [[entities]] (several), not both", origin));
  }
  std::vector<std::pair<std::string, const toml::table*>> tables;
  if (const toml::node* one = top.get("entity")) {
    if (!one->is_table()) {
      return Error::Invalid(fmt::format("{}: 'entity' must be a table ([entity])", origin));
    }
    tables.emplace_back("entity", one->as_table());
  } else if (const toml::node* many = top.get("entities")) {
    const toml::array* a = many->as_array();
    if (a == nullptr || a->empty() || !a->is_array_of_tables()) {
      return Error::Invalid(fmt::format("{}: 'entities' must be one or more [[entities]] tables", origin));
    }
    for (size_t i = 0; i < a->size(); ++i) {
      tables.emplace_back(fmt::format("entities[{}]", i + 1), (*a)[i].as_table());
    }
  }
  if (tables.empty()) {
    return Ok();
  }
  config.entities.clear();
  for (const auto& [where, table] : tables) {
    auto e = ParseEntityTable(*table, where);
    if (!e.ok()) {
      return e.error().Context(origin);
    }
    config.entities.push_back(std::move(*e));
  }
  return Ok();
}

// Once every key is read: file patterns, each entity's own rules, and what holds across them.
Status ResolveEntities(Config& config, const std::string& origin) {
  std::set<std::string> names;
  for (size_t i = 0; i < config.entities.size(); ++i) {
    EntitySpec& e = config.entities[i];
    std::string where = config.entities.size() == 1 ? "entity" : fmt::format("entities[{}]", i + 1);
    if (e.file_pattern.empty()) {
      e.file_pattern = config.entities.size() == 1 ? "*" : e.name + "_*";
    }
    Status valid = e.Validate(where);
    if (!valid.ok()) {
      return valid.error().Context(origin);
    }
    if (!names.insert(e.name).second) {
      return Error::Invalid(fmt::format("{}: {}: another entity is called '{}' too", origin, where, e.name));
    }
    if (config.merge_log_retention_days > 0 && e.sequence_type().kind != TypeKind::kTimestamp) {
      return Error::Invalid(fmt::format(
          "{}: merge.log_retention_days counts days of the sequence, but the first sequence column of {} is "
          "{}, not a timestamp: set merge.log_retention_days = 0",
          origin, where, e.sequence_type().Name()));
    }
  }
  return Ok();
}

Status Apply(Config& config, const toml::table& table, const std::string& prefix, const std::string& origin) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (key == "secrets") {
      DIMSTREAM_TRY(ApplySecrets(config, node, origin));
      continue;
    }
    if (prefix.empty() && (key == "entity" || key == "entities")) {
      DIMSTREAM_TRY(ApplyEntities(config, table, origin));  // reads both keys; refuses both at once
      continue;
    }
    const auto& settings = Settings();
    auto it =
        std::find_if(settings.begin(), settings.end(), [&](const Setting& s) { return s.info.key == key; });
    if (it == settings.end()) {
      if (const toml::table* sub = node.as_table()) {
        bool is_section = std::any_of(settings.begin(), settings.end(),
                                      [&](const Setting& s) { return s.info.key.rfind(key + ".", 0) == 0; });
        if (is_section) {
          DIMSTREAM_TRY(Apply(config, *sub, key, origin));
          continue;
        }
      }
      return Error::Invalid(fmt::format(
          "{}: unknown configuration key '{}' (see `dimstream config` for the keys)", origin, key));
    }
    Status st = it->set(config, node);
    if (!st.ok()) {
      return st.error().Context(origin);
    }
  }
  return Ok();
}

// The 1-based line of the first byte that toml++ 3.3.0 could pass to its non-ASCII whitespace test, or 0.
// That test reaches __builtin_unreachable (undefined behaviour) for many code points (upstream
// marzer/tomlplusplus issue 295, fixed after 3.3.0 by pull request 305). toml++ asks it where TOML allows
// whitespace, while it scans ahead for the end of a bare value (`1979-05'x'` is scanned to its end, quotes
// included), and after a backslash in a basic string. In all three places a non-ASCII character is a
// syntax error anyway, so it is refused here before toml++ sees it. A quote opens a string only where TOML
// lets one start (a line's start, after `=`, `[`, `,`, `{`, or `.` between the parts of a key); anywhere
// else it is read as part of a bare token, as toml++ does. Up to toml++'s first error this scanner reads
// strings and comments as toml++ does; after that error toml++ reads nothing more. Fuzzed by fuzz_config.
size_t LineTomlCannotParseSafely(std::string_view t) {
  auto high = [&](size_t i) { return static_cast<unsigned char>(t[i]) >= 0x80; };
  size_t line = 1;
  size_t i = t.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a byte order mark, which toml++ skips
  char prev = '\n';      // the last character outside strings and comments, whitespace aside
  bool in_key = true;    // where a key may stand: a line's start, a table header, an inline table
  std::string brackets;  // the open [ and { outside strings
  auto string_may_start = [&] {
    return std::string_view("\n=[,{").find(prev) != std::string_view::npos || (prev == '.' && in_key);
  };
  // A bare value (a number, a date, true): toml++ scans it up to a terminator, quotes and brackets
  // included, before it looks at what it is.
  bool in_token = false;
  auto bare = [&](char ch) {
    if (in_token && ch != ',' && ch != ']' && ch != '}' && ch != '\n') {
      prev = ch;
      return;
    }
    in_token = false;
    if (ch == '\n') {
      in_key = brackets.empty();
    } else if (ch == '[' || ch == '{') {
      brackets += ch;
      in_key = ch == '{' || in_key;
    } else if (ch == ']' || ch == '}') {
      if (!brackets.empty()) {
        brackets.pop_back();
      }
      in_key = false;
    } else if (ch == '=') {
      in_key = false;
    } else if (ch == ',') {
      in_key = !brackets.empty() && brackets.back() == '{';
    } else if (!in_key) {
      in_token = true;
    }
    prev = ch;
  };
  while (i < t.size()) {
    char c = t[i];
    if (c == '\n') {
      ++line;
      ++i;
      bare(c);
    } else if (c == ' ' || c == '\t' || c == '\r') {
      in_token = false;
      ++i;
    } else if (c == '#') {
      in_token = false;
      while (i < t.size() && t[i] != '\n') {
        ++i;
      }
    } else if ((c == '"' || c == '\'') && !in_token && string_may_start()) {
      prev = c;
      std::string delimiter(t.substr(i, 3) == std::string(3, c) ? 3 : 1, c);
      bool multi = delimiter.size() == 3;
      i += delimiter.size();
      while (i < t.size()) {
        if (t.compare(i, delimiter.size(), delimiter) == 0) {
          i += delimiter.size();
          for (int extra = 0; multi && extra < 2 && i < t.size() && t[i] == c; ++extra) {
            ++i;  // """"" ends with two quotes of content
          }
          break;
        }
        if (t[i] == '\n') {
          if (!multi) {
            break;  // an unterminated string: toml++ stops here with an error
          }
          ++line;
        }
        if (c == '"' && t[i] == '\\') {
          // After a backslash toml++ asks the test of the next character, and of each after whitespace.
          size_t j = i + 1;
          while (j < t.size() && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r')) {
            ++j;
          }
          if (j < t.size() && high(j)) {
            return line;  // never a valid escape anyway
          }
          if (multi && j < t.size() && t[j] == '\n') {
            // A line-ending backslash: toml++ skips whitespace up to the next character, asking the test.
            while (j < t.size() && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r' || t[j] == '\n')) {
              line += t[j] == '\n' ? 1 : 0;
              ++j;
            }
            if (j < t.size() && high(j)) {
              return line;
            }
            i = j;
            continue;
          }
          i += 2;  // an escape: the next character is not a delimiter
          continue;
        }
        ++i;
      }
    } else if (high(i)) {
      return line;
    } else {
      bare(c);
      ++i;
    }
  }
  return 0;
}

std::filesystem::path OrUnder(const std::string& set, const std::filesystem::path& dir, const char* leaf) {
  return set.empty() ? dir / leaf : std::filesystem::path(set);
}

}  // namespace

std::filesystem::path Config::Landing() const {
  return OrUnder(landing_dir, data_dir, "landing");
}
std::filesystem::path Config::Bucket() const {
  return OrUnder(bucket_dir, data_dir, "bucket");
}
std::filesystem::path Config::Warehouse() const {
  const std::optional<std::string> path = DuckDbPathOf(warehouse_url);
  return OrUnder(path && !path->empty() ? *path : warehouse_path, data_dir, "warehouse.duckdb");
}

EntitySpec Config::DefaultEntity() {
  EntitySpec e;
  e.file_pattern = "*";
  return e;
}

Result<const EntitySpec*> Config::Entity(const std::string& name) const {
  std::string names;
  for (const auto& e : entities) {
    if (e.name == name) {
      return &e;
    }
    names += (names.empty() ? "" : ", ") + e.name;
  }
  return Error::Invalid(
      fmt::format("no entity '{}' is declared (the configuration declares: {})", name, names));
}

std::vector<SettingInfo> DescribeSettings() {
  std::vector<SettingInfo> out;
  for (const auto& s : Settings()) {
    out.push_back(s.info);
  }
  for (SettingInfo info : DescribeEntitySettings()) {
    info.key = "entity." + info.key;
    out.push_back(std::move(info));
  }
  out.push_back({"secrets.<name>", "{ env = \"VARIABLE\" } or { file = \"path\" }", "none",
                 "A credential for an adapter, read from the environment or from a file only its owner may "
                 "read; its value never appears in logs or errors"});
  return out;
}

Result<Secret> ReadConfiguredSecret(const Config& config, const std::string& name) {
  auto it = config.secrets.find(name);
  if (it == config.secrets.end()) {
    return Error::Invalid(fmt::format("no credential '{}' in [secrets] ({})", name, kSecretsHelp));
  }
  auto secret = ReadSecret(it->second);
  if (!secret.ok()) {
    return secret.error().Context("secrets." + name);
  }
  return secret;
}

Result<Config> ParseConfig(std::string_view toml_text, const std::string& origin) {
  Config config;
  if (size_t line = LineTomlCannotParseSafely(toml_text); line != 0) {
    return Error::Invalid(fmt::format(
        "{}:{}: a non-ASCII character outside a quoted string or comment (quote the key or value)", origin,
        line));
  }
  toml::table parsed;
  try {
    // Debian's toml++ is built with exceptions: a syntax error throws.
    parsed = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& err) {
    return Error::Invalid(fmt::format("{}:{}:{}: {}", origin, err.source().begin.line,
                                      err.source().begin.column, err.description()));
  }
  DIMSTREAM_TRY(Apply(config, parsed, "", origin));
  DIMSTREAM_TRY(ResolveEntities(config, origin));
  if (auto url = ParseObjectStoreUrl(config); !url.ok()) {
    return url.error().Context(origin);
  }
  if (auto url = ParseQueueUrl(config); !url.ok()) {
    return url.error().Context(origin);
  }
  if (auto url = ParseWarehouseUrl(config); !url.ok()) {
    return url.error().Context(origin);
  }
  if (auto listen = ParseHttpListen(config); !listen.ok()) {
    return listen.error().Context(origin);
  }
  return config;
}

Result<Config> LoadConfig(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Error::Invalid("cannot read configuration file " + file.string());
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseConfig(text, file.string());
}

std::string StarterConfigToml(const std::vector<std::string>& entities) {
  std::string defaults = DefaultConfigToml();
  if (entities.empty()) {
    return defaults;
  }
  const size_t from = defaults.find("\n# One pipeline:");
  const size_t to = defaults.find("\n[secrets]\n");
  std::string declared =
      "\n# The pipelines, one table each: edit the columns to your files' (`dimstream config` lists every "
      "key\n"
      "# an entity takes; README.md has examples: a CDC stream, a snapshot table).\n";
  const bool one = entities.size() == 1;
  for (const std::string& name : entities) {
    declared += fmt::format(
        "{0}\n"
        "name = \"{1}\"\n"
        "# The files of this entity (several entities: \"{1}_*\" by default)\n"
        "# file_pattern = \"{1}_*\"\n"
        "# The columns that identify a record\n"
        "key_columns = [\"{1}_id\"]\n"
        "# Attributes overwritten in place (SCD Type 1)\n"
        "scd1_columns = [\"description\"]\n"
        "# Attributes whose change opens a new version (SCD Type 2)\n"
        "scd2_columns = [\"category\"]\n"
        "# What orders a key's records (a timestamp unless typed below)\n"
        "sequence_column = \"updated_at\"\n"
        "{2}\n"
        "# Column types: text, bigint, double, decimal(p,s), boolean, date, timestamp (default text)\n"
        "{1}_id = \"bigint\"\n",
        one ? "[entity]" : "\n[[entities]]", name, one ? "[entity.types]" : "[entities.types]");
  }
  return defaults.substr(0, from) + declared + defaults.substr(to);
}

std::string DefaultConfigToml() {
  std::string out =
      "# dimstream configuration: every key with its default. Paths are relative to the\n"
      "# working directory; --data-dir sets where the defaults live.\n";
  std::string section;
  for (const auto& s : Settings()) {
    auto dot = s.info.key.find('.');
    std::string sec = dot == std::string::npos ? "" : s.info.key.substr(0, dot);
    std::string leaf = dot == std::string::npos ? s.info.key : s.info.key.substr(dot + 1);
    if (sec != section) {
      out += "\n[" + sec + "]\n";
      section = sec;
    }
    out += fmt::format("# {} ({})\n{} = {}\n", s.info.description, s.info.type, leaf, s.info.default_value);
  }
  out +=
      "\n# One pipeline: [entity] with [entity.types]. Several: one [[entities]] table each, with\n"
      "# [entities.types] after it. Every key not given takes the built-in customer entity's value below.\n"
      "[entity]\n";
  for (const auto& info : DescribeEntitySettings()) {
    if (info.key == "types") {
      continue;
    }
    // Keys whose default is a rule, not a value, are shown commented out.
    bool literal = info.key != "file_pattern" && info.key != "sequence_column";
    out += fmt::format("# {} ({})\n{}{} = {}\n", info.description, info.type, literal ? "" : "# ", info.key,
                       info.default_value);
  }
  out +=
      "[entity.types]\n"
      "# Column types: text, bigint, double, decimal(p,s), boolean, date, timestamp. A column not named is\n"
      "# text, a sequence column timestamp. Given key_columns of its own, an entity declares its own types.\n"
      "customer_id = \"bigint\"\n";
  out +=
      "\n[secrets]\n"
      "# Credentials for adapters, by name: from the environment or a file only its owner may read\n"
      "# (chmod 600), never written here. Their values never appear in logs or errors.\n"
      "# example = { env = \"DIMSTREAM_EXAMPLE_PASSWORD\" }\n"
      "# example = { file = \"/run/secrets/dimstream-example\" }\n";
  return out;
}

}  // namespace dimstream

#include "cli/http_endpoints.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <spdlog/spdlog.h>

#include "cli/app_context.h"
#include "cli/output_format.h"
#include "cli/status_report.h"
#include "common/clock.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

std::optional<uint64_t> Number(const Value& v) {
  if (!v) {
    return std::nullopt;
  }
  try {
    return std::stoull(*v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

HttpEndpoints::HttpEndpoints(const Config& config, Warehouse& warehouse, MetricSources sources,
                             NotificationQueue* in_process_queue)
    : config_(config),
      warehouse_(warehouse),
      sources_(std::move(sources)),
      in_process_queue_(in_process_queue) {
  auto listen = ParseHttpListen(config);  // checked when the configuration was read
  if (!listen.ok() || !*listen) {
    return;
  }
  std::optional<Secret> token;
  if (!config.http_token.empty()) {
    auto secret = ReadConfiguredSecret(config, config.http_token);
    if (!secret.ok()) {
      spdlog::warn("http: {}; the HTTP endpoints are off", secret.error().message);
      return;
    }
    token = std::move(*secret);
  }
  store_ = MakeObjectStore(config);
  if (in_process_queue_ == nullptr) {
    broker_ = MakeBrokerQueue(config);
  }
  HttpHandlers handlers;
  handlers.metrics = [this] { return RenderMetrics(sources_, ReadGauges()); };
  handlers.status = [this]() -> Result<std::string> {
    std::lock_guard lock(adapters_mu_);
    auto report = ReadStatus(
        config_, "", false, [this](const std::string& sql) { return warehouse_.Query(sql); }, *store_,
        broker_.get());
    if (!report.ok()) {
      return report.error();
    }
    return StatusJson(*report).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  };
  handlers.sql = [this](const std::string& sql, const std::string& format) -> Result<HttpBody> {
    if (format == "parquet") {
      return ParquetOf(sql);
    }
    if (format != "json" && format != "csv") {
      return Error::Invalid("format must be json, csv or parquet, not '" + format + "'");
    }
    auto r = warehouse_.QueryReadOnly(sql);
    if (!r.ok()) {
      return r.error();
    }
    if (format == "csv") {
      return HttpBody{"text/csv; charset=utf-8", FormatResult(*r, OutputFormat::kCsv)};
    }
    return HttpBody{"application/json", FormatResult(*r, OutputFormat::kJson)};
  };
  auto server = HttpServer::Start(**listen, std::move(token), std::move(handlers));
  if (!server.ok()) {
    spdlog::warn("http: {}; the HTTP endpoints are off", server.error().message);
    return;
  }
  server_ = std::move(*server);
}

HttpEndpoints::~HttpEndpoints() {
  server_.reset();  // stops serving before the handlers' adapters go
}

Result<HttpBody> HttpEndpoints::ParquetOf(const std::string& sql) {
  // The statement inside a subquery: checked as QueryReadOnly checks any (one statement that reads: anything
  // else does not even parse there), without running it (LIMIT 0), then written by the warehouse's export,
  // itself a read-only transaction. The line breaks keep a trailing comment from eating the parenthesis.
  std::string statement = sql;
  while (!statement.empty() &&
         (std::isspace(static_cast<unsigned char>(statement.back())) != 0 || statement.back() == ';')) {
    statement.pop_back();
  }
  const std::string query = "SELECT * FROM (\n" + statement + "\n) AS q";
  auto checked = warehouse_.QueryReadOnly(query + " LIMIT 0");
  if (!checked.ok()) {
    return checked.error();
  }
  std::string name = (std::filesystem::temp_directory_path() / "dimstream-sql-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    return Error::Retryable("cannot make a temporary file for the Parquet result");
  }
  ::close(fd);  // the name is ours; DuckDB's writer replaces the empty file
  const std::filesystem::path file = name;
  auto receipt = warehouse_.Export({{{query, file, ExportFormat::kParquet}}, ""});
  std::string body;
  if (receipt.ok()) {
    std::ifstream in(file, std::ios::binary);
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::error_code ec;
  std::filesystem::remove(file, ec);
  if (!receipt.ok()) {
    return receipt.error();
  }
  return HttpBody{"application/vnd.apache.parquet", std::move(body)};
}

PipelineGauges HttpEndpoints::ReadGauges() {
  std::lock_guard lock(adapters_mu_);
  PipelineGauges g;
  g.landing_files = CountLandingFiles(config_);
  auto listing = store_->List();
  if (listing.ok()) {
    g.bucket_objects = listing->size();
    auto loaded = warehouse_.Query("SELECT count(DISTINCT object_key) FROM load_history");
    if (loaded.ok() && !loaded->rows.empty()) {
      if (auto n = Number(loaded->rows[0][0])) {
        g.bucket_backlog = *n < listing->size() ? listing->size() - *n : 0;
      }
    }
  }
  g.errors += !g.bucket_objects ? 2 : !g.bucket_backlog ? 1 : 0;
  if (NotificationQueue* queue = in_process_queue_ != nullptr ? in_process_queue_ : broker_.get()) {
    auto waiting = queue->Backlog();
    auto dead = queue->DeadLetters();
    if (waiting.ok()) {
      g.queue_waiting = *waiting;
    }
    if (dead.ok()) {
      g.queue_dead = *dead;
    }
    g.errors += (waiting.ok() ? 0 : 1) + (dead.ok() ? 0 : 1);
  }
  const Micros now = NowMicros();
  for (const EntitySpec& e : config_.entities) {
    auto r = warehouse_.Query("SELECT count(*), min(_loaded_at) FROM " + QuoteIdent(e.raw_table()));
    PipelineGauges::Entity& out = g.entities[e.name];
    if (!r.ok() || r->rows.empty()) {
      g.errors += 2;
      continue;
    }
    out.raw_rows_waiting = Number(r->rows[0][0]);
    out.watermark_lag_seconds = 0;
    if (const Value& oldest = r->rows[0][1]) {
      auto at = ParseTimestamp(*oldest);
      out.watermark_lag_seconds = at ? std::max<double>(0, static_cast<double>(now - *at) / 1e6) : 0;
    }
  }
  return g;
}

}  // namespace dimstream

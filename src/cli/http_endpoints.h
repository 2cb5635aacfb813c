#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"
#include "object_store/object_store.h"
#include "observe/http_server.h"
#include "observe/metrics.h"
#include "queue/notification_queue.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// The HTTP endpoints of a process that works on the warehouse (`run`, `load`, `merge --watch`), while it
// exists: /metrics from the roles' counters and what waits where, /api/status as `status --format json`
// shows it, /api/sql for read-only statements on the process's own warehouse. Off when http.listen is
// empty; a port that cannot be taken is only warned of (the pipeline does not stop for its dashboard).
class HttpEndpoints {
 public:
  // `in_process_queue`: the process's queue when it is the in-process one (its backlog is this process's
  // to show), else null (a broker's is read on a connection of the endpoints' own).
  HttpEndpoints(const Config& config, Warehouse& warehouse, MetricSources sources,
                NotificationQueue* in_process_queue);
  ~HttpEndpoints();
  HttpEndpoints(const HttpEndpoints&) = delete;
  HttpEndpoints& operator=(const HttpEndpoints&) = delete;

 private:
  PipelineGauges ReadGauges();
  // /api/sql?format=parquet: the read-only statement's result as a Parquet file.
  Result<HttpBody> ParquetOf(const std::string& sql);

  const Config& config_;
  Warehouse& warehouse_;
  MetricSources sources_;
  NotificationQueue* in_process_queue_;
  std::mutex adapters_mu_;  // the adapters below serve one request (a scrape, a status) at a time
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<NotificationQueue> broker_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace dimstream

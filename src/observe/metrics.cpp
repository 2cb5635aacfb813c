#include "observe/metrics.h"

#include <algorithm>
#include <limits>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace dimstream {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Each metric once: its name, type and help text (what DescribeMetrics lists and the exposition's # HELP).
const std::vector<MetricInfo> kMetrics = {
    {"dimstream_mover_files_total", "counter", "Files moved from landing into the bucket"},
    {"dimstream_mover_bytes_total", "counter", "Bytes of the files moved into the bucket"},
    {"dimstream_mover_failures_total", "counter", "Failed attempts to move a file (each retried later)"},
    {"dimstream_put_duration_seconds", "histogram", "Time to put one file into the bucket, verified"},
    {"dimstream_loader_objects_loaded_total", "counter", "Bucket objects loaded into raw"},
    {"dimstream_loader_objects_failed_total", "counter",
     "Bucket objects recorded as failed (see load_history)"},
    {"dimstream_loader_rows_loaded_total", "counter", "Rows loaded into raw"},
    {"dimstream_loader_rows_rejected_total", "counter", "Rows rejected by the loader (see <entity>_rejects)"},
    {"dimstream_loader_retries_total", "counter", "Loads that met a transient failure and were retried"},
    {"dimstream_load_duration_seconds", "histogram", "Time to load one object, listed to committed"},
    {"dimstream_merge_runs_total", "counter", "Merge transactions committed"},
    {"dimstream_merge_failures_total", "counter", "Merge runs that failed and were rolled back"},
    {"dimstream_merge_rows_total", "counter", "Raw rows merged"},
    {"dimstream_merge_rows_rejected_total", "counter",
     "Staged rows the merge rejected (older than the retained log)"},
    {"dimstream_merge_versions_opened_total", "counter", "SCD2 versions opened"},
    {"dimstream_merge_versions_closed_total", "counter", "SCD2 versions closed"},
    {"dimstream_merge_scd1_updates_total", "counter", "SCD1 attributes rewritten in place"},
    {"dimstream_merge_run_duration_seconds", "histogram", "Time of one merge transaction with rows"},
    {"dimstream_freshness_seconds", "histogram",
     "Per merge run: the load commit of its newest row to the merge's commit"},
    {"dimstream_merge_keys", "gauge", "Keys the merge knows (its key index)"},
    {"dimstream_merge_key_index_bytes", "gauge", "Memory the merge keeps between runs (the key index)"},
    {"dimstream_landing_files", "gauge", "Finished files in landing, not moved yet"},
    {"dimstream_bucket_objects", "gauge", "Objects in the bucket"},
    {"dimstream_bucket_backlog_objects", "gauge", "Objects in the bucket whose key has no load recorded"},
    {"dimstream_queue_backlog_messages", "gauge", "Notifications waiting on the broker"},
    {"dimstream_queue_dead_letter_messages", "gauge", "Notifications dead-lettered on the broker"},
    {"dimstream_raw_rows_waiting", "gauge", "Rows loaded and not merged yet (above the watermark)"},
    {"dimstream_watermark_lag_seconds", "gauge",
     "How long the oldest row waiting in raw has waited since its load (0: none waits)"},
    {"dimstream_scrape_errors_total", "counter", "Gauges this scrape could not read (left out)"},
};

class Families {
 public:
  explicit Families(std::string role) : role_(std::move(role)) {}

  void Add(const std::string& name, double value, const std::string& entity = {}) {
    ClientMetric m = Labelled(entity);
    const MetricInfo& info = Info(name);
    if (info.type == "counter") {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    Family(info).metric.push_back(std::move(m));
  }

  void Add(const std::string& name, const DurationHistogram& h, const std::string& entity = {}) {
    ClientMetric m = Labelled(entity);
    DurationHistogram::Snapshot s = h.Read();
    m.histogram.sample_count = s.count;
    m.histogram.sample_sum = s.sum_seconds;
    for (size_t i = 0; i < DurationHistogram::kBounds.size(); ++i) {
      m.histogram.bucket.push_back({s.cumulative[i], DurationHistogram::kBounds[i]});
    }
    m.histogram.bucket.push_back({s.count, std::numeric_limits<double>::infinity()});
    Family(Info(name)).metric.push_back(std::move(m));
  }

  std::string Text() const {
    std::vector<MetricFamily> out;
    for (const MetricInfo& info : kMetrics) {  // in the declared order, each family once
      auto it = std::find_if(families_.begin(), families_.end(),
                             [&](const MetricFamily& f) { return f.name == info.name; });
      if (it != families_.end()) {
        out.push_back(*it);
      }
    }
    return prometheus::TextSerializer().Serialize(out);
  }

 private:
  static const MetricInfo& Info(const std::string& name) {
    auto it =
        std::find_if(kMetrics.begin(), kMetrics.end(), [&](const MetricInfo& m) { return m.name == name; });
    return *it;  // every name used here is declared above (the metrics test reads each one back)
  }

  ClientMetric Labelled(const std::string& entity) const {
    ClientMetric m;
    if (!entity.empty()) {
      m.label.push_back({"entity", entity});
    }
    m.label.push_back({"role", role_});
    return m;
  }

  MetricFamily& Family(const MetricInfo& info) {
    for (MetricFamily& f : families_) {
      if (f.name == info.name) {
        return f;
      }
    }
    MetricType type = info.type == "counter" ? MetricType::Counter
                      : info.type == "gauge" ? MetricType::Gauge
                                             : MetricType::Histogram;
    families_.push_back({info.name, info.help, type, {}});
    return families_.back();
  }

  std::string role_;
  std::vector<MetricFamily> families_;
};

double D(uint64_t v) {
  return static_cast<double>(v);
}

}  // namespace

std::string RenderMetrics(const MetricSources& sources, const PipelineGauges& gauges) {
  Families f(sources.role);
  if (const MoverStats* m = sources.mover) {
    f.Add("dimstream_mover_files_total", D(m->files_moved));
    f.Add("dimstream_mover_bytes_total", D(m->bytes_moved));
    f.Add("dimstream_mover_failures_total", D(m->failures));
    f.Add("dimstream_put_duration_seconds", m->put_seconds);
  }
  if (const LoaderStats* l = sources.loader) {
    f.Add("dimstream_loader_objects_loaded_total", D(l->objects_loaded));
    f.Add("dimstream_loader_objects_failed_total", D(l->objects_failed));
    f.Add("dimstream_loader_rows_loaded_total", D(l->rows_loaded));
    f.Add("dimstream_loader_rows_rejected_total", D(l->rows_rejected));
    f.Add("dimstream_loader_retries_total", D(l->retries));
    f.Add("dimstream_load_duration_seconds", l->load_seconds);
  }
  for (const auto& [entity, m] : sources.merges) {
    f.Add("dimstream_merge_runs_total", D(m->runs), entity);
    f.Add("dimstream_merge_failures_total", D(m->failures), entity);
    f.Add("dimstream_merge_rows_total", D(m->rows_merged), entity);
    f.Add("dimstream_merge_rows_rejected_total", D(m->rows_rejected), entity);
    f.Add("dimstream_merge_versions_opened_total", D(m->versions_opened), entity);
    f.Add("dimstream_merge_versions_closed_total", D(m->versions_closed), entity);
    f.Add("dimstream_merge_scd1_updates_total", D(m->scd1_updates), entity);
    f.Add("dimstream_merge_run_duration_seconds", m->run_seconds, entity);
    f.Add("dimstream_freshness_seconds", m->freshness_seconds, entity);
    f.Add("dimstream_merge_keys", D(m->keys), entity);
    f.Add("dimstream_merge_key_index_bytes", D(m->state_bytes), entity);
  }
  auto gauge = [&](const char* name, const std::optional<uint64_t>& v) {
    if (v) {
      f.Add(name, D(*v));
    }
  };
  gauge("dimstream_landing_files", gauges.landing_files);
  gauge("dimstream_bucket_objects", gauges.bucket_objects);
  gauge("dimstream_bucket_backlog_objects", gauges.bucket_backlog);
  gauge("dimstream_queue_backlog_messages", gauges.queue_waiting);
  gauge("dimstream_queue_dead_letter_messages", gauges.queue_dead);
  for (const auto& [entity, e] : gauges.entities) {
    if (e.raw_rows_waiting) {
      f.Add("dimstream_raw_rows_waiting", D(*e.raw_rows_waiting), entity);
    }
    if (e.watermark_lag_seconds) {
      f.Add("dimstream_watermark_lag_seconds", *e.watermark_lag_seconds, entity);
    }
  }
  f.Add("dimstream_scrape_errors_total", D(gauges.errors));
  return f.Text();
}

const std::vector<MetricInfo>& DescribeMetrics() {
  return kMetrics;
}

}  // namespace dimstream

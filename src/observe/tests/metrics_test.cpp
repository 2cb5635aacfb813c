#include "observe/metrics.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

namespace dimstream {
namespace {

// The value of the sample `series` (name and labels exactly as written) in `text`, or -1.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

struct Counted {
  MoverStats mover;
  LoaderStats loader;
  MergeStats merge;
  MetricSources Sources() {
    MetricSources s;
    s.role = "run";
    s.mover = &mover;
    s.loader = &loader;
    s.merges = {{"customer", &merge}};
    return s;
  }
};

PipelineGauges SomeGauges() {
  PipelineGauges g;
  g.landing_files = 3;
  g.bucket_objects = 10;
  g.bucket_backlog = 2;
  g.queue_waiting = 4;
  g.queue_dead = 1;
  g.entities["customer"] = {120, 1.5};
  return g;
}

TEST(MetricsTest, CountersGaugesAndHistogramsShowWhatTheRolesCounted) {
  Counted c;
  c.mover.files_moved = 7;
  c.mover.bytes_moved = 7000;
  c.mover.put_seconds.Observe(2000);    // 2 ms
  c.mover.put_seconds.Observe(400000);  // 0.4 s
  c.loader.objects_loaded = 5;
  c.loader.objects_failed = 1;
  c.loader.rows_loaded = 50000;
  c.loader.rows_rejected = 12;
  c.merge.runs = 3;
  c.merge.rows_merged = 49988;
  c.merge.versions_opened = 40000;
  c.merge.versions_closed = 9000;
  c.merge.scd1_updates = 800;
  c.merge.keys = 31000;
  c.merge.freshness_seconds.Observe(700000);  // 0.7 s
  std::string text = RenderMetrics(c.Sources(), SomeGauges());

  EXPECT_EQ(Sample(text, R"(dimstream_mover_files_total{role="run"})"), 7);
  EXPECT_EQ(Sample(text, R"(dimstream_mover_bytes_total{role="run"})"), 7000);
  EXPECT_EQ(Sample(text, R"(dimstream_loader_objects_loaded_total{role="run"})"), 5);
  EXPECT_EQ(Sample(text, R"(dimstream_loader_objects_failed_total{role="run"})"), 1);
  EXPECT_EQ(Sample(text, R"(dimstream_loader_rows_rejected_total{role="run"})"), 12);
  EXPECT_EQ(Sample(text, R"(dimstream_merge_rows_total{entity="customer",role="run"})"), 49988);
  EXPECT_EQ(Sample(text, R"(dimstream_merge_versions_closed_total{entity="customer",role="run"})"), 9000);
  EXPECT_EQ(Sample(text, R"(dimstream_merge_scd1_updates_total{entity="customer",role="run"})"), 800);
  EXPECT_EQ(Sample(text, R"(dimstream_merge_keys{entity="customer",role="run"})"), 31000);
  EXPECT_EQ(Sample(text, R"(dimstream_raw_rows_waiting{entity="customer",role="run"})"), 120);
  EXPECT_EQ(Sample(text, R"(dimstream_watermark_lag_seconds{entity="customer",role="run"})"), 1.5);
  EXPECT_EQ(Sample(text, R"(dimstream_queue_backlog_messages{role="run"})"), 4);
  // Histograms: cumulative buckets in seconds, +Inf equal to the count.
  EXPECT_EQ(Sample(text, R"(dimstream_put_duration_seconds_bucket{role="run",le="0.0025"})"), 1);
  EXPECT_EQ(Sample(text, R"(dimstream_put_duration_seconds_bucket{role="run",le="0.25"})"), 1);
  EXPECT_EQ(Sample(text, R"(dimstream_put_duration_seconds_bucket{role="run",le="0.5"})"), 2);
  EXPECT_EQ(Sample(text, R"(dimstream_put_duration_seconds_bucket{role="run",le="+Inf"})"), 2);
  EXPECT_EQ(Sample(text, R"(dimstream_put_duration_seconds_count{role="run"})"), 2);
  EXPECT_DOUBLE_EQ(Sample(text, R"(dimstream_put_duration_seconds_sum{role="run"})"), 0.402);
  EXPECT_EQ(Sample(text, R"(dimstream_freshness_seconds_bucket{entity="customer",role="run",le="1"})"), 1);
  EXPECT_NE(text.find("# TYPE dimstream_freshness_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("# TYPE dimstream_mover_files_total counter"), std::string::npos);
}

TEST(MetricsTest, EveryDescribedMetricIsWrittenWhenEveryRoleRuns) {
  Counted c;
  std::string text = RenderMetrics(c.Sources(), SomeGauges());
  for (const MetricInfo& m : DescribeMetrics()) {
    EXPECT_NE(text.find("# TYPE " + m.name + " " + m.type + "\n"), std::string::npos) << m.name;
    EXPECT_NE(text.find("# HELP " + m.name + " "), std::string::npos) << m.name;
    EXPECT_TRUE(std::regex_match(m.name, std::regex("dimstream_[a-z0-9_]+"))) << m.name;
    if (m.type == "counter") {
      EXPECT_TRUE(m.name.size() > 6 && m.name.substr(m.name.size() - 6) == "_total") << m.name;
    }
  }
}

TEST(MetricsTest, AGaugeThatCouldNotBeReadIsLeftOutAndCounted) {
  MetricSources s;
  s.role = "load";
  LoaderStats loader;
  s.loader = &loader;
  PipelineGauges g;
  g.errors = 2;
  std::string text = RenderMetrics(s, g);
  EXPECT_EQ(text.find("dimstream_bucket_objects"), std::string::npos);
  EXPECT_EQ(text.find("dimstream_mover_"), std::string::npos);  // not a role of this process
  EXPECT_EQ(Sample(text, R"(dimstream_scrape_errors_total{role="load"})"), 2);
}

// Prometheus' own checker (promtool, from Debian's prometheus package, which scripts/setup.sh installs)
// accepts the exposition: format, names, units and help.
TEST(MetricsTest, PromtoolAcceptsTheExposition) {
  Counted c;
  c.merge.run_seconds.Observe(150000);
  c.loader.load_seconds.Observe(90000);
  std::string text = RenderMetrics(c.Sources(), SomeGauges());
  auto file = std::filesystem::temp_directory_path() / ("dimstream-metrics-" + std::to_string(::getpid()));
  std::ofstream(file) << text;
  std::string cmd = "promtool check metrics < " + file.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) {
    out.append(buf, n);
  }
  int status = ::pclose(p);
  std::filesystem::remove(file);
  ASSERT_NE(status, -1);
  ASSERT_NE(WEXITSTATUS(status), 127) << "promtool not found: scripts/setup.sh installs Debian's prometheus";
  EXPECT_EQ(WEXITSTATUS(status), 0) << out << "\n" << text;
  EXPECT_EQ(out, "") << "promtool's remarks on the exposition";
}

}  // namespace
}  // namespace dimstream

#include "generator/generator.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "common/clock.h"
#include "test_files.h"

namespace dimstream {
namespace {

using testing::AuditFiles;
using testing::GeneratedFiles;
using testing::ReadFile;
using testing::ScratchDir;
using Clock = std::chrono::steady_clock;

GenerateOptions Quiet() {
  GenerateOptions o;
  o.progress = false;
  return o;
}

GenerateStats MustGenerate(const GenerateOptions& o, const std::filesystem::path& dir) {
  StopSignal stop;
  Result<GenerateStats> r = Generate(o, dir, stop, {});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : GenerateStats{};
}

// The files' contents in order: what must not depend on anything but the options.
std::vector<std::string> Contents(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& f : GeneratedFiles(dir)) {
    out.push_back(ReadFile(f));
  }
  return out;
}

TEST(GenerateTest, SameSeedSameBytesOtherSeedOtherBytes) {
  ScratchDir a("same_a"), b("same_b"), c("same_c");
  GenerateOptions o = Quiet();
  o.rows = 5000;
  o.rows_per_file = 2000;
  o.update_share = 0.2;
  o.duplicate_share = 0.05;
  o.delete_share = 0.05;
  o.late_share = 0.05;
  o.bad_share = 0.02;
  o.null_share = 0.05;
  MustGenerate(o, a.path());
  MustGenerate(o, b.path());
  o.seed = 7;
  MustGenerate(o, c.path());
  const auto ca = Contents(a.path());
  ASSERT_EQ(ca.size(), 3u);
  EXPECT_EQ(ca, Contents(b.path()));
  const auto cc = Contents(c.path());
  ASSERT_EQ(cc.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(ca[i], cc[i]);
    EXPECT_EQ(ca[i].substr(0, ca[i].find('\n')), cc[i].substr(0, cc[i].find('\n')));  // same header
  }
}

TEST(GenerateTest, FileSizeDoesNotChangeTheRows) {
  ScratchDir a("split_a"), b("split_b");
  GenerateOptions o = Quiet();
  o.rows = 3000;
  o.update_share = 0.3;
  o.rows_per_file = 1000;
  MustGenerate(o, a.path());
  o.rows_per_file = 700;
  MustGenerate(o, b.path());
  auto rows = [](const std::filesystem::path& dir) {
    std::string all;
    for (const std::string& content : Contents(dir)) {
      all += content.substr(content.find('\n') + 1);
    }
    return all;
  };
  EXPECT_EQ(rows(a.path()), rows(b.path()));
}

TEST(GenerateTest, FilesHaveTheSeedFormat) {
  ScratchDir dir("format");
  GenerateOptions o = Quiet();
  o.rows = 25000;
  const GenerateStats stats = MustGenerate(o, dir.path());
  EXPECT_EQ(stats.rows, 25000u);
  EXPECT_EQ(stats.files, 3u);
  EXPECT_EQ(stats.bad_rows, 0u);
  const auto files = GeneratedFiles(dir.path());
  ASSERT_EQ(files.size(), 3u);
  const std::vector<size_t> expected_rows = {10000, 10000, 5000};
  const std::string header = "customer_id,first_name,last_name,email,street,city,state,country";
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(files[i].filename().string().substr(24, 6), fmt::format("{:06}", i + 1));
    bool crlf = false;
    const auto lines = testing::SplitLines(ReadFile(files[i]), &crlf);
    EXPECT_TRUE(crlf) << files[i];
    ASSERT_EQ(lines.size(), expected_rows[i] + 1);
    EXPECT_EQ(lines[0], header);
    const auto columns = *testing::SplitCsv(header);
    for (size_t n = 1; n < lines.size(); ++n) {
      const auto reason = testing::RejectReason(columns, lines[n]);
      ASSERT_FALSE(reason.has_value()) << files[i] << ":" << n + 1 << ": " << *reason << ": " << lines[n];
      const auto fields = *testing::SplitCsv(lines[n]);
      for (size_t f = 1; f < fields.size(); ++f) {
        ASSERT_FALSE(fields[f].empty()) << lines[n];  // no NULLs unless asked for
      }
    }
  }
  // Like the seed: keys 0, 1, 2, ... when there are only inserts.
  const auto audit = AuditFiles(files, 0);
  EXPECT_TRUE(audit.problems.empty()) << audit.problems.front();
  EXPECT_EQ(audit.inserts, 25000u);
  EXPECT_EQ(*audit.keys.rbegin(), 24999u);
}

TEST(GenerateTest, SharesAreRespectedOnALargeRun) {
  ScratchDir dir("shares");
  GenerateOptions o = Quiet();
  o.rows = 100000;
  o.update_share = 0.2;
  o.scd2_share = 0.3;
  o.duplicate_share = 0.05;
  o.delete_share = 0.04;
  o.late_share = 0.03;
  o.bad_share = 0.01;
  o.null_share = 0.1;
  o.first_key = 500;
  const GenerateStats stats = MustGenerate(o, dir.path());
  const auto audit = AuditFiles(GeneratedFiles(dir.path()), 500);
  for (size_t i = 0; i < std::min<size_t>(audit.problems.size(), 10); ++i) {
    ADD_FAILURE() << audit.problems[i];
  }
  const double rows = static_cast<double>(audit.rows);
  EXPECT_EQ(audit.rows, 100000u);
  EXPECT_EQ(audit.bad, stats.bad_rows);
  EXPECT_NEAR(audit.bad / rows, 0.01, 0.002);
  EXPECT_NEAR((audit.scd1 + audit.scd2 + audit.reinserts) / rows, 0.2, 0.01);
  EXPECT_NEAR(static_cast<double>(audit.scd2) / static_cast<double>(audit.scd1 + audit.scd2), 0.3, 0.02);
  EXPECT_NEAR(audit.duplicates / rows, 0.05, 0.005);
  EXPECT_NEAR(audit.deletes / rows, 0.04, 0.005);
  EXPECT_NEAR(audit.late / rows, 0.03, 0.005);
  EXPECT_NEAR(audit.inserts / rows, 1 - 0.2 - 0.05 - 0.04 - 0.03 - 0.01, 0.01);
  EXPECT_GT(audit.reinserts, 100u);
  EXPECT_NEAR(static_cast<double>(audit.null_fields) / static_cast<double>(audit.attribute_fields), 0.1,
              0.01);
  EXPECT_EQ(*audit.keys.begin(), 500u);
}

TEST(GenerateTest, BadRowCountMatchesTheBadLines) {
  ScratchDir dir("bad");
  GenerateOptions o = Quiet();
  o.rows = 30000;
  o.rows_per_file = 7000;
  o.bad_share = 0.05;
  o.event_time = true;
  o.with_op = true;
  const GenerateStats stats = MustGenerate(o, dir.path());
  EXPECT_EQ(stats.files, 5u);
  const auto audit = AuditFiles(GeneratedFiles(dir.path()), 0);
  EXPECT_EQ(audit.bad, stats.bad_rows);
  EXPECT_NEAR(static_cast<double>(stats.bad_rows), 1500, 150);
  EXPECT_TRUE(audit.problems.empty()) << audit.problems.front();
}

TEST(GenerateTest, FilesAppearOnlyWholeUnderTheirFinalNames) {
  ScratchDir dir("atomic");
  GenerateOptions o = Quiet();
  o.rows = 600;
  o.rows_per_file = 100;
  o.rate = 3000;  // 200 ms: long enough for the watcher to look many times
  std::atomic<bool> done{false};
  std::atomic<int> partial{0};
  std::atomic<int> looks{0};
  std::thread watcher([&] {
    while (!done) {
      for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        const std::string name = entry.path().filename().string();
        if (name.front() == '.') {
          if (name.size() < 4 || name.substr(name.size() - 4) != ".tmp") {
            ++partial;
          }
          continue;
        }
        const std::string content = ReadFile(entry.path());
        bool crlf = false;
        if (!testing::IsFinalName(name) || testing::SplitLines(content, &crlf).size() != 101 || !crlf) {
          ++partial;
        }
      }
      ++looks;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::vector<std::filesystem::path> announced;
  StopSignal stop;
  auto r = Generate(o, dir.path(), stop, [&](const std::filesystem::path& p, const GenerateStats& s) {
    EXPECT_TRUE(std::filesystem::exists(p));
    EXPECT_EQ(s.files, announced.size() + 1);
    EXPECT_EQ(s.rows, s.files * 100);
    announced.push_back(p);
  });
  done = true;
  watcher.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(partial, 0);
  EXPECT_GT(looks, 10);
  EXPECT_EQ(announced, GeneratedFiles(dir.path()));
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_TRUE(testing::IsFinalName(entry.path().filename().string())) << entry.path();  // no .tmp left
    ++entries;
  }
  EXPECT_EQ(entries, 6u);
}

TEST(GenerateTest, NeverOverwritesAnExistingFile) {
  ScratchDir dir("collide");
  // Take sequence 1 for every second around now, so that the generator's first name is always taken.
  const Micros now = NowMicros();
  std::vector<std::filesystem::path> ours;
  for (int s = -2; s <= 10; ++s) {
    ours.push_back(dir.path() /
                   fmt::format("customer_{}_000001.csv", FormatCompactTimestamp(now + s * 1000000LL)));
    std::ofstream(ours.back()) << "keep me";
  }
  GenerateOptions o = Quiet();
  o.rows = 10;
  const GenerateStats stats = MustGenerate(o, dir.path());
  EXPECT_EQ(stats.files, 1u);
  for (const auto& p : ours) {
    EXPECT_EQ(ReadFile(p), "keep me") << p;
  }
  const auto files = GeneratedFiles(dir.path());
  ASSERT_EQ(files.size(), ours.size() + 1);
  int new_files = 0;
  for (const auto& f : files) {
    if (ReadFile(f) != "keep me") {
      ++new_files;
      EXPECT_EQ(f.filename().string().substr(24, 6), "000002");
    }
  }
  EXPECT_EQ(new_files, 1);
}

TEST(GenerateTest, RateSpacesTheRows) {
  ScratchDir dir("rate");
  GenerateOptions o = Quiet();
  o.rows = 100;
  o.rows_per_file = 25;
  o.rate = 400;  // the last row is due after 99/400 s
  const auto start = Clock::now();
  const GenerateStats stats = MustGenerate(o, dir.path());
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(stats.rows, 100u);
  EXPECT_EQ(stats.files, 4u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(230));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

// Runs an endless paced stream, requests a stop after `after`, and returns the stats and how long
// Generate took to return once asked.
// What Generate did when asked to stop `after` its start: its stats, how long it took to return once asked,
// and how long it ran in all.
struct Stopped {
  GenerateStats stats;
  Clock::duration latency;
  Clock::duration ran;
};
Stopped StopAfter(const GenerateOptions& o, const std::filesystem::path& dir,
                  std::chrono::milliseconds after) {
  StopSignal stop;
  Clock::time_point asked;
  std::thread stopper([&] {
    std::this_thread::sleep_for(after);
    asked = Clock::now();
    stop.Request();
  });
  const auto started = Clock::now();
  Result<GenerateStats> r = Generate(o, dir, stop, {});
  const auto returned = Clock::now();
  stopper.join();
  EXPECT_TRUE(r.ok());
  return {r.ok() ? r.value() : GenerateStats{}, returned - asked, returned - started};
}

TEST(GenerateTest, EndlessStreamStopsPromptly) {
  ScratchDir dir("stop");
  GenerateOptions o = Quiet();
  o.rows = 0;  // with a rate: until stopped
  o.rate = 200;
  o.rows_per_file = 30;
  const auto [stats, latency, ran] = StopAfter(o, dir.path(), std::chrono::milliseconds(500));
  // Bounds that hold on a loaded machine: a stop is seen within a second (a file of 30 rows takes 150 ms),
  // and the rate is never exceeded.
  EXPECT_LT(latency, std::chrono::seconds(1));
  EXPECT_GE(stats.rows, 1u);
  EXPECT_LE(stats.rows, 1 + o.rate * std::chrono::duration<double>(ran).count());
  // The file in progress was published short, so every counted row is on disk.
  uint64_t on_disk = 0;
  for (const auto& f : GeneratedFiles(dir.path())) {
    bool crlf = false;
    on_disk += testing::SplitLines(ReadFile(f), &crlf).size() - 1;
  }
  EXPECT_EQ(on_disk, stats.rows);
  EXPECT_EQ(stats.files, GeneratedFiles(dir.path()).size());
}

TEST(GenerateTest, SlowRateWakesUpOnStop) {
  ScratchDir dir("slow");
  GenerateOptions o = Quiet();
  o.rows = 0;
  o.rate = 0.2;  // the second row is due after 5 s
  const auto [stats, latency, ran] = StopAfter(o, dir.path(), std::chrono::milliseconds(150));
  // Well under the 5 s that waiting for the next row would take, even on a loaded machine.
  EXPECT_LT(latency, std::chrono::seconds(2));
  EXPECT_EQ(stats.rows, 1u);
  EXPECT_EQ(stats.files, 1u);
}

TEST(GenerateTest, StopBeforeStartWritesNothing) {
  ScratchDir dir("stopped");
  StopSignal stop;
  stop.Request();
  GenerateOptions o = Quiet();
  auto r = Generate(o, dir.path(), stop, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows, 0u);
  EXPECT_EQ(r->files, 0u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(GenerateTest, RefusesBadOptionsWithoutTouchingAnything) {
  ScratchDir dir("invalid");
  const auto landing = dir.path() / "landing";
  StopSignal stop;
  GenerateOptions o = Quiet();
  o.update_share = 0.6;
  o.duplicate_share = 0.3;
  o.delete_share = 0.2;
  auto r = Generate(o, landing, stop, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(r.error().message.find("at most 1"), std::string::npos) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(landing));

  o = Quiet();
  o.rows_per_file = 0;
  EXPECT_FALSE(ValidateGenerateOptions(o).ok());
  o = Quiet();
  o.start_time = "soon";
  EXPECT_FALSE(ValidateGenerateOptions(o).ok());
  o = Quiet();
  o.first_key = 9223372036854775807ULL;
  o.key_space = 2;
  EXPECT_FALSE(ValidateGenerateOptions(o).ok());
  o.key_space = 1;
  EXPECT_TRUE(ValidateGenerateOptions(o).ok());
}

TEST(GenerateTest, CreatesTheLandingDirectory) {
  ScratchDir dir("mkdir");
  GenerateOptions o = Quiet();
  o.rows = 5;
  const auto landing = dir.path() / "a" / "landing";
  EXPECT_EQ(MustGenerate(o, landing).files, 1u);
  EXPECT_EQ(GeneratedFiles(landing).size(), 1u);
}

TEST(GenerateFlagsTest, ParsesEveryFlag) {
  CLI::App app;
  GenerateOptions o;
  AddGenerateFlags(app, o);
  app.parse(
      "--seed 7 --rows 123 --rows-per-file 45 --key-space 1000 --first-key 9 --update-share 0.25 "
      "--scd2-share 0.75 --duplicate-share 0.1 --delete-share 0.05 --late-share 0.02 --bad-share 0.01 "
      "--null-share 0.3 --event-time --with-op --rate 2.5 --start-time 2024-02-29T12:00:00Z --no-progress",
      false);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.rows, 123u);
  EXPECT_EQ(o.rows_per_file, 45u);
  EXPECT_EQ(o.key_space, 1000u);
  EXPECT_EQ(o.first_key, 9u);
  EXPECT_DOUBLE_EQ(o.update_share, 0.25);
  EXPECT_DOUBLE_EQ(o.scd2_share, 0.75);
  EXPECT_DOUBLE_EQ(o.duplicate_share, 0.1);
  EXPECT_DOUBLE_EQ(o.delete_share, 0.05);
  EXPECT_DOUBLE_EQ(o.late_share, 0.02);
  EXPECT_DOUBLE_EQ(o.bad_share, 0.01);
  EXPECT_DOUBLE_EQ(o.null_share, 0.3);
  EXPECT_TRUE(o.event_time);
  EXPECT_TRUE(o.with_op);
  EXPECT_DOUBLE_EQ(o.rate, 2.5);
  EXPECT_EQ(o.start_time, "2024-02-29T12:00:00Z");
  EXPECT_FALSE(o.progress);
  EXPECT_TRUE(ValidateGenerateOptions(o).ok());
}

TEST(GenerateFlagsTest, DefaultsStayWhenNotGiven) {
  CLI::App app;
  GenerateOptions o;
  AddGenerateFlags(app, o);
  app.parse("", false);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.rows, 10000u);
  EXPECT_TRUE(o.progress);
  EXPECT_FALSE(o.event_time);
  EXPECT_NE(app.help().find("--late-share"), std::string::npos);
}

TEST(GenerateFlagsTest, RefusesOutOfRangeValues) {
  for (const char* args :
       {"--update-share 1.5", "--null-share -0.1", "--rows-per-file 0", "--rate -1",
        "--start-time 2025-02-30", "--first-key 9223372036854775808", "--rows -5", "--seed x",
        "--first-key -1", "--rows-per-file -1", "--key-space -3", "--seed -1"}) {
    CLI::App app;
    GenerateOptions o;
    AddGenerateFlags(app, o);
    EXPECT_THROW(app.parse(args, false), CLI::ParseError) << args;
  }
}

}  // namespace
}  // namespace dimstream

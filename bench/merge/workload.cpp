#include "bench/merge/workload.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <utility>

#include <fmt/format.h>

#include "generator/csv_line.h"
#include "generator/customer_faker.h"
#include "generator/random.h"

namespace dimstream {

const char* GroupName(FileGroup g) {
  switch (g) {
    case FileGroup::kInitial:
      return "initial";
    case FileGroup::kChange:
      return "change";
    case FileGroup::kFresh:
      return "fresh";
    case FileGroup::kRestart:
      return "restart";
  }
  return "?";
}

Mix ChangeMix(uint64_t rows) {
  auto share = [rows](double s) {
    return static_cast<uint64_t>(std::llround(static_cast<double>(rows) * s));
  };
  Mix m;
  m.new_keys = share(kNewShare);
  m.scd2 = share(kScd2Share);
  m.scd1 = std::min(share(kScd1Share), rows - m.new_keys - m.scd2);
  m.resends = rows - m.new_keys - m.scd2 - m.scd1;
  return m;
}

uint64_t FreshRows(const BenchOptions& o) {
  return std::max<uint64_t>(1, o.rate / o.files_per_sec);
}

std::vector<PlannedFile> PlanFiles(const BenchOptions& o) {
  std::vector<PlannedFile> plan;
  uint64_t n = 0;
  for (uint64_t done = 0; done < o.keys; done += o.initial_rows_per_file) {
    Mix m;
    m.new_keys = std::min(o.initial_rows_per_file, o.keys - done);
    plan.push_back({fmt::format("initial_{:06}.csv", ++n), FileGroup::kInitial, m});
  }
  for (uint64_t i = 1; i <= o.files; ++i) {
    plan.push_back({fmt::format("change_{:06}.csv", i), FileGroup::kChange, ChangeMix(o.rows_per_file)});
  }
  for (uint64_t i = 1; i <= o.files_per_sec * o.freshness_seconds; ++i) {
    plan.push_back({fmt::format("fresh_{:06}.csv", i), FileGroup::kFresh, ChangeMix(FreshRows(o))});
  }
  plan.push_back({"restart_000001.csv", FileGroup::kRestart, ChangeMix(o.rows_per_file)});
  return plan;
}

std::vector<const PlannedFile*> FilesOf(const std::vector<PlannedFile>& plan, FileGroup g) {
  std::vector<const PlannedFile*> out;
  for (const auto& f : plan) {
    if (f.group == g) {
      out.push_back(&f);
    }
  }
  return out;
}

namespace {

constexpr const char* kCsvHeader = "customer_id,first_name,last_name,email,street,city,state,country\r\n";

// Writes the files of the plan in the seed's format (its header, CRLF, no updated_at and no op column, so
// that a record's sequence is its load's commit time, as in the seed). Keeps every key's current values so
// that a change starts from them and a resend repeats them; a key appears at most once per file, so a
// resend always repeats values an earlier file sent. Deterministic for the seed: every draw comes from one
// Rng, in file order. The generator library's ChangeStream is not used because its mix is drawn per row
// (not exact per file), its duplicates repeat recent rows (often in the same file, and stale once the key
// changed since) and it does not pick keys uniformly from the initial ones.
// Owns the key table (48 bytes a key); runs in the generating child process only.
class ChangeFileWriter {
 public:
  explicit ChangeFileWriter(uint64_t seed) : rng_(seed), faker_(0.0) {}

  Status Write(const fs::path& path, const PlannedFile& f) {
    ++file_no_;
    std::FILE* out = std::fopen(path.c_str(), "wb");
    if (out == nullptr) {
      return Error::Permanent(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
    }
    std::string buffer = kCsvHeader;
    auto flush = [&](bool last) {
      if ((last || buffer.size() > (8u << 20)) && !buffer.empty()) {
        bool ok = std::fwrite(buffer.data(), 1, buffer.size(), out) == buffer.size();
        buffer.clear();
        return ok;
      }
      return true;
    };
    bool ok = true;
    if (f.group == FileGroup::kInitial) {
      for (uint64_t i = 0; i < f.mix.new_keys && ok; ++i) {
        AppendRow(buffer, NewKey());
        ok = flush(false);
      }
    } else {
      // The kinds in a random order, so that new keys, changes and resends are spread through the file.
      std::vector<uint8_t> kinds;
      kinds.reserve(f.mix.rows());
      kinds.insert(kinds.end(), f.mix.new_keys, 0);
      kinds.insert(kinds.end(), f.mix.scd2, 1);
      kinds.insert(kinds.end(), f.mix.scd1, 2);
      kinds.insert(kinds.end(), f.mix.resends, 3);
      for (size_t i = kinds.size(); i > 1; --i) {
        std::swap(kinds[i - 1], kinds[rng_.Uniform(i)]);
      }
      for (uint8_t kind : kinds) {
        uint64_t key = kind == 0 ? NewKey() : Pick();
        if (kind == 1) {
          faker_.ChangeAddress(rng_, keys_[key].values);
        } else if (kind == 2) {
          faker_.ChangeName(rng_, keys_[key].values);
        }
        AppendRow(buffer, key);
        if (!(ok = flush(false))) {
          break;
        }
      }
    }
    ok = ok && flush(true);
    ok = (std::fclose(out) == 0) && ok;
    if (!ok) {
      return Error::Permanent(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    }
    return Ok();
  }

 private:
  struct KeyState {
    Customer values;
    uint64_t last_file = 0;  // the last file that holds this key
  };

  uint64_t NewKey() {
    keys_.push_back({faker_.New(rng_), file_no_});
    return keys_.size() - 1;
  }

  // A uniformly drawn existing key that this file does not hold yet.
  uint64_t Pick() {
    for (;;) {
      uint64_t key = rng_.Uniform(keys_.size());
      if (keys_[key].last_file != file_no_) {
        keys_[key].last_file = file_no_;
        return key;
      }
    }
  }

  void AppendRow(std::string& out, uint64_t key) {
    fmt::format_to(std::back_inserter(out), "{}", key);
    for (const std::string& value : faker_.Render(keys_[key].values)) {
      out += ',';
      AppendCsvField(out, value);
    }
    out += kCsvLineEnd;
  }

  Rng rng_;
  CustomerFaker faker_;
  std::vector<KeyState> keys_;  // index: customer_id
  uint64_t file_no_ = 0;
};

}  // namespace

Status GenerateFiles(const BenchOptions& o, const std::vector<PlannedFile>& plan, const fs::path& dir) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    return Error::Permanent(fmt::format("cannot start the generating process: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    int code = 0;
    try {
      ChangeFileWriter writer(o.seed);
      auto last_progress = Clock::now();
      for (size_t i = 0; i < plan.size(); ++i) {
        Status st = writer.Write(dir / plan[i].name, plan[i]);
        if (!st.ok()) {
          fmt::print(stderr, "dimstream_bench_merge: {}\n", st.error().message);
          code = 1;
          break;
        }
        if (Clock::now() - last_progress > std::chrono::seconds(2)) {
          fmt::print(stderr, "  generating: {} of {} files written\n", i + 1, plan.size());
          last_progress = Clock::now();
        }
      }
    } catch (const std::exception& e) {
      fmt::print(stderr, "dimstream_bench_merge: generating failed: {}\n", e.what());
      code = 1;
    }
    std::fflush(stderr);
    _exit(code);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return Error::Permanent(
          fmt::format("cannot wait for the generating process: {}", std::strerror(errno)));
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error::Permanent("the generating process failed (see its message above)");
  }
  return Ok();
}

}  // namespace dimstream

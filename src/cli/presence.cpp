#include "cli/presence.h"

#include <unistd.h>

#include <fmt/format.h>

namespace dimstream {

std::string MergeLeaseName(const EntitySpec& entity) {
  return "merge:" + entity.name;
}

std::string MergeDetail(const std::vector<const MergeJob*>& jobs) {
  uint64_t runs = 0;
  uint64_t rows = 0;
  for (const MergeJob* j : jobs) {
    runs += j->stats().runs;
    rows += j->stats().rows_merged;
  }
  return fmt::format("merge runs {}, rows merged {}", runs, rows);
}

Presence::Presence(const Config& config, Warehouse& warehouse, std::string role,
                   const std::vector<const EntitySpec*>& merges, std::function<std::string()> detail) {
  const std::string process = ThisProcessId();
  for (const EntitySpec* e : merges) {
    leases_.push_back(std::make_unique<LeaseKeeper>(warehouse, MergeLeaseName(*e), process,
                                                    std::chrono::milliseconds(config.merge_lease_ms)));
    // The first attempt now, so that a process alone on the warehouse merges from its first tick.
    leases_.back()->Renew();
  }
  heartbeat_ = std::make_unique<Heartbeat>(
      warehouse, ProcessBeat{process, std::move(role), ThisHostName(), ::getpid(), ""}, std::move(detail),
      std::chrono::seconds(1));
  for (auto& lease : leases_) {
    threads_.emplace_back([this, l = lease.get()] { l->Run(stop_); });
  }
  threads_.emplace_back([this] { heartbeat_->Run(stop_); });
}

Presence::~Presence() {
  Stop();
}

bool Presence::MayMerge(const EntitySpec& entity) const {
  const std::string name = MergeLeaseName(entity);
  for (const auto& lease : leases_) {
    if (lease->name() == name) {
      return lease->held();
    }
  }
  return false;
}

void Presence::Stop() {
  stop_.Request();
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

}  // namespace dimstream

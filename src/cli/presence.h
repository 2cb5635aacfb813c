#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/stop.h"
#include "config/config.h"
#include "merge/merge.h"
#include "scheduler/lease.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// A long-running command's presence on the warehouse: its heartbeat (every second, with what `detail`
// says) and, for a command that merges, one merge lease per entity (merge.lease_ms), each kept on a thread
// of its own until Stop. On a warehouse one process alone opens (DuckDB), every lease is held at once and no
// heartbeat is kept.
class Presence {
 public:
  // `role`: the command ("run", "load", "merge"); `merges`: the entities whose merge lease it takes.
  Presence(const Config& config, Warehouse& warehouse, std::string role,
           const std::vector<const EntitySpec*>& merges, std::function<std::string()> detail);
  ~Presence();  // Stop
  Presence(const Presence&) = delete;
  Presence& operator=(const Presence&) = delete;

  // Whether this process may run `entity`'s merge task now: it holds the lease.
  bool MayMerge(const EntitySpec& entity) const;
  // Gives up the leases and records the last heartbeat ("stopped"); after the merge tasks have stopped, so
  // that a process standing by does not start a run while this one finishes its own.
  void Stop();

 private:
  StopSignal stop_;
  std::vector<std::unique_ptr<LeaseKeeper>> leases_;
  std::unique_ptr<Heartbeat> heartbeat_;
  std::vector<std::thread> threads_;
};

// The lease name of an entity's merge task.
std::string MergeLeaseName(const EntitySpec& entity);

// What a heartbeat says of merge jobs: "merge runs N, rows merged M".
std::string MergeDetail(const std::vector<const MergeJob*>& jobs);

}  // namespace dimstream

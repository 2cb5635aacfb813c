#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "common/stop.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// This process among every process on the warehouse: "<host>:<pid>:<start time in unix seconds>", unique
// even when a pid is reused.
std::string ThisProcessId();
std::string ThisHostName();

// Keeps the lease `name` for `holder` while Run runs: takes it when it is free, renews it every ttl/5, and
// gives it up when Run returns (a clean stop), so that a process waiting on the same name takes over at
// once; one that dies holds it until ttl after its last renewal. What makes one `merge --watch` of several
// do the work while the others stand by. A warehouse one process alone can open grants it at once.
class LeaseKeeper {
 public:
  LeaseKeeper(Warehouse& warehouse, std::string name, std::string holder, std::chrono::milliseconds ttl);

  // Renews until `stop`, then releases the lease if held.
  void Run(const StopSignal& stop);
  // One attempt to take or renew it; true when held now. Logs when it is won or lost.
  bool Renew();
  // Held, and the last renewal is younger than the ttl by this process's own clock (measured from before it
  // was asked for, so never longer than the server's view).
  bool held() const;
  const std::string& name() const { return name_; }

 private:
  Warehouse& warehouse_;
  std::string name_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
  std::atomic<bool> held_{false};
  std::atomic<std::chrono::steady_clock::rep> valid_until_{0};
  std::string holder_seen_;  // the other holder last logged, so that waiting is logged once per holder
};

// Records this process's heartbeat every `interval` with what `detail` says, and "stopped" when Run returns:
// what `status` lists for every process on the warehouse.
class Heartbeat {
 public:
  Heartbeat(Warehouse& warehouse, ProcessBeat identity, std::function<std::string()> detail,
            std::chrono::milliseconds interval);
  void Run(const StopSignal& stop);
  // One beat now; a failure is logged once until a beat succeeds again.
  void Beat(const std::string& detail);

 private:
  Warehouse& warehouse_;
  ProcessBeat beat_;
  std::function<std::string()> detail_;
  std::chrono::milliseconds interval_;
  bool failing_ = false;
};

}  // namespace dimstream

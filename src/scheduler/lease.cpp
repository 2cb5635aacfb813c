#include "scheduler/lease.h"

#include <unistd.h>

#include <climits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace dimstream {

std::string ThisHostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) {
    return "localhost";
  }
  return name;
}

std::string ThisProcessId() {
  static const std::string id = fmt::format(
      "{}:{}:{}", ThisHostName(), ::getpid(),
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  return id;
}

LeaseKeeper::LeaseKeeper(Warehouse& warehouse, std::string name, std::string holder,
                         std::chrono::milliseconds ttl)
    : warehouse_(warehouse), name_(std::move(name)), holder_(std::move(holder)), ttl_(ttl) {}

bool LeaseKeeper::Renew() {
  const auto asked = std::chrono::steady_clock::now();
  std::string previous;
  auto got = warehouse_.HoldLease(name_, holder_, ttl_, &previous);
  const bool was_held = held_.load();
  if (!got.ok()) {
    // Unknown: held until the last renewal runs out, as the server sees it too.
    if (was_held) {
      spdlog::warn("cannot renew the lease {} (held until it runs out): {}", name_, got.error().message);
    }
    held_ = held_.load() && held();
    return held();
  }
  if (*got) {
    valid_until_ = (asked + ttl_).time_since_epoch().count();
    if (!was_held) {
      spdlog::info("took the lease {}{}", name_,
                   previous.empty() || previous == holder_
                       ? std::string()
                       : fmt::format(" over from {}, whose lease ran out", previous));
      holder_seen_.clear();
    }
  } else {
    if (was_held) {
      spdlog::warn("lost the lease {} to {}: standing by", name_, previous);
    } else if (previous != holder_seen_) {
      spdlog::info("{} holds the lease {}: standing by to take over when it stops renewing it", previous,
                   name_);
    }
    holder_seen_ = previous;
  }
  held_ = *got;
  return *got;
}

bool LeaseKeeper::held() const {
  return held_.load() && std::chrono::steady_clock::now().time_since_epoch().count() < valid_until_.load();
}

void LeaseKeeper::Run(const StopSignal& stop) {
  const auto every = std::max(ttl_ / 5, std::chrono::milliseconds(1));
  do {
    Renew();
  } while (!stop.WaitFor(every));
  if (held_.load()) {
    held_ = false;
    Status released = warehouse_.ReleaseLease(name_, holder_);
    if (!released.ok()) {
      spdlog::warn("cannot give up the lease {} (it runs out by itself): {}", name_,
                   released.error().message);
    }
  }
}

Heartbeat::Heartbeat(Warehouse& warehouse, ProcessBeat identity, std::function<std::string()> detail,
                     std::chrono::milliseconds interval)
    : warehouse_(warehouse), beat_(std::move(identity)), detail_(std::move(detail)), interval_(interval) {}

void Heartbeat::Beat(const std::string& detail) {
  beat_.detail = detail;
  Status st = warehouse_.Beat(beat_);
  if (!st.ok() && !failing_) {
    spdlog::warn("cannot record this process's heartbeat (tries again): {}", st.error().message);
  }
  failing_ = !st.ok();
}

void Heartbeat::Run(const StopSignal& stop) {
  do {
    Beat(detail_());
  } while (!stop.WaitFor(interval_));
  Beat("stopped; " + detail_());
}

}  // namespace dimstream

#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli/app_context.h"
#include "cli/query_server.h"
#include "common/stop.h"
#include "loader/loader.h"
#include "merge/merge.h"
#include "mover/mover.h"

// What the commands share: turning a failure into the message `main` prints, the roles' options from the
// configuration, opening the warehouse, serving queries while a command holds it, choosing entities.
namespace dimstream {

// A command's failure: `main` prints the message and exits 1.
struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
T Must(Result<T> r, const std::string& what = "") {
  if (!r.ok()) {
    throw Fail(what.empty() ? r.error().message : what + ": " + r.error().message);
  }
  return std::move(r).value();
}

inline void Must(const Status& s, const std::string& what = "") {
  if (!s.ok()) {
    throw Fail(what.empty() ? s.error().message : what + ": " + s.error().message);
  }
}

MoverOptions MoverOptionsFrom(const Config& c);
LoaderOptions LoaderOptionsFrom(const Config& c);
// The merge options of one entity (its key index snapshot is <warehouse>.<entity>.keys; on PostgreSQL
// <data_dir>/postgres-<hash of the URL>.<entity>.keys).
MergeOptions MergeOptionsFrom(const Config& c, const EntitySpec& entity);

// The entities a command works on: the one called `name`, or every declared one when `name` is empty.
std::vector<const EntitySpec*> SelectEntities(const Config& config, const std::string& name);

// Opens the warehouse, waiting up to warehouse.open_timeout_ms while another process holds the file: a
// `sql` or `status` that opened it a moment earlier must not make `run` fail to start.
std::unique_ptr<Warehouse> MustOpenWarehouse(const Config& config, const StopSignal& stop);

// Serves `sql` and `status` from other processes for as long as the command that holds the warehouse
// runs: it stops when it goes out of scope, not on Ctrl-C, so queries work until the very end. Nothing on
// PostgreSQL, which they query themselves.
class QueryService {
 public:
  QueryService(const Config& config, Warehouse& warehouse);
  ~QueryService();
  QueryService(const QueryService&) = delete;
  QueryService& operator=(const QueryService&) = delete;

 private:
  std::unique_ptr<QueryServer> server_;
  StopSignal done_;
  std::thread thread_;
};

// "merge: nothing to merge" or what a run did, for one entity.
void PrintMergeSummary(const std::string& entity, const TaskRecord& t);

}  // namespace dimstream

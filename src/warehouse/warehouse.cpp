#include "warehouse/warehouse.h"

namespace dimstream {

Result<LoadReceipt> Warehouse::CommitLoad(const LoadRequest& request) {
  auto session = BeginLoad(request.object, request.entity);
  if (!session.ok()) {
    return session.error();
  }
  if (!request.failed && request.rows.size() > 0) {
    DIMSTREAM_TRY((*session)->AppendRows(request.rows));
  }
  if (!request.rejects.empty()) {
    DIMSTREAM_TRY((*session)->AppendRejects(request.rejects));
  }
  LoadSummary summary;
  summary.checksum = request.checksum;
  summary.size = request.object.size;
  summary.format = request.format;
  summary.uncompressed_size =
      request.uncompressed_size != 0 ? request.uncompressed_size : request.object.size;
  summary.failed = request.failed;
  summary.error = request.error;
  summary.rows = request.failed ? 0 : request.rows.size();
  summary.rejects = request.rejects.size();
  summary.ignored_columns = request.ignored_columns;
  return (*session)->Commit(summary);
}

Result<bool> Warehouse::HoldLease(const std::string&, const std::string&, std::chrono::milliseconds,
                                  std::string* previous) {
  if (previous != nullptr) {
    previous->clear();
  }
  return true;
}

Status Warehouse::ReleaseLease(const std::string&, const std::string&) {
  return Ok();
}

Status Warehouse::Beat(const ProcessBeat&) {
  return Ok();
}

}  // namespace dimstream

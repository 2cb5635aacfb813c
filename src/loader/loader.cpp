#include "loader/loader.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/fault.h"
#include "common/process_memory.h"
#include "loader/record_parser.h"

namespace dimstream {
namespace {

// Back-off after a retryable failure (a locked or full warehouse, an unreadable bucket).
constexpr std::chrono::milliseconds kRetryInitial{100};
constexpr std::chrono::milliseconds kRetryMax{30000};
// A one-shot run (until_idle) tries this often, about a second in all, then reports the error.
constexpr uint32_t kUntilIdleAttempts = 4;

}  // namespace

Result<OnError> ParseOnError(const std::string& text) {
  if (text == "continue") {
    return OnError::kContinue;
  }
  if (text == "skip_file") {
    return OnError::kSkipFile;
  }
  if (text == "abort_file") {
    return OnError::kAbortFile;
  }
  return Error::Invalid("on_error must be continue, skip_file or abort_file, not '" + text + "'");
}

Loader::Loader(LoaderOptions options, std::vector<EntitySpec> entities, ObjectStore& store,
               NotificationQueue* queue, Warehouse& warehouse,
               std::function<void(const std::string&)> on_commit)
    : options_(options),
      entities_(std::move(entities)),
      store_(store),
      queue_(queue),
      warehouse_(warehouse),
      on_commit_(std::move(on_commit)) {}

namespace {

// Batches handed from the parser thread to the loader's, at most two waiting (what bounds a load's memory
// to about three batches). Cancel makes the parser's next Push fail, so that it stops.
class BatchPipe {
 public:
  Status Push(ParsedObject& batch) {
    ParsedObject item;
    batch.MoveBatchTo(item);
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return queue_.size() < kDepth || cancelled_; });
    if (cancelled_) {
      return *cancelled_;
    }
    queue_.push_back(std::move(item));
    changed_.notify_all();
    return Ok();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    changed_.notify_all();
  }
  // The oldest batch, waiting for one; nullptr once the parser closed the pipe and every batch was taken.
  ParsedObject* Front() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return !queue_.empty() || closed_; });
    return queue_.empty() ? nullptr : &queue_.front();
  }
  void Pop() {
    std::lock_guard lock(mu_);
    queue_.pop_front();
    changed_.notify_all();
  }
  void Cancel(const Error& why) {
    std::lock_guard lock(mu_);
    cancelled_ = why;
    changed_.notify_all();
  }

 private:
  static constexpr size_t kDepth = 2;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<ParsedObject> queue_;  // a deque: Front's pointer stays valid while Push adds behind it
  bool closed_ = false;
  std::optional<Error> cancelled_;
};

// A reject's reason as a message that names its line: most reasons start with it ("line 17: ...").
std::string WithLine(const RejectedRow& r) {
  std::string prefix = fmt::format("line {}", r.line);
  return r.reason.starts_with(prefix) ? r.reason : prefix + ": " + r.reason;
}

std::vector<EntitySpec> RoutedEverything(EntitySpec entity) {
  entity.file_pattern = std::string(1, '*');  // (= "*" trips a false -Wrestrict in g++ 12)
  return {std::move(entity)};
}

}  // namespace

Loader::Loader(LoaderOptions options, EntitySpec entity, ObjectStore& store, NotificationQueue* queue,
               Warehouse& warehouse, std::function<void(const std::string&)> on_commit)
    : Loader(options, RoutedEverything(std::move(entity)), store, queue, warehouse, std::move(on_commit)) {}

Result<LoadReceipt> Loader::LoadObject(const ObjectInfo& object) {
  const std::string& key = object.key.get();
  const Micros started = NowMicros();
  if (!object.version_tag.empty()) {
    auto seen = warehouse_.HasVersion(object.key, object.version_tag);
    if (!seen.ok()) {
      return seen.error();
    }
    if (*seen) {
      return LoadReceipt{LoadOutcome::kAlreadyDone, 0};
    }
  }
  std::string error;
  uint64_t rows = 0;
  uint64_t rejects = 0;
  std::string entity_name;
  Result<LoadReceipt> receipt = Error::Permanent("not loaded");
  auto entity = RouteObject(entities_, key);
  Result<OpenedObject> opened = entity.ok() ? OpenObject(store_, object, **entity, options_.readers)
                                            : Result<OpenedObject>(entity.error());
  if (entity.ok()) {
    entity_name = (*entity)->name;
  }
  if (opened.ok()) {
    receipt = Stream(object, **entity, *opened, rows, rejects, error);
    if (rows + rejects > options_.batch_rows) {
      ReturnFreeMemory();  // its batches, freed on two threads
    }
  } else if (opened.error().kind == ErrorKind::kInvalidInput) {
    // Recorded as failed without reading a record: no entity, an unknown suffix, not Parquet.
    error = opened.error().message;
    auto digest = DigestObject(store_, object.key);
    if (!digest.ok()) {
      return digest.error().Context("cannot load " + key);
    }
    auto format = entity.ok() ? FormatOf(key, (*entity)->files.format) : Result<ObjectFormat>(entity.error());
    receipt = RecordFailure(object, entity_name, *digest, format.ok() ? Describe(*format) : std::string(),
                            digest->size, error, {});
  } else {
    return opened.error().Context("cannot load " + key);
  }
  Count(receipt, rows, rejects);
  if (receipt.ok() && receipt->outcome != LoadOutcome::kAlreadyDone) {
    stats_.load_seconds.Observe(NowMicros() - started);
    if (receipt->outcome == LoadOutcome::kFailed) {
      spdlog::warn("cannot load {}: {}", key, error);
    } else {
      spdlog::info("loaded {}: {} rows, {} rejected (load {})", key, rows, rejects, receipt->load_id);
    }
    if (on_commit_ && !entity_name.empty()) {
      on_commit_(entity_name);
    }
  }
  return receipt;
}

Result<LoadReceipt> Loader::Stream(const ObjectInfo& object, const EntitySpec& entity, OpenedObject& opened,
                                   uint64_t& rows, uint64_t& rejects, std::string& error) {
  const std::string& key = object.key.get();
  auto session = warehouse_.BeginLoad(object, entity.name);
  if (!session.ok()) {
    return session.error();
  }
  ParseOptions parse_options{options_.max_reject_bytes, options_.on_error == OnError::kAbortFile,
                             options_.batch_rows, options_.batch_bytes, /*own_text=*/true};
  const bool skip_file = options_.on_error == OnError::kSkipFile;
  bool rows_discarded = false;  // skip_file, once a row was rejected: no row of the file is kept
  uint64_t appended = 0;
  uint64_t rejected = 0;
  auto progress_at = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // Both cores: the parser thread reads and checks the next batch while this one appends the last. Each
  // batch owns its text (own_text), so the source can reuse its buffers as soon as a batch is handed over.
  ParsedObject parsed;
  Status streamed = Ok();
  BatchPipe pipe;
  std::thread parser([&] {
    streamed = ParseRecords(*opened.source, entity, parse_options, parsed,
                            [&](ParsedObject& batch) { return pipe.Push(batch); });
    pipe.Close();
  });
  Status appending = Ok();
  while (ParsedObject* batch = pipe.Front()) {
    appending = [&]() -> Status {
      if (skip_file && !rows_discarded && !batch->rejects.empty()) {
        DIMSTREAM_TRY((*session)->DiscardRows());
        rows_discarded = true;
      }
      if (!rows_discarded && batch->rows.size() > 0) {
        DIMSTREAM_TRY((*session)->AppendRows(batch->rows));
      }
      if (!batch->rejects.empty() && options_.on_error != OnError::kAbortFile) {
        DIMSTREAM_TRY((*session)->AppendRejects(batch->rejects));
      }
      FaultPoint("loader.batch");
      return Ok();
    }();
    appended += batch->rows.size();
    rejected += batch->rejects.size();
    pipe.Pop();
    if (!appending.ok()) {
      pipe.Cancel(appending.error());
      break;
    }
    if (std::chrono::steady_clock::now() >= progress_at) {
      spdlog::info("loading {}: {} rows, {} rejected so far", key, appended, rejected);
      progress_at = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    }
  }
  parser.join();
  if (!appending.ok()) {
    return appending.error().Context("cannot load " + key);
  }
  if (!streamed.ok()) {
    return streamed.error().Context("cannot load " + key);
  }
  if (parsed.failed && parsed.failure_kind != ErrorKind::kInvalidInput) {
    return Error{parsed.failure_kind, parsed.error}.Context("cannot load " + key);
  }
  auto digest = opened.Finish();
  if (!digest.ok()) {
    return digest.error().Context("cannot load " + key);
  }
  const std::string format = Describe(opened.format);
  const uint64_t uncompressed = opened.uncompressed_size();
  const bool abort_file = options_.on_error == OnError::kAbortFile && parsed.total_rejects > 0;
  if (parsed.failed || abort_file) {
    // Nothing of the file stays: its rows go with the session, and the failure is recorded alone (with the
    // first bad row, for abort_file).
    session->reset();
    std::vector<RejectedRow> first;
    if (parsed.failed) {
      error = parsed.error;
    } else {
      error = fmt::format("{} (on_error = abort_file)", WithLine(*parsed.first_reject));
      first.push_back(*parsed.first_reject);
      rejects = 1;
    }
    return RecordFailure(object, entity.name, *digest, format, uncompressed, error, std::move(first));
  }
  LoadSummary summary;
  summary.checksum = digest->checksum;
  summary.size = digest->size;
  summary.format = format;
  summary.uncompressed_size = uncompressed;
  summary.rejects = rejects = parsed.total_rejects;
  summary.ignored_columns = parsed.ignored_columns;
  if (skip_file && parsed.total_rejects > 0) {
    if (!rows_discarded) {
      DIMSTREAM_TRY((*session)->DiscardRows());
    }
    summary.failed = true;
    summary.error = error =
        fmt::format("{} rows rejected, the first: {} (on_error = skip_file loads none of the file)",
                    parsed.total_rejects, WithLine(*parsed.first_reject));
  } else {
    summary.rows = rows = parsed.total_rows;
  }
  FaultPoint("loader.before_commit");
  Result<LoadReceipt> receipt = (*session)->Commit(summary);
  FaultPoint("loader.after_commit");
  if (!receipt.ok()) {
    return receipt.error().Context("cannot load " + key);
  }
  return receipt;
}

Result<LoadReceipt> Loader::RecordFailure(const ObjectInfo& object, const std::string& entity,
                                          const FileDigest& digest, const std::string& format,
                                          uint64_t uncompressed, std::string error,
                                          std::vector<RejectedRow> rejects) {
  LoadRequest request;
  request.object = object;
  request.object.size = digest.size;
  request.checksum = digest.checksum;
  request.entity = entity;
  request.failed = true;
  request.error = std::move(error);
  request.rejects = std::move(rejects);
  request.format = format;
  request.uncompressed_size = uncompressed;
  FaultPoint("loader.before_commit");
  Result<LoadReceipt> receipt = warehouse_.CommitLoad(request);
  FaultPoint("loader.after_commit");
  if (!receipt.ok()) {
    return receipt.error().Context("cannot load " + object.key.get());
  }
  return receipt;
}

void Loader::Count(const Result<LoadReceipt>& r, uint64_t rows, uint64_t rejects) {
  if (!r.ok() || r->outcome == LoadOutcome::kAlreadyDone) {
    return;
  }
  (r->outcome == LoadOutcome::kLoaded ? stats_.objects_loaded : stats_.objects_failed)++;
  stats_.rows_loaded += r->outcome == LoadOutcome::kLoaded ? rows : 0;
  stats_.rows_rejected += rejects;
}

Result<uint64_t> Loader::LoadListed(const StopSignal& stop) {
  auto listing = store_.List();
  if (!listing.ok()) {
    return listing.error();
  }
  uint64_t committed = 0;
  for (const ObjectInfo& object : *listing) {
    if (stop.Requested()) {
      break;
    }
    auto r = LoadObject(object);
    if (!r.ok()) {
      if (r.error().kind == ErrorKind::kRetryable) {
        stats_.retries++;
        return r.error();
      }
      // Vanished or unreadable objects are logged and skipped; nothing is recorded for them.
      spdlog::warn("{}", r.error().message);
      continue;
    }
    committed += r->outcome == LoadOutcome::kAlreadyDone ? 0 : 1;
  }
  return committed;
}

Status Loader::Run(const StopSignal& stop, bool until_idle) {
  using Clock = std::chrono::steady_clock;
  auto next_list = Clock::now();
  std::chrono::milliseconds backoff = kRetryInitial;
  uint32_t failures = 0;  // retryable failures in a row
  // After a retryable failure: waits out the back-off, or, for a one-shot run that has tried often enough,
  // gives up with the error (a full disk or a locked file does not go away by waiting in a loop nobody
  // watches). Returns the error to give up with, or nullopt to go on.
  auto retry_later = [&](const Error& error) -> std::optional<Error> {
    ++failures;
    if (until_idle && failures >= kUntilIdleAttempts) {
      return Error{error.kind, fmt::format("{} (gave up after {} attempts)", error.message, failures)};
    }
    spdlog::warn("loader: {}; retrying in {} ms (attempt {})", error.message, backoff.count(), failures);
    stop.WaitFor(backoff);
    backoff = std::min(backoff * 2, kRetryMax);
    return std::nullopt;
  };
  auto succeeded = [&] {
    failures = 0;
    backoff = kRetryInitial;
  };
  while (!stop.Requested()) {
    if (Clock::now() >= next_list) {
      auto listed = LoadListed(stop);
      if (!listed.ok()) {
        if (auto give_up = retry_later(listed.error())) {
          return *give_up;
        }
        continue;
      }
      succeeded();
      next_list = Clock::now() + options_.list_interval;
    }
    if (queue_ == nullptr) {
      if (until_idle) {
        return Ok();
      }
      stop.WaitFor(next_list - Clock::now());
      continue;
    }
    auto wait =
        until_idle ? std::chrono::milliseconds(0)
                   : std::min(std::chrono::duration_cast<std::chrono::milliseconds>(next_list - Clock::now()),
                              std::chrono::milliseconds(200));
    auto delivery = queue_->Receive(std::max(wait, std::chrono::milliseconds(0)));
    if (!delivery.ok()) {
      spdlog::warn("loader: {}", delivery.error().message);
      stop.WaitFor(std::chrono::milliseconds(500));
      continue;
    }
    if (!delivery->has_value()) {
      if (until_idle) {
        return Ok();
      }
      continue;
    }
    const Delivery& d = **delivery;
    auto load = [&]() -> Result<LoadReceipt> {
      auto info = store_.Stat(d.object.key);
      return info.ok() ? LoadObject(*info) : Result<LoadReceipt>(info.error());
    };
    Result<LoadReceipt> r = load();
    // A retryable failure is the servers', not the notification's: kept (no other loader gets it meanwhile)
    // and tried again after the back-off, while that fits in hold_retryable (LoaderOptions).
    const auto hold_until = Clock::now() + options_.hold_retryable;
    while (!r.ok() && r.error().kind == ErrorKind::kRetryable && Clock::now() + backoff <= hold_until &&
           !stop.Requested()) {
      stats_.retries++;
      if (auto give_up = retry_later(r.error())) {
        (void)queue_->Nack(d, r.error().message);
        return *give_up;
      }
      r = load();
    }
    if (!r.ok() && r.error().kind == ErrorKind::kRetryable) {
      // Handed back, it comes again (to this loader or another); the listing would find the object as well.
      stats_.retries++;
      (void)queue_->Nack(d, r.error().message);
      if (auto give_up = retry_later(r.error())) {
        return *give_up;
      }
      continue;
    }
    succeeded();
    if (!r.ok()) {
      spdlog::warn("{}", r.error().message);
    }
    (void)queue_->Ack(d);
  }
  return Ok();
}

}  // namespace dimstream

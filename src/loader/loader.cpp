#include "loader/loader.h"

#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/checksum.h"
#include "common/fault.h"
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
  if (!object.version_tag.empty()) {
    auto seen = warehouse_.HasVersion(object.key, object.version_tag);
    if (!seen.ok()) {
      return seen.error();
    }
    if (*seen) {
      return LoadReceipt{LoadOutcome::kAlreadyDone, 0};
    }
  }
  auto content = store_.Get(object.key);
  if (!content.ok()) {
    return content.error().Context("cannot load " + key);
  }
  LoadRequest request;
  request.object = object;
  request.object.size = content->size();
  request.checksum = Sha256(*content);
  auto done = warehouse_.HasLoad(object.key, request.checksum);
  if (!done.ok()) {
    return done.error();
  }
  if (*done) {
    return LoadReceipt{LoadOutcome::kAlreadyDone, 0};
  }

  ParsedObject parsed;
  auto entity = RouteObject(entities_, key);
  if (!entity.ok()) {
    parsed.failed = true;
    parsed.error = entity.error().message;
  } else {
    request.entity = (*entity)->name;
    ParseOptions parse_options{options_.max_reject_bytes, options_.on_error == OnError::kAbortFile};
    ParseObject(*content, **entity, parse_options, parsed);
  }
  request.failed = parsed.failed;
  request.error = parsed.error;
  request.rejects = std::move(parsed.rejects);
  request.ignored_columns = parsed.ignored_columns;
  if (!request.failed && !request.rejects.empty() && options_.on_error != OnError::kContinue) {
    request.failed = true;
    const RejectedRow& first = request.rejects.front();
    request.error = options_.on_error == OnError::kSkipFile
                        ? fmt::format(
                              "{} rows rejected, the first on line {}: {} (on_error = skip_file loads none "
                              "of the file)",
                              request.rejects.size(), first.line, first.reason)
                        : fmt::format("line {}: {} (on_error = abort_file)", first.line, first.reason);
  }
  if (!request.failed) {
    request.rows = std::move(parsed.rows);
  }
  uint64_t rows = request.rows.size();
  uint64_t rejects = request.rejects.size();
  FaultPoint("loader.before_commit");
  Result<LoadReceipt> receipt = warehouse_.CommitLoad(request);
  FaultPoint("loader.after_commit");
  Count(receipt, rows, rejects);
  if (receipt.ok() && receipt->outcome != LoadOutcome::kAlreadyDone) {
    if (receipt->outcome == LoadOutcome::kFailed) {
      spdlog::warn("cannot load {}: {}", key, request.error);
    } else {
      spdlog::info("loaded {}: {} rows, {} rejected (load {})", key, rows, rejects, receipt->load_id);
    }
    if (on_commit_ && !request.entity.empty()) {
      on_commit_(request.entity);
    }
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
    auto info = store_.Stat(d.object.key);
    Result<LoadReceipt> r = info.ok() ? LoadObject(*info) : Result<LoadReceipt>(info.error());
    if (!r.ok() && r.error().kind == ErrorKind::kRetryable) {
      // The message comes back by itself; the listing would find the object as well.
      stats_.retries++;
      (void)queue_->Nack(d);
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

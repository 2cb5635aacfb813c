#include "generator/change_stream.h"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

#include "common/clock.h"
#include "generator/csv_line.h"

namespace dimstream {
namespace {

// How many recent rows a duplicate is drawn from. Real duplicates are re-deliveries and retries, which
// happen soon after the original: mostly within the same file, sometimes in the next one.
constexpr size_t kRecentRows = 4096;
// Event time advances by 1 ms to 2 s a row (about 1 s on average): realistic gaps, fractional seconds in
// the timestamps, and never two rows of the stream with the same time except duplicates.
constexpr uint64_t kMaxStepMillis = 2000;
// A late row lands up to an hour before its key's previous record.
constexpr uint64_t kMaxLateMillis = 3600 * 1000;

// Ways real exports get a row wrong; each breaks one rule of SEMANTICS.md section 2.
enum class Mistake {
  kUnquotedComma,  // "Apt. 5, Rear" written without quotes: one field too many
  kTruncated,      // the row was cut off: fields missing at the end
  kBadKey,         // the key is not an integer
  kBadTime,        // updated_at is empty or not a timestamp
  kBadOp,          // op is not I, U or D
  kLatin1,         // a name in Latin-1, not UTF-8
};

std::string BadKey(Rng& rng, uint64_t key) {
  switch (rng.Uniform(6)) {
    case 0:
      return fmt::format("C-{}", key);
    case 1:
      return fmt::format("#{}", key);
    case 2:
      return "N/A";
    case 3:
      return "";
    case 4:
      return fmt::format("ID{:08}", key);
    default:
      // A thousands separator from a spreadsheet; quoted, so it stays one field.
      return fmt::format("{},{:03}", key / 1000 + 1, key % 1000);
  }
}

std::string BadTime(Rng& rng, Micros t) {
  const std::string iso = FormatTimestamp(t);  // YYYY-MM-DDTHH:MM:SS[.ffffff]Z
  switch (rng.Uniform(7)) {
    case 0:
      return "";
    case 1:
      return "N/A";
    case 2:
      return iso.substr(0, 5) + "13" + iso.substr(7);  // month 13
    case 3:
      return iso.substr(0, 5) + "02-30" + iso.substr(10);  // February 30
    case 4:
      return iso.substr(0, 11) + "25" + iso.substr(13);  // hour 25
    case 5:
      // US notation, which ISO-8601 readers refuse.
      return iso.substr(5, 2) + "/" + iso.substr(8, 2) + "/" + iso.substr(0, 4) + " " + iso.substr(11, 5);
    default:
      // Epoch seconds instead of a timestamp.
      return fmt::format("{}", t / 1000000);
  }
}

std::string BadOp(Rng& rng) {
  static constexpr std::array<const char*, 6> kOps = {"X", "DEL", "upsert", "Insert", "2", "?"};
  return kOps[rng.Uniform(kOps.size())];
}

}  // namespace

const char* RowKindName(RowKind kind) {
  switch (kind) {
    case RowKind::kInsert:
      return "insert";
    case RowKind::kReinsert:
      return "reinsert";
    case RowKind::kScd1Update:
      return "scd1-update";
    case RowKind::kScd2Update:
      return "scd2-update";
    case RowKind::kLateUpdate:
      return "late-update";
    case RowKind::kDuplicate:
      return "duplicate";
    case RowKind::kDelete:
      return "delete";
    case RowKind::kTruncate:
      return "truncate";
    case RowKind::kBad:
      return "bad";
  }
  return "unknown";
}

ChangeStream::ChangeStream(const GenerateOptions& options, Micros start)
    : options_(options),
      event_time_(options.event_time || options.late_share > 0),
      with_op_(options.with_op || options.delete_share > 0),
      rng_(options.seed),
      faker_(options.null_share),
      clock_(start) {
  // customer_id is a signed 64-bit integer: keys stop at INT64_MAX whatever key_space says.
  const uint64_t max_key = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const uint64_t fit = max_key - std::min(options.first_key, max_key) + 1;
  key_limit_ = options.key_space == 0 ? fit : std::min(options.key_space, fit);

  header_ = "customer_id";
  for (std::string_view column : kAttributeColumns) {
    header_ += ',';
    header_ += column;
  }
  if (event_time_) {
    header_ += ",updated_at";
  }
  if (with_op_) {
    header_ += ",op";
  }
  header_ += kCsvLineEnd;
}

StreamRow ChangeStream::Next() {
  // One draw partitions [0, 1) by the shares; what is left is new keys. A kind that is not possible yet
  // (a delete before any key exists) becomes a new key, which skews the first few rows only.
  const double u = rng_.UnitDouble();
  double edge = options_.bad_share;
  if (u < edge) {
    return Bad();
  }
  if (u < (edge += options_.duplicate_share)) {
    return recent_.empty() ? NewKey() : Duplicate();
  }
  if (u < (edge += options_.delete_share)) {
    return live_.empty() ? NewKey() : Delete();
  }
  if (u < (edge += options_.late_share)) {
    return keys_.empty() ? NewKey() : Late();
  }
  if (u < (edge += options_.update_share)) {
    return keys_.empty() ? NewKey() : Update();
  }
  return NewKey();
}

Micros ChangeStream::Tick() {
  const Micros t = clock_;
  clock_ += static_cast<Micros>(rng_.Between(1, kMaxStepMillis)) * 1000;
  return t;
}

void ChangeStream::Change(Customer& c, RowKind& kind) {
  if (rng_.Bernoulli(options_.scd2_share)) {
    faker_.ChangeAddress(rng_, c);
    kind = RowKind::kScd2Update;
  } else {
    faker_.ChangeName(rng_, c);
    kind = RowKind::kScd1Update;
  }
}

void ChangeStream::SetLive(uint64_t offset, bool live) {
  KeyState& k = keys_[offset];
  if (k.live == live) {
    return;
  }
  if (live) {
    k.live_pos = live_.size();
    live_.push_back(offset);
  } else {
    const uint64_t moved = live_.back();
    live_[k.live_pos] = moved;
    keys_[moved].live_pos = k.live_pos;
    live_.pop_back();
  }
  k.live = live;
}

StreamRow ChangeStream::NewKey() {
  if (keys_.size() >= key_limit_) {
    return Update();
  }
  const uint64_t offset = keys_.size();
  keys_.push_back(KeyState{faker_.New(rng_), 0, 0, false});
  Record r{options_.first_key + offset, keys_[offset].values, Tick(), 'I'};
  keys_[offset].last_time = r.time;
  SetLive(offset, true);
  return Emit(RowKind::kInsert, r);
}

StreamRow ChangeStream::Update() {
  const uint64_t offset = rng_.Uniform(keys_.size());
  Record r{options_.first_key + offset, keys_[offset].values, Tick(), 'U'};
  RowKind kind = RowKind::kScd1Update;
  Change(r.values, kind);
  if (!keys_[offset].live) {
    // The key was deleted: this upsert opens a new current version.
    kind = RowKind::kReinsert;
    r.op = 'I';
    SetLive(offset, true);
  }
  keys_[offset].values = r.values;
  keys_[offset].last_time = r.time;
  return Emit(kind, r);
}

StreamRow ChangeStream::Late() {
  const uint64_t offset = rng_.Uniform(keys_.size());
  const KeyState& k = keys_[offset];
  Record r{options_.first_key + offset, k.values, 0, 'U'};
  RowKind ignored = RowKind::kScd1Update;
  Change(r.values, ignored);
  r.time = k.last_time - static_cast<Micros>(rng_.Between(1, kMaxLateMillis)) * 1000;
  // The key's state stays as it was: this version is older than its latest, so later rows still build on
  // the latest one, and the next late row is measured against the latest time too.
  return Emit(RowKind::kLateUpdate, r);
}

StreamRow ChangeStream::Delete() {
  const uint64_t offset = live_[rng_.Uniform(live_.size())];
  Record r{options_.first_key + offset, keys_[offset].values, Tick(), 'D'};
  keys_[offset].last_time = r.time;
  SetLive(offset, false);
  return Emit(RowKind::kDelete, r);
}

StreamRow ChangeStream::Duplicate() {
  // Not put back into the ring: a copy of a copy is the same row, and the ring keeps more distinct rows.
  const Record& r = recent_[rng_.Uniform(recent_.size())];
  return {RowKind::kDuplicate, Render(r)};
}

StreamRow ChangeStream::Emit(RowKind kind, const Record& r) {
  if (recent_.size() < kRecentRows) {
    recent_.push_back(r);
  } else {
    recent_[recent_next_ % kRecentRows] = r;
  }
  ++recent_next_;
  return {kind, Render(r)};
}

std::string ChangeStream::Render(const Record& r) const {
  std::string line = fmt::format("{}", r.key);
  line.reserve(192);
  for (const std::string& value : faker_.Render(r.values)) {
    line += ',';
    AppendCsvField(line, value);
  }
  if (event_time_) {
    line += ',';
    line += FormatTimestamp(r.time);
  }
  if (with_op_) {
    line += ',';
    line += r.op;
  }
  line += kCsvLineEnd;
  return line;
}

StreamRow ChangeStream::Bad() {
  std::vector<Mistake> possible = {Mistake::kUnquotedComma, Mistake::kTruncated, Mistake::kBadKey,
                                   Mistake::kLatin1};
  if (event_time_) {
    possible.push_back(Mistake::kBadTime);
  }
  if (with_op_) {
    possible.push_back(Mistake::kBadOp);
  }
  const Mistake mistake = possible[rng_.Uniform(possible.size())];

  // A plausible row first (a real or the next key, fresh values, the current time), then one mistake.
  // It changes no key state: the loader rejects it, so downstream it never happened.
  const uint64_t key = options_.first_key + (keys_.empty() ? 0 : rng_.Uniform(keys_.size()));
  std::vector<std::string> fields = {fmt::format("{}", key)};
  for (std::string& value : faker_.Render(faker_.New(rng_))) {
    fields.push_back(std::move(value));
  }
  const size_t time_field = fields.size();
  if (event_time_) {
    fields.push_back(FormatTimestamp(clock_));
  }
  const size_t op_field = fields.size();
  if (with_op_) {
    fields.push_back("U");
  }
  const size_t street_field = 1 + static_cast<size_t>(Attribute::kStreet);
  size_t unquoted_field = fields.size();  // none

  switch (mistake) {
    case Mistake::kUnquotedComma: {
      std::string street;
      for (char c : fields[street_field]) {
        if (c != ',' && c != '"') {
          street += c;
        }
      }
      fields[street_field] = fmt::format("{}, Apt. {}", street, rng_.Between(1, 99));
      unquoted_field = street_field;
      break;
    }
    case Mistake::kTruncated:
      fields.resize(fields.size() - rng_.Between(1, 3));
      break;
    case Mistake::kBadKey:
      fields[0] = BadKey(rng_, key);
      break;
    case Mistake::kBadTime:
      fields[time_field] = BadTime(rng_, clock_);
      break;
    case Mistake::kBadOp:
      fields[op_field] = BadOp(rng_);
      break;
    case Mistake::kLatin1:
      fields[1 + rng_.Uniform(2)] = faker_.Latin1Name(rng_);
      break;
  }

  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) {
      line += ',';
    }
    if (i == unquoted_field) {
      line += fields[i];
    } else {
      AppendCsvField(line, fields[i]);
    }
  }
  line += kCsvLineEnd;
  return {RowKind::kBad, std::move(line)};
}

}  // namespace dimstream

#include "generator/entity_stream.h"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

#include "common/clock.h"
#include "generator/csv_line.h"

namespace dimstream {
namespace {

// How many recent rows a duplicate is drawn from (as ChangeStream: re-deliveries happen soon after).
constexpr size_t kRecentRows = 4096;
// KeyState::live_pos and live_ hold 32-bit offsets: a stream stops creating keys there (and would need
// well over 100 GB for them anyway).
constexpr uint64_t kMaxKeys = std::numeric_limits<uint32_t>::max();

std::string Fold(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c != ' ' && c != '\t') {
      out += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  return out;
}

bool IsOneOf(const std::string& folded, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), folded) != words.end();
}

std::string JoinCsv(const std::vector<std::string>& fields, size_t unquoted = std::string::npos) {
  std::string line;
  line.reserve(256);
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) {
      line += ',';
    }
    if (i == unquoted) {
      line += fields[i];
    } else {
      AppendCsvField(line, fields[i]);
    }
  }
  line += kCsvLineEnd;
  return line;
}

}  // namespace

const char* EntityMistakeName(EntityMistake mistake) {
  switch (mistake) {
    case EntityMistake::kNone:
      return "none";
    case EntityMistake::kFieldCount:
      return "field-count";
    case EntityMistake::kEmptyKey:
      return "empty-key";
    case EntityMistake::kKeyType:
      return "key-type";
    case EntityMistake::kSequenceType:
      return "sequence-type";
    case EntityMistake::kAttributeType:
      return "attribute-type";
    case EntityMistake::kOperation:
      return "operation";
    case EntityMistake::kUtf8:
      return "utf8";
  }
  return "unknown";
}

Result<std::unique_ptr<EntityStream>> EntityStream::Make(const GenerateOptions& options,
                                                         const EntitySpec& entity) {
  const std::string& name = entity.name;
  if (options.late_share > 0 && entity.sequence_columns.empty()) {
    return Error::Invalid(fmt::format(
        "--late-share is {}, but entity '{}' has no sequence column: the load order orders its records, so "
        "none can arrive late; use --late-share 0 or declare sequence_columns",
        options.late_share, name));
  }
  if (options.delete_share > 0 && (entity.operation_column.empty() || entity.delete_values.empty())) {
    return Error::Invalid(fmt::format(
        "--delete-share is {}, but entity '{}' has {}: it cannot express a delete; use --delete-share 0",
        options.delete_share, name,
        entity.operation_column.empty() ? "no operation_column" : "no delete_values"));
  }
  if (options.truncate_share > 0 && (entity.operation_column.empty() || entity.truncate_values.empty())) {
    return Error::Invalid(
        fmt::format("--truncate-share is {}, but entity '{}' declares no truncate_values; use "
                    "--truncate-share 0 or declare "
                    "them",
                    options.truncate_share, name));
  }
  if (!entity.operation_column.empty() && entity.upsert_values.empty()) {
    return Error::Invalid(fmt::format(
        "entity '{}' has no upsert_values, so no generated row could insert or update a key; declare them",
        name));
  }
  Result<SequencePlan> plan = SequencePlan::Make(entity, *ParseTimestamp(options.start_time));
  if (!plan.ok()) {
    return plan.error();
  }
  std::unique_ptr<EntityStream> stream(new EntityStream(options, entity, std::move(plan).value()));
  if (stream->key_limit_ == 0) {
    return Error::Invalid(
        fmt::format("--first-key {} leaves no room for keys of entity '{}': its key column '{}' ({}) cannot "
                    "count from there",
                    options.first_key, name, entity.key_columns.front(),
                    entity.TypeOf(entity.key_columns.front()).Name()));
  }
  return stream;
}

EntityStream::EntityStream(const GenerateOptions& options, const EntitySpec& entity, SequencePlan plan)
    : options_(options),
      entity_(entity),
      rng_(options.seed),
      keys_faker_(entity, options.first_key, *ParseTimestamp(options.start_time)),
      attributes_(entity, *ParseTimestamp(options.start_time), options.null_share),
      plan_(std::move(plan)),
      latin1_(0.0),
      scd1_count_(entity.scd1_columns.size()) {
  bool first = true;
  for (const std::string& column : entity.input_columns()) {
    if (!first) {
      header_ += ',';
    }
    first = false;
    AppendCsvField(header_, column);
  }
  header_ += kCsvLineEnd;
  key_limit_ = std::min(keys_faker_.capacity(), kMaxKeys);
  if (options.key_space > 0) {
    key_limit_ = std::min(key_limit_, options.key_space);
  }

  std::vector<std::string> other_ops;
  for (const std::string& v : entity.upsert_values) {
    const std::string f = Fold(v);
    if (IsOneOf(f, {"i", "c", "r", "insert", "ins", "create", "created", "new", "add", "read", "snapshot"})) {
      insert_ops_.push_back(v);
    } else if (IsOneOf(f, {"u", "update", "upd", "updated", "modify", "modified", "m", "change", "changed",
                           "upsert"})) {
      update_ops_.push_back(v);
    } else {
      other_ops.push_back(v);
    }
  }
  // Without words for them, any upsert value does: a source that writes only "U" or "upsert".
  if (update_ops_.empty()) {
    update_ops_ = other_ops.empty() ? entity.upsert_values : other_ops;
  }
  if (insert_ops_.empty()) {
    insert_ops_ = entity.upsert_values;
  }
  recent_.reserve(kRecentRows);
}

Result<EntityRow> EntityStream::Next() {
  // One draw partitions [0, 1) by the shares; what is left is new keys. A kind that is not possible yet
  // (a delete before any key exists) becomes a new key, which skews the first few rows only.
  const double u = rng_.UnitDouble();
  double edge = options_.bad_share;
  if (u < edge) {
    return Bad();
  }
  if (u < (edge += options_.duplicate_share)) {
    return recent_.empty() && previous_.empty() ? NewKey() : Duplicate();
  }
  if (u < (edge += options_.delete_share)) {
    return live_.empty() ? NewKey() : Delete();
  }
  if (u < (edge += options_.truncate_share)) {
    return Truncate();
  }
  if (u < (edge += options_.late_share)) {
    return keys_.empty() ? NewKey() : Late();
  }
  if (u < (edge += options_.update_share)) {
    return keys_.empty() ? NewKey() : Update();
  }
  return NewKey();
}

void EntityStream::SetLive(uint64_t offset, bool live) {
  KeyState& k = keys_[offset];
  if (k.live == live) {
    return;
  }
  if (live) {
    k.live_pos = static_cast<uint32_t>(live_.size());
    live_.push_back(static_cast<uint32_t>(offset));
  } else {
    const uint32_t moved = live_.back();
    live_[k.live_pos] = moved;
    keys_[moved].live_pos = k.live_pos;
    live_.pop_back();
  }
  k.live = live;
}

std::string EntityStream::Op(const std::vector<std::string>* list) {
  std::string op = (*list)[rng_.Uniform(list->size())];
  // Values compare case-insensitively; a few rows say so.
  if (rng_.Bernoulli(0.03)) {
    for (char& c : op) {
      c = c >= 'a' && c <= 'z'   ? static_cast<char>(c - 'a' + 'A')
          : c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a')
                                 : c;
    }
  }
  return op;
}

RowKind EntityStream::Change(std::vector<Choice>& values) {
  const size_t total = attributes_.size();
  if (total == 0) {
    return RowKind::kScd1Update;  // nothing to change: a re-sent row with a later sequence
  }
  const bool has_scd1 = scd1_count_ > 0;
  const bool has_scd2 = total > scd1_count_;
  const bool scd2 = has_scd2 && (!has_scd1 || rng_.Bernoulli(options_.scd2_share));
  const size_t begin = scd2 ? scd1_count_ : 0;
  const size_t end = scd2 ? total : scd1_count_;
  std::vector<size_t> group;
  for (size_t a = begin; a < end; ++a) {
    if (attributes_.changeable(a)) {
      group.push_back(a);
    }
  }
  // One attribute of the group changes for certain, a few others may come along.
  const size_t first = rng_.Uniform(group.size());
  for (size_t k = 0; k < group.size(); ++k) {
    if (attributes_.Change(rng_, values, group[(first + k) % group.size()])) {
      break;
    }
  }
  for (size_t k = 1; k < group.size(); ++k) {
    if (rng_.Bernoulli(0.25)) {
      attributes_.Change(rng_, values, group[(first + k) % group.size()]);
    }
  }
  if (scd2) {
    for (size_t a = 0; a < scd1_count_; ++a) {
      if (attributes_.changeable(a) && rng_.Bernoulli(0.1)) {
        attributes_.Change(rng_, values, a);
      }
    }
  }
  return scd2 ? RowKind::kScd2Update : RowKind::kScd1Update;
}

std::vector<std::string> EntityStream::Fields(const Record& r) {
  std::vector<std::string> fields;
  fields.reserve(keys_faker_.size() + attributes_.size() + plan_.size() + 1);
  keys_faker_.Render(r.key, rng_.Bernoulli(0.25) ? &rng_ : nullptr, fields);
  for (size_t a = 0; a < attributes_.size(); ++a) {
    fields.push_back(attributes_.Render(r.values, a, &rng_));
  }
  plan_.Render(r.seq, rng_.Bernoulli(0.3) ? &rng_ : nullptr, fields);
  if (!entity_.operation_column.empty()) {
    fields.push_back(r.op);
  }
  return fields;
}

EntityRow EntityStream::Emit(RowKind kind, const Record& r) {
  std::string line = JoinCsv(Fields(r));
  if (plan_.empty()) {
    previous_ = line;
    return {kind, EntityMistake::kNone, std::move(line)};
  }
  if (recent_.size() < kRecentRows) {
    recent_.push_back(line);
  } else {
    recent_[recent_next_ % kRecentRows] = line;
  }
  ++recent_next_;
  return {kind, EntityMistake::kNone, std::move(line)};
}

Result<EntityRow> EntityStream::NewKey() {
  if (keys_.size() >= key_limit_) {
    return Update();
  }
  const uint64_t offset = keys_.size();
  keys_.emplace_back();
  values_.resize(values_.size() + attributes_.size());
  Choice* values = ValuesOf(offset);
  for (size_t a = 0; a < attributes_.size(); ++a) {
    values[a] = attributes_.Draw(rng_, a);
  }
  Record r{offset, values, {}, {}};
  if (!plan_.empty()) {
    Result<SeqPoint> p = plan_.Next(rng_, nullptr);
    if (!p.ok()) {
      return p.error();
    }
    r.seq = *p;
    keys_[offset].latest = keys_[offset].low = r.seq.n;
  }
  SetLive(offset, true);
  r.op = Op(&insert_ops_);
  return Emit(RowKind::kInsert, r);
}

Status EntityStream::NextSequence(uint64_t offset, Record& r) {
  if (!plan_.empty()) {
    Result<SeqPoint> p = plan_.Next(rng_, &keys_[offset].latest);
    if (!p.ok()) {
      return p.error();
    }
    r.seq = *p;
    keys_[offset].latest = r.seq.n;
  }
  return Ok();
}

Result<EntityRow> EntityStream::Update() {
  const uint64_t offset = rng_.Uniform(keys_.size());
  scratch_.assign(ValuesOf(offset), ValuesOf(offset) + attributes_.size());
  RowKind kind = Change(scratch_);
  Record r{offset, nullptr, {}, {}};
  DIMSTREAM_TRY(NextSequence(offset, r));
  std::copy(scratch_.begin(), scratch_.end(), ValuesOf(offset));
  r.values = ValuesOf(offset);
  if (!keys_[offset].live) {
    // Deleted or truncated before: this upsert opens a new current version.
    kind = RowKind::kReinsert;
    SetLive(offset, true);
    r.op = Op(&insert_ops_);
  } else {
    r.op = Op(&update_ops_);
  }
  return Emit(kind, r);
}

Result<EntityRow> EntityStream::Late() {
  const uint64_t offset = rng_.Uniform(keys_.size());
  KeyState& k = keys_[offset];
  const std::optional<int64_t> n = plan_.Late(rng_, k.latest, k.low, k.late_count);
  if (!n) {
    return Update();  // no earlier value left for this key: an on-time update instead
  }
  scratch_.assign(ValuesOf(offset), ValuesOf(offset) + attributes_.size());
  Change(scratch_);
  SeqPoint seq = plan_.Current();
  seq.n = *n;
  seq.pos = 1;
  // The key's state stays as it was: this version is older than its latest, so later rows still build on
  // the latest one.
  Record r{offset, scratch_.data(), seq, Op(&update_ops_)};
  return Emit(RowKind::kLateUpdate, r);
}

Result<EntityRow> EntityStream::Delete() {
  const uint64_t offset = live_[rng_.Uniform(live_.size())];
  Record r{offset, ValuesOf(offset), {}, {}};
  DIMSTREAM_TRY(NextSequence(offset, r));
  SetLive(offset, false);
  r.op = Op(&entity_.delete_values);
  return Emit(RowKind::kDelete, r);
}

Result<EntityRow> EntityStream::Truncate() {
  std::vector<std::string> fields(keys_faker_.size() + attributes_.size());  // key columns empty
  if (!plan_.empty()) {
    Result<SeqPoint> p = plan_.Alone(rng_);
    if (!p.ok()) {
      return p.error();
    }
    plan_.Render(*p, nullptr, fields);
  }
  fields.push_back(Op(&entity_.truncate_values));
  for (uint32_t offset : live_) {
    keys_[offset].live = false;
  }
  live_.clear();
  std::string line = JoinCsv(fields);
  if (plan_.empty()) {
    previous_.clear();
    return EntityRow{RowKind::kTruncate, EntityMistake::kNone, std::move(line)};
  }
  if (recent_.size() < kRecentRows) {
    recent_.push_back(line);
  } else {
    recent_[recent_next_ % kRecentRows] = line;
  }
  ++recent_next_;
  return EntityRow{RowKind::kTruncate, EntityMistake::kNone, std::move(line)};
}

Result<EntityRow> EntityStream::Duplicate() {
  if (plan_.empty()) {
    // Without a sequence the load order orders records: a copy of an older row would be a newer record
    // that brings old values back. Only a re-send of the row just written changes nothing, and none
    // right after a truncate, whose copy would close the keys again.
    if (previous_.empty()) {
      return NewKey();
    }
    return EntityRow{RowKind::kDuplicate, EntityMistake::kNone, previous_};
  }
  // Not put back into the ring: a copy of a copy is the same row, and the ring keeps more distinct rows.
  return EntityRow{RowKind::kDuplicate, EntityMistake::kNone, recent_[rng_.Uniform(recent_.size())]};
}

EntityRow EntityStream::Bad() {
  const size_t key_count = keys_faker_.size();
  const size_t attribute_count = attributes_.size();
  std::vector<size_t> typed_keys, typed_attributes, text_columns;  // field indices
  for (size_t j = 0; j < key_count; ++j) {
    (keys_faker_.type(j).kind == TypeKind::kText ? text_columns : typed_keys).push_back(j);
  }
  for (size_t a = 0; a < attribute_count; ++a) {
    (attributes_.is_text(a) ? text_columns : typed_attributes).push_back(key_count + a);
  }
  std::vector<EntityMistake> possible = {EntityMistake::kFieldCount, EntityMistake::kEmptyKey};
  if (!typed_keys.empty()) {
    possible.push_back(EntityMistake::kKeyType);
  }
  if (!plan_.empty()) {
    possible.push_back(EntityMistake::kSequenceType);
  }
  if (!typed_attributes.empty()) {
    possible.push_back(EntityMistake::kAttributeType);
  }
  if (!entity_.operation_column.empty()) {
    possible.push_back(EntityMistake::kOperation);
  }
  if (!text_columns.empty()) {
    possible.push_back(EntityMistake::kUtf8);
  }
  const EntityMistake mistake = possible[rng_.Uniform(possible.size())];

  // A plausible row first (a real or the first key, fresh values, the current sequence), then one mistake.
  // It changes no key state: the loader rejects it, so downstream it never happened.
  scratch_.resize(attribute_count);
  for (size_t a = 0; a < attribute_count; ++a) {
    scratch_[a] = attributes_.Draw(rng_, a);
  }
  Record r{keys_.empty() ? 0 : rng_.Uniform(keys_.size()), scratch_.data(), plan_.Current(),
           entity_.operation_column.empty() ? std::string() : Op(&update_ops_)};
  std::vector<std::string> fields = Fields(r);
  const size_t sequence_field = key_count + attribute_count;
  size_t unquoted = std::string::npos;

  switch (mistake) {
    case EntityMistake::kFieldCount: {
      std::vector<size_t> filled;  // text attributes with a value: room for an unquoted comma
      for (size_t f : text_columns) {
        if (f >= key_count && !fields[f].empty()) {
          filled.push_back(f);
        }
      }
      const uint64_t how = rng_.Uniform(3);
      if (how == 0 && !filled.empty()) {
        unquoted = filled[rng_.Uniform(filled.size())];
        std::string value;
        for (char c : fields[unquoted]) {
          if (c != ',' && c != '"' && c != '\r' && c != '\n') {
            value += c;
          }
        }
        fields[unquoted] = fmt::format("{}, {}", value.empty() ? "x" : value, rng_.Between(1, 99));
      } else if (how == 1 && fields.size() >= 2) {
        fields.resize(fields.size() - rng_.Between(1, std::min<size_t>(3, fields.size() - 1)));  // cut short
      } else {
        fields.emplace_back();  // a trailing delimiter
      }
      break;
    }
    case EntityMistake::kEmptyKey:
      fields[rng_.Uniform(key_count)].clear();
      break;
    case EntityMistake::kKeyType: {
      const size_t j = typed_keys[rng_.Uniform(typed_keys.size())];
      fields[j] = NotOfType(rng_, keys_faker_.type(j), fields[j]);
      break;
    }
    case EntityMistake::kSequenceType: {
      const size_t i = rng_.Uniform(plan_.size());
      fields[sequence_field + i] = plan_.Bad(rng_, i, fields[sequence_field + i]);
      break;
    }
    case EntityMistake::kAttributeType: {
      const size_t f = typed_attributes[rng_.Uniform(typed_attributes.size())];
      fields[f] = NotOfType(rng_, attributes_.type(f - key_count), fields[f]);
      break;
    }
    case EntityMistake::kOperation: {
      static constexpr std::array<const char*, 8> kOps = {"X", "DEL",   "upsert", "?",
                                                          "2", "MERGE", "Remove", "zz"};
      std::string op = kOps[rng_.Uniform(kOps.size())];
      for (size_t k = 0; entity_.OperationOf(op) && k < kOps.size(); ++k) {
        op = kOps[k];
      }
      fields.back() = entity_.OperationOf(op) ? std::string("#bad-op#") : op;
      break;
    }
    case EntityMistake::kUtf8:
      fields[text_columns[rng_.Uniform(text_columns.size())]] = latin1_.Latin1Name(rng_);
      break;
    case EntityMistake::kNone:
      break;
  }
  return {RowKind::kBad, mistake, JoinCsv(fields, unquoted)};
}

}  // namespace dimstream

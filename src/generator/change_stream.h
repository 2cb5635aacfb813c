#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/types.h"
#include "generator/customer_faker.h"
#include "generator/generator.h"
#include "generator/random.h"

namespace dimstream {

// What a generated row is, for the statistics and the tests; the files do not say it.
enum class RowKind {
  kInsert,      // a new key (op I)
  kReinsert,    // an upsert of a key deleted before (op I)
  kScd1Update,  // name and email change (op U)
  kScd2Update,  // address changes (op U)
  kLateUpdate,  // an SCD1 or SCD2 change whose updated_at is before the key's previous record (op U)
  kDuplicate,   // an exact copy of an earlier row
  kDelete,      // op D on a key with a current version, carrying its last values
  kTruncate,    // a truncate record of a declared entity (EntityStream only): every key's version closes
  kBad,         // a malformed row that the loader must reject
};

const char* RowKindName(RowKind kind);

struct StreamRow {
  RowKind kind = RowKind::kInsert;
  std::string line;  // one CSV row ending in CRLF; values never hold line breaks
};

// The row stream of one generator run: decides what each row is (new key, update, duplicate, delete, late,
// malformed) from the shares, keeps what it must know about every key to make the next decision (its last
// values and event time, whether it is deleted), and renders rows as CSV lines. The stream is a function of
// the options alone: it does not know about files, the clock or the rate, so splitting it into files
// differently or pacing it does not change a byte of it.
//
// Owns the key table (about 80 bytes a key: a stream without --key-space grows it by one entry per new
// key), a ring of recent rows for duplicates and its Rng. Generate owns one and calls it on its thread.
class ChangeStream {
 public:
  // `options` must have passed ValidateGenerateOptions; `start` is the parsed start_time.
  ChangeStream(const GenerateOptions& options, Micros start);

  // The header line, CRLF included.
  const std::string& Header() const { return header_; }
  bool writes_event_time() const { return event_time_; }
  bool writes_op() const { return with_op_; }

  StreamRow Next();

 private:
  // One row's content before rendering.
  struct Record {
    uint64_t key = 0;
    Customer values;
    Micros time = 0;
    char op = 'I';
  };
  struct KeyState {
    Customer values;
    Micros last_time = 0;   // the latest event time among the key's rows
    uint64_t live_pos = 0;  // position in live_ while `live`
    bool live = false;      // has a current version: inserted and not deleted since
  };

  StreamRow NewKey();
  StreamRow Update();
  StreamRow Late();
  StreamRow Delete();
  StreamRow Duplicate();
  StreamRow Bad();

  Micros Tick();
  void Change(Customer& c, RowKind& kind);
  void SetLive(uint64_t offset, bool live);
  StreamRow Emit(RowKind kind, const Record& r);
  std::string Render(const Record& r) const;

  GenerateOptions options_;
  bool event_time_;
  bool with_op_;
  uint64_t key_limit_;  // how many keys may exist: key_space, or as many as fit in customer_id
  std::string header_;
  Rng rng_;
  CustomerFaker faker_;
  Micros clock_;
  std::vector<KeyState> keys_;  // index: key - first_key, in creation order
  std::vector<uint64_t> live_;  // offsets of keys with a current version, for picking deletes
  std::vector<Record> recent_;  // ring of the last kRecentRows well-formed rows, for duplicates
  uint64_t recent_next_ = 0;
};

}  // namespace dimstream

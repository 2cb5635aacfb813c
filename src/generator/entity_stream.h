#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/entity.h"
#include "generator/change_stream.h"
#include "generator/customer_faker.h"
#include "generator/entity_keys.h"
#include "generator/entity_sequence.h"
#include "generator/entity_values.h"
#include "generator/generator.h"
#include "generator/random.h"

namespace dimstream {

// Why a malformed row of a declared entity must be rejected (SEMANTICS.md section 2); one per bad row.
enum class EntityMistake : uint8_t {
  kNone,
  kFieldCount,     // an unquoted comma in a value, a row cut short or a trailing delimiter
  kEmptyKey,       // a key column left empty
  kKeyType,        // a key value not of its type ("C-17" in a bigint)
  kSequenceType,   // a sequence column empty or not of its type
  kAttributeType,  // an attribute not of its type ("12,5" in a decimal, "maybe" in a boolean)
  kOperation,      // an operation in none of the entity's lists
  kUtf8,           // a name in Latin-1, not UTF-8
};

const char* EntityMistakeName(EntityMistake mistake);

struct EntityRow {
  RowKind kind = RowKind::kInsert;
  EntityMistake mistake = EntityMistake::kNone;
  std::string line;  // one CSV row ending in CRLF
};

// The row stream of one GenerateEntity run: ChangeStream's counterpart for a declared entity. Decides what
// each row is from the shares (new key, SCD1 or SCD2 update, duplicate, delete, truncate, late, malformed),
// keeps what it must know about every key to decide the next row, and renders rows as CSV lines with every
// input column of the entity. Like ChangeStream it is a function of the options and the entity alone, so
// splitting it into files or pacing it changes no byte of it.
//
// Memory: a key costs sizeof(KeyState) = 24 bytes, plus 4 bytes per attribute (its Choice), plus 4 bytes
// in the live list while it has a current version: 28 + 4 x attributes bytes, 56 for a customer-like
// entity with seven attributes. Keys are never written down as text: KeyFaker derives them from their
// offset. Besides, a ring of the last 4096 rendered rows for duplicates and the sequence of every truncate.
// Without sequence columns a duplicate repeats the row just written only: the load order orders such
// records, so a copy of an older one would bring old values back rather than change nothing.
// GenerateEntity owns one and calls it on its thread.
class EntityStream {
 public:
  // kInvalidInput, naming the flag, when an option cannot apply to `entity`: --late-share without a
  // sequence column, --delete-share without an operation column or delete values, --truncate-share
  // without truncate values; also when the entity has an operation column but no upsert values, a boolean
  // as its first sequence column, or no room for keys from --first-key. `options` must have passed
  // ValidateGenerateOptions and `entity` EntitySpec::Validate.
  static Result<std::unique_ptr<EntityStream>> Make(const GenerateOptions& options, const EntitySpec& entity);

  // The header line (every input column, EntitySpec::input_columns order), CRLF included.
  const std::string& Header() const { return header_; }
  // How many keys may exist: --key-space, bounded by what the key columns can hold.
  uint64_t key_limit() const { return key_limit_; }

  // kInvalidInput when the sequence ran out of values (see SequencePlan::Next).
  Result<EntityRow> Next();

 private:
  struct KeyState {
    int64_t latest = 0;     // the first sequence column's value of the key's latest row
    int64_t low = 0;        // ... of its lowest row (late rows go below it when nothing else is left)
    uint32_t live_pos = 0;  // position in live_ while `live`
    uint16_t late_count = 0;
    bool live = false;  // has a current version: upserted and not deleted or truncated since
  };
  static_assert(sizeof(KeyState) == 24, "the class comment promises 24 bytes a key");
  // One row's content before rendering.
  struct Record {
    uint64_t key = 0;  // offset
    const Choice* values = nullptr;
    SeqPoint seq;
    std::string op;
  };

  EntityStream(const GenerateOptions& options, const EntitySpec& entity, SequencePlan plan);

  Result<EntityRow> NewKey();
  Result<EntityRow> Update();
  // The next on-time sequence of key `offset` into `r` (nothing when the entity has no sequence).
  Status NextSequence(uint64_t offset, Record& r);
  Result<EntityRow> Late();
  Result<EntityRow> Delete();
  Result<EntityRow> Truncate();
  Result<EntityRow> Duplicate();
  EntityRow Bad();

  // Changes the attributes of an update; returns its kind (SCD1 or SCD2 update).
  RowKind Change(std::vector<Choice>& values);
  void SetLive(uint64_t offset, bool live);
  Choice* ValuesOf(uint64_t offset) { return values_.data() + offset * attributes_.size(); }
  std::string Op(const std::vector<std::string>* list);
  std::vector<std::string> Fields(const Record& r);
  EntityRow Emit(RowKind kind, const Record& r);

  GenerateOptions options_;
  EntitySpec entity_;
  Rng rng_;
  KeyFaker keys_faker_;
  AttributeFaker attributes_;
  SequencePlan plan_;
  CustomerFaker latin1_;  // for its Latin-1 names only
  std::string header_;
  uint64_t key_limit_ = 0;
  size_t scd1_count_ = 0;
  // Operation values by what they say: inserts (I, c, INSERT), updates (U, u, UPDATE), the other upserts.
  std::vector<std::string> insert_ops_;
  std::vector<std::string> update_ops_;

  std::vector<KeyState> keys_;       // index: key offset, in creation order
  std::vector<Choice> values_;       // attributes_.size() choices per key, same index
  std::vector<uint32_t> live_;       // offsets of keys with a current version, for picking deletes
  std::vector<std::string> recent_;  // ring of the last rendered well-formed rows, for duplicates
  uint64_t recent_next_ = 0;
  std::string previous_;  // without a sequence: the last well-formed row, the only one a duplicate repeats
  std::vector<Choice> scratch_;
};

}  // namespace dimstream

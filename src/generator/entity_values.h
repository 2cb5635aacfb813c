#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "common/value_type.h"
#include "generator/attribute_kinds.h"
#include "generator/random.h"
#include "generator/typed_spelling.h"
#include "generator/words.h"

namespace dimstream {

struct EntitySpec;

// What an attribute stores per key: a choice that its column renders into a value (4 bytes a column
// instead of the text); kNullChoice is NULL.
using Choice = uint32_t;
inline constexpr Choice kNullChoice = 0xFFFFFFFF;

// Draws and renders an entity's attribute values (SCD1 then SCD2, EntitySpec::attribute_columns order),
// realistic for each column's type and name: names, emails, cities and streets from the word lists in
// words/ for text columns called so, statuses, prices with cents for decimals, coordinates for doubles
// called lat/lon, birth dates, and plausible tokens for any other text. A city and a state in the same SCD
// group render as a real pair; an email follows the names of its group. Owns lookup tables built at
// construction; every draw comes from the caller's Rng, so the values are a function of its seed.
// EntityStream owns one and calls it on its caller's thread.
class AttributeFaker {
 public:
  // `start`: the parsed --start-time, which dates and timestamps are placed around.
  AttributeFaker(const EntitySpec& entity, Micros start, double null_share);

  size_t size() const { return columns_.size(); }
  const ColumnType& type(size_t a) const { return columns_[a].type; }
  bool is_text(size_t a) const { return columns_[a].type.kind == TypeKind::kText; }

  // A value for attribute `a`: NULL with the null share, else a uniform choice.
  Choice Draw(Rng& rng, size_t a) const;
  // Replaces values[a] with a choice whose value differs from the current one (NULL differs from any
  // value). False when the column renders from another one (a state from its city) and cannot change alone.
  bool Change(Rng& rng, std::vector<Choice>& values, size_t a) const;
  bool changeable(size_t a) const { return columns_[a].source < 0; }

  // The text of attribute `a` of a row whose choices are `values` (one per attribute); empty for NULL.
  // `style`: see AppendDecimal.
  std::string Render(const Choice* values, size_t a, Rng* style) const;

 private:
  struct Column {
    ColumnType type;
    ValueKind kind;
    uint64_t salt;
    unsigned house;       // boolean spelling
    int source = -1;      // for a value rendered from another column (state from city): its index
    int first_name = -1;  // for an email: the name columns of its group, when present
    int last_name = -1;
    int full_name = -1;
  };

  std::string Text(const Choice* values, const Column& c, Choice choice) const;
  size_t CityIndex(const Choice* values, const Column& c, Choice choice) const;

  const WordLists& words_;
  std::vector<Column> columns_;
  Micros start_;
  double null_share_;
};

}  // namespace dimstream

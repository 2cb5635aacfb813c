// Writing the entity property test's values into CSV fields: each value in one of the spellings its type
// accepts (SEMANTICS.md section 1: 1.5 / 1.50 / +01.5, t / TRUE / 1 / Yes, offsets, leading zeros,
// exponents), texts that are no value of a type (for rows broken on purpose), and NULL.
#pragma once

#include <optional>
#include <string>

#include "merge/tests/entity_values.h"
#include "merge/tests/property_support.h"

namespace dimstream::property::declared {

// An instant as FormatEventTime (property_csv.h) writes it, or a date alone for a midnight.
std::string SpellTimestamp(Rng& rng, Micros utc);

// `v` of type `t` in one of the spellings `t` accepts.
std::string Spell(Rng& rng, const Type& t, const Val& v);

// A non-empty text that is not a value of `t` by SEMANTICS.md section 1; nullopt for text, which takes any.
std::optional<std::string> BadSpelling(Rng& rng, const Type& t);

// An empty field (NULL), now and then written as "".
std::string NullField(Rng& rng);

}  // namespace dimstream::property::declared

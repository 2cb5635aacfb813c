// Fuzz target: ParseTimestamp (src/common/clock.h) on arbitrary text.
//
// Property (round trip): whatever ParseTimestamp accepts, FormatTimestamp writes as text that
// ParseTimestamp reads back as the same instant. The formatted text must also have FormatTimestamp's
// shape, and FormatCompactTimestamp must be its 14 digits.
//
// The fuzzer's first finding: instants moved out of years 0000..9999 by an offset did not round-trip;
// ParseTimestamp has refused instants outside 0001..9999 since. Seeds corpus/timestamp/year_*.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dimstream;  // NOLINT(google-build-using-namespace)
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<Micros> t = ParseTimestamp(text);
  if (!t) {
    return 0;
  }
  std::string formatted = FormatTimestamp(*t);
  auto where = [&] {
    return "input " + fuzz::Escaped(text) + " parses as " + std::to_string(*t) + " us, formatted " +
           fuzz::Escaped(formatted);
  };
  std::optional<Micros> again = ParseTimestamp(formatted);
  FUZZ_CHECK(again.has_value(), "the formatted timestamp does not parse\n" + where());
  FUZZ_CHECK(*again == *t, "the formatted timestamp parses as " + std::to_string(*again) + " us\n" + where());
  FUZZ_CHECK(formatted.size() == 20 || formatted.size() == 27, "formatted length\n" + where());
  std::string compact = FormatCompactTimestamp(*t);
  FUZZ_CHECK(compact.size() == 14 && compact.find_first_not_of("0123456789") == std::string::npos,
             "compact form " + fuzz::Escaped(compact) + "\n" + where());
  return 0;
}

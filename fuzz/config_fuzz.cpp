// Fuzz target: ParseConfig (src/config/config.h) on arbitrary text.
//
// Property: it returns a configuration or an error, never crashes and never throws. An error has a
// message that names the origin; an accepted configuration has a valid entity and only the values its
// settings allow.
//
// Found here (fuzz/README.md): Debian's toml++ 3.3.0 reaches TOML_UNREACHABLE (__builtin_unreachable,
// undefined behaviour) for some non-ASCII code points where it looks for whitespace, e.g. "[e\xEF\xBB\x9F";
// ParseConfig now refuses those places before toml++ parses (LineTomlCannotParseSafely), and this target
// checks that no input reaches it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dimstream;  // NOLINT(google-build-using-namespace)
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string origin = "fuzz.toml";
  auto where = [&] { return "input " + fuzz::Escaped(text, 400); };
  try {
    Result<Config> r = ParseConfig(text, origin);
    if (!r.ok()) {
      FUZZ_CHECK(r.error().message.find(origin) != std::string::npos,
                 "the error does not name the file: " + r.error().message + "\n" + where());
      return 0;
    }
    const Config& c = *r;
    FUZZ_CHECK(!c.entities.empty(), "an accepted configuration without an entity\n" + where());
    for (const EntitySpec& e : c.entities) {
      FUZZ_CHECK(e.Validate().ok() && !e.file_pattern.empty(),
                 "an accepted configuration has an invalid entity\n" + where());
    }
    FUZZ_CHECK(c.loader_on_error == "continue" || c.loader_on_error == "skip_file" ||
                   c.loader_on_error == "abort_file",
               "loader.on_error " + fuzz::Escaped(c.loader_on_error) + "\n" + where());
    FUZZ_CHECK(c.loader_max_reject_bytes >= 64, "loader.max_reject_bytes below 64\n" + where());
    FUZZ_CHECK(c.mover_max_backlog_objects >= 1, "mover.max_backlog_objects is 0\n" + where());
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("ParseConfig threw: ") + e.what() + "\n" + where());
  } catch (...) {
    FUZZ_CHECK(false, "ParseConfig threw a non-std exception\n" + where());
  }
  return 0;
}

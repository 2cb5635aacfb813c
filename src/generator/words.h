#pragma once

#include <string_view>
#include <vector>

namespace dimstream {

// A US city and the state it is in: drawn together so that an address never pairs Boston with Texas.
struct City {
  std::string_view name;
  std::string_view state;
};

// The word lists of src/generator/words/, one entry a line, embedded into the library at build time.
// Blank lines and lines starting with '#' are skipped; cities.txt lines are "City|State".
struct WordLists {
  std::vector<std::string_view> first_names;
  std::vector<std::string_view> last_names;
  std::vector<std::string_view> street_names;
  std::vector<std::string_view> street_suffixes;
  std::vector<City> cities;
  std::vector<std::string_view> countries;
};

// Splits the embedded text on first use; thread-safe. The views point into static storage.
const WordLists& Words();

// The non-empty, non-comment lines of `text`, without trailing "\r" or blanks.
std::vector<std::string_view> SplitWordList(std::string_view text);

}  // namespace dimstream

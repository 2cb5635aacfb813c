#include "generator/words.h"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "generator/words_data.h"

namespace dimstream {
namespace {

WordLists Build() {
  WordLists w;
  w.first_names = SplitWordList(words_data::kFirstNames);
  w.last_names = SplitWordList(words_data::kLastNames);
  w.street_names = SplitWordList(words_data::kStreetNames);
  w.street_suffixes = SplitWordList(words_data::kStreetSuffixes);
  w.countries = SplitWordList(words_data::kCountries);
  for (std::string_view line : SplitWordList(words_data::kCities)) {
    const size_t bar = line.find('|');
    if (bar == std::string_view::npos) {
      continue;
    }
    w.cities.push_back({line.substr(0, bar), line.substr(bar + 1)});
  }
  // The lists are part of the source tree; an empty one is a build mistake, not a run-time condition.
  if (w.first_names.empty() || w.last_names.empty() || w.street_names.empty() || w.street_suffixes.empty() ||
      w.cities.empty() || w.countries.empty()) {
    spdlog::critical("generator: an embedded word list is empty; check src/generator/words/");
    std::abort();
  }
  return w;
}

}  // namespace

std::vector<std::string_view> SplitWordList(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    out.push_back(line);
  }
  return out;
}

const WordLists& Words() {
  static const WordLists words = Build();
  return words;
}

}  // namespace dimstream

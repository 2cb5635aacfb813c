#pragma once

#include <string_view>

// The raw text of each file under src/generator/words/, defined in words_data.cpp, which CMake generates
// at build time (embed_words.cmake) so that the binary needs no data files at run time. Read only through
// Words() in words.h.
namespace dimstream::words_data {

extern const std::string_view kFirstNames;
extern const std::string_view kLastNames;
extern const std::string_view kStreetNames;
extern const std::string_view kStreetSuffixes;
extern const std::string_view kCities;
extern const std::string_view kCountries;

}  // namespace dimstream::words_data

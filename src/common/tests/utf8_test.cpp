#include "common/utf8.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace dimstream {
namespace {

TEST(Utf8Test, AcceptsAsciiAndMultiByte) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("Z\xC3\xBCrich"));                     // U+00FC
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC 10"));                   // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));                  // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xC2\x80\xDF\xBF"));                  // U+0080, U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80\xEF\xBF\xBF"));          // U+0800, U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF\xEE\x80\x80"));          // U+D7FF, U+E000 around the surrogates
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));  // U+10000, U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
}

TEST(Utf8Test, RefusesOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in two bytes
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(Utf8Test, RefusesSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));  // a CESU-8 pair
}

TEST(Utf8Test, RefusesTruncatedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("abc\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82 more text after it"));
  // Fields are views into a larger buffer: the rest of the sequence lies just past the view's end.
  EXPECT_FALSE(IsValidUtf8(std::string_view("\xC3\xBC", 1)));
  EXPECT_FALSE(IsValidUtf8(std::string_view("\xE2\x82\xAC", 2)));
  EXPECT_FALSE(IsValidUtf8(std::string_view("\xF0\x9F\x98\x80", 3)));
  EXPECT_FALSE(IsValidUtf8(std::string_view("abcdefgh\xF0\x9F\x98\x80", 11)));
}

TEST(Utf8Test, RefusesAboveMaximum) {
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));  // old five-byte form
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Utf8Test, RefusesInvalidContinuation) {
  EXPECT_FALSE(IsValidUtf8("\x80"));          // continuation without a lead
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xBF"));  // after the eight-byte fast path
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));      // lead followed by ASCII
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82\x28"));      // bad third byte
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98\x28"));  // bad fourth byte
  EXPECT_FALSE(IsValidUtf8("\xC3\xBC\xBC"));      // one continuation too many
}

TEST(Utf8Test, FindsAFaultAtEveryPosition) {
  // The fast path must not skip a bad byte wherever it falls in an eight-byte block.
  for (size_t at = 0; at < 40; ++at) {
    std::string s(40, 'a');
    s[at] = '\x80';
    EXPECT_FALSE(IsValidUtf8(s)) << "at " << at;
    s[at] = 'a';
    s.replace(at, 2, "\xC3\xBC");
    EXPECT_TRUE(IsValidUtf8(s)) << "at " << at;
  }
}

}  // namespace
}  // namespace dimstream

#include "generator/customer_faker.h"

#include <gtest/gtest.h>

#include <set>

#include "generator/words.h"
#include "test_files.h"

namespace dimstream {
namespace {

TEST(WordsTest, ListsAreEmbeddedAndCleanUtf8) {
  const WordLists& w = Words();
  EXPECT_GE(w.first_names.size(), 200u);
  EXPECT_GE(w.last_names.size(), 200u);
  EXPECT_GE(w.street_names.size(), 150u);
  EXPECT_GE(w.street_suffixes.size(), 50u);
  EXPECT_GE(w.cities.size(), 200u);
  EXPECT_GE(w.countries.size(), 150u);
  std::set<std::string_view> states;
  for (const City& c : w.cities) {
    EXPECT_FALSE(c.name.empty());
    states.insert(c.state);
  }
  EXPECT_EQ(states.size(), 51u);  // 50 states and DC
  for (const auto* list :
       {&w.first_names, &w.last_names, &w.street_names, &w.street_suffixes, &w.countries}) {
    for (std::string_view word : *list) {
      EXPECT_TRUE(testing::IsValidUtf8(word)) << word;
      EXPECT_EQ(word.find_first_of("\r\n#|"), std::string_view::npos) << word;
      EXPECT_NE(word.back(), ' ') << word;
    }
  }
}

TEST(WordsTest, SplitSkipsCommentsAndBlankLines) {
  const auto lines = SplitWordList("# comment\r\nZoë\r\n\r\nO'Brien  \nlast");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Zoë");
  EXPECT_EQ(lines[1], "O'Brien");
  EXPECT_EQ(lines[2], "last");
}

TEST(CustomerFakerTest, EmailLocalPartFoldsToAscii) {
  EXPECT_EQ(EmailLocalPart("Zoë"), "zoe");
  EXPECT_EQ(EmailLocalPart("O'Brien"), "obrien");
  EXPECT_EQ(EmailLocalPart("Robert \"Bob\""), "robert");
  EXPECT_EQ(EmailLocalPart("Anne-Marie"), "annemarie");
  EXPECT_EQ(EmailLocalPart("Łukasz"), "lukasz");
  EXPECT_EQ(EmailLocalPart("Nguyễn"), "nguyen");
  EXPECT_EQ(EmailLocalPart("Weiß"), "weiss");
  EXPECT_EQ(EmailLocalPart("de la Cruz"), "delacruz");
}

TEST(CustomerFakerTest, ValuesLookReal) {
  CustomerFaker faker(0.0);
  Rng rng(3);
  bool saw_comma = false;
  bool saw_quote = false;
  bool saw_non_ascii = false;
  bool saw_unit = false;
  for (int i = 0; i < 20000; ++i) {
    const Attributes a = faker.Render(faker.New(rng));
    for (const std::string& v : a) {
      ASSERT_FALSE(v.empty());  // no NULLs at null_share 0
      ASSERT_TRUE(testing::IsValidUtf8(v)) << v;
      saw_comma = saw_comma || v.find(',') != std::string::npos;
      saw_quote = saw_quote || v.find('"') != std::string::npos;
      for (char c : v) {
        saw_non_ascii = saw_non_ascii || static_cast<unsigned char>(c) >= 0x80;
      }
    }
    const std::string& email = a[static_cast<size_t>(Attribute::kEmail)];
    const size_t at = email.find('@');
    ASSERT_NE(at, std::string::npos) << email;
    EXPECT_NE(email.find("example."), std::string::npos) << email;
    for (char c : email) {
      ASSERT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@')
          << email;
    }
    const std::string& street = a[static_cast<size_t>(Attribute::kStreet)];
    ASSERT_TRUE(street[0] >= '1' && street[0] <= '9') << street;
    saw_unit = saw_unit || street.find(" Apt. ") != std::string::npos;
  }
  EXPECT_TRUE(saw_comma);
  EXPECT_TRUE(saw_quote);
  EXPECT_TRUE(saw_non_ascii);
  EXPECT_TRUE(saw_unit);
}

TEST(CustomerFakerTest, ChangesTouchTheirOwnColumnsOnly) {
  CustomerFaker faker(0.0);
  Rng rng(5);
  for (int i = 0; i < 2000; ++i) {
    const Customer before = faker.New(rng);
    Customer moved = before;
    faker.ChangeAddress(rng, moved);
    Customer renamed = before;
    faker.ChangeName(rng, renamed);
    const Attributes b = faker.Render(before);
    const Attributes m = faker.Render(moved);
    const Attributes r = faker.Render(renamed);
    for (Attribute a : {Attribute::kFirstName, Attribute::kLastName, Attribute::kEmail}) {
      EXPECT_EQ(m[static_cast<size_t>(a)], b[static_cast<size_t>(a)]);
    }
    for (Attribute a : {Attribute::kStreet, Attribute::kCity, Attribute::kState, Attribute::kCountry}) {
      EXPECT_EQ(r[static_cast<size_t>(a)], b[static_cast<size_t>(a)]);
    }
    // Two cities may share a name (Portland, Oregon and Portland, Maine); the pair always differs.
    EXPECT_TRUE(m[static_cast<size_t>(Attribute::kCity)] != b[static_cast<size_t>(Attribute::kCity)] ||
                m[static_cast<size_t>(Attribute::kState)] != b[static_cast<size_t>(Attribute::kState)]);
    EXPECT_NE(r[static_cast<size_t>(Attribute::kEmail)], b[static_cast<size_t>(Attribute::kEmail)]);
  }
}

TEST(CustomerFakerTest, Latin1NamesAreNotUtf8) {
  CustomerFaker faker(0.0);
  Rng rng(1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(testing::IsValidUtf8(faker.Latin1Name(rng)));
  }
}

}  // namespace
}  // namespace dimstream

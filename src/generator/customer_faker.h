#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "generator/random.h"
#include "generator/words.h"

namespace dimstream {

// The seven attribute columns of a customer, in file order (SEMANTICS.md section 1).
enum class Attribute { kFirstName, kLastName, kEmail, kStreet, kCity, kState, kCountry };
inline constexpr size_t kAttributeCount = 7;
inline constexpr std::array<std::string_view, kAttributeCount> kAttributeColumns = {
    "first_name", "last_name", "email", "street", "city", "state", "country"};

// A customer's attribute values as choices (indices into the word lists, numbers), not text: 44 bytes
// a key instead of ~150, which keeps the key table of a long stream small. CustomerFaker::Render turns it
// into text; the same Customer always renders to the same bytes.
struct Customer {
  uint32_t first_name = 0;
  uint32_t last_name = 0;
  uint32_t email_number = 0;  // digits after the local part; 0 = none
  uint16_t email_style = 0;
  uint16_t email_domain = 0;
  uint32_t house_number = 0;
  uint32_t street_name = 0;
  uint16_t street_suffix = 0;
  uint16_t unit_kind = 0;  // 0 = no unit; see kUnitFormats in customer_faker.cpp
  uint32_t unit_number = 0;
  uint32_t city = 0;
  uint32_t country = 0;
  uint8_t null_mask = 0;  // bit i set: attribute i (Attribute order) is NULL, written as an empty field

  bool operator==(const Customer&) const = default;
};

using Attributes = std::array<std::string, kAttributeCount>;

// Draws customers and their changes from the embedded word lists and renders them as text. Owns only
// lookup tables built from the lists at construction; every draw comes from the caller's Rng, so the
// result is a function of that Rng's seed. ChangeStream owns one and calls it from its caller's thread.
class CustomerFaker {
 public:
  // `null_share`: probability that any one attribute is drawn as NULL.
  explicit CustomerFaker(double null_share);

  Customer New(Rng& rng) const;
  // SCD Type 1 change: a new last name (marriage), a new first name (a preferred name) or only a new
  // email address; the email always changes. The address is kept.
  void ChangeName(Rng& rng, Customer& c) const;
  // SCD Type 2 change: a move to a new street address in another city, now and then to another country.
  // Name and email are kept.
  void ChangeAddress(Rng& rng, Customer& c) const;

  Attributes Render(const Customer& c) const;

  // A non-ASCII name from the lists spelled in Latin-1, as an export with the wrong code page writes it:
  // not valid UTF-8. For malformed rows.
  std::string Latin1Name(Rng& rng) const;

 private:
  void DrawName(Rng& rng, Customer& c) const;
  void DrawEmail(Rng& rng, Customer& c) const;
  void DrawStreet(Rng& rng, Customer& c) const;
  uint32_t DrawCountry(Rng& rng) const;
  uint8_t DrawNulls(Rng& rng, uint8_t mask, std::initializer_list<Attribute> attributes) const;
  std::string Email(const Customer& c) const;
  std::string Street(const Customer& c) const;

  const WordLists& words_;
  double null_share_;
  uint32_t home_country_;  // index of "United States", which most customers live in
  bool has_home_country_;  // false if the list lacks it: then countries are uniform
  std::vector<std::string> latin1_names_;
};

// The ASCII letters and digits of `name` for an email address: lower-cased, accents folded ("Zoë" ->
// "zoe", "O'Brien" -> "obrien"), a quoted nickname dropped ("Robert \"Bob\"" -> "robert").
std::string EmailLocalPart(std::string_view name);

}  // namespace dimstream

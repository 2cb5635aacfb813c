#include "generator/attribute_kinds.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace dimstream {
namespace {

bool Has(std::string_view name, std::string_view part) {
  return name.find(part) != std::string_view::npos;
}

// `word` as a whole '_'-separated part of `name`: "type" in "account_type", not in "prototype".
bool HasWord(std::string_view name, std::string_view word) {
  for (size_t pos = name.find(word); pos != std::string_view::npos; pos = name.find(word, pos + 1)) {
    const bool start = pos == 0 || name[pos - 1] == '_';
    const bool end = pos + word.size() == name.size() || name[pos + word.size()] == '_';
    if (start && end) {
      return true;
    }
  }
  return false;
}

bool HasAny(std::string_view name, std::initializer_list<std::string_view> parts) {
  return std::any_of(parts.begin(), parts.end(), [&](std::string_view p) { return Has(name, p); });
}

// A column of `type` whose name contains one of `parts`, or has one of `words` as a whole '_'-separated
// part ("type" in "account_type", not in "prototype"), holds values of `kind`. The first rule that
// matches wins; a column no rule matches takes the last rule of its type, which matches anything.
struct NameRule {
  TypeKind type;
  ValueKind kind;
  std::vector<std::string_view> parts;
  std::vector<std::string_view> words;
};

const std::vector<NameRule>& Rules() {
  using T = TypeKind;
  static const std::vector<NameRule> kRules = {
      {T::kText, ValueKind::kEmail, {"email", "e_mail"}, {}},
      {T::kText, ValueKind::kUuid, {"uuid", "guid"}, {}},
      {T::kText, ValueKind::kFirstName, {"first_name", "firstname", "given_name", "forename"}, {}},
      {T::kText, ValueKind::kLastName, {"last_name", "lastname", "surname", "family_name"}, {}},
      {T::kText, ValueKind::kCountryCode, {"country_code", "country_iso", "iso_country"}, {}},
      {T::kText, ValueKind::kCountry, {"country"}, {}},
      {T::kText, ValueKind::kStreet, {"street", "address"}, {"addr"}},
      {T::kText, ValueKind::kCity, {"city"}, {"town"}},
      {T::kText, ValueKind::kState, {}, {"state", "province"}},
      {T::kText, ValueKind::kZip, {"zip", "postal", "postcode"}, {}},
      {T::kText, ValueKind::kPhone, {"phone", "mobile"}, {"tel", "fax"}},
      {T::kText, ValueKind::kStatus, {}, {"status"}},
      {T::kText, ValueKind::kTier, {"tier", "level", "grade", "membership"}, {"plan"}},
      {T::kText,
       ValueKind::kCategory,
       {"category", "segment", "channel"},
       {"type", "kind", "class", "group"}},
      {T::kText, ValueKind::kColor, {"color", "colour"}, {}},
      {T::kText, ValueKind::kCurrency, {"currency"}, {}},
      {T::kText,
       ValueKind::kCompany,
       {"company", "vendor", "supplier", "merchant", "employer", "brand", "manufacturer"},
       {"org"}},
      {T::kText, ValueKind::kProduct, {"product", "title"}, {"item"}},
      {T::kText, ValueKind::kUrl, {"url", "website", "homepage", "link"}, {}},
      {T::kText,
       ValueKind::kSentence,
       {"description", "comment", "note", "remark", "summary", "message"},
       {"bio", "text"}},
      {T::kText, ValueKind::kCode, {"sku"}, {"code", "ref", "reference"}},
      {T::kText, ValueKind::kLocale, {"locale", "language"}, {"lang"}},
      {T::kText,
       ValueKind::kFullName,
       {"name", "contact", "owner", "manager", "author", "agent", "user", "person", "employee"},
       {}},
      {T::kText, ValueKind::kToken, {""}, {}},
      {T::kBigint, ValueKind::kQuantity, {"qty", "quantity", "units", "count"}, {"num"}},
      {T::kBigint, ValueKind::kAge, {}, {"age"}},
      {T::kBigint, ValueKind::kYear, {}, {"year"}},
      {T::kBigint, ValueKind::kSigned, {"balance", "delta", "adjust", "diff"}, {}},
      {T::kBigint,
       ValueKind::kAmount,
       {"cents", "amount", "price", "total", "cost", "revenue", "salary"},
       {}},
      {T::kBigint, ValueKind::kScore, {"score", "points", "rank"}, {}},
      {T::kBigint, ValueKind::kVersion, {"version", "revision", "attempt", "retries"}, {}},
      {T::kBigint, ValueKind::kRefId, {}, {"id"}},
      {T::kBigint, ValueKind::kNumber, {""}, {}},
      {T::kDouble, ValueKind::kLatitude, {"latitude"}, {"lat"}},
      {T::kDouble, ValueKind::kLongitude, {"longitude"}, {"lon", "lng"}},
      {T::kDouble, ValueKind::kRating, {"rating", "stars"}, {}},
      {T::kDouble,
       ValueKind::kRatio,
       {"ratio", "pct", "percent", "share", "rate", "probability", "discount"},
       {}},
      {T::kDouble, ValueKind::kMeasure, {""}, {}},
      {T::kDecimal, ValueKind::kRate, {"rate", "pct", "percent", "ratio", "discount", "tax"}, {}},
      {T::kDecimal, ValueKind::kBalance, {"balance", "delta", "adjust", "diff", "credit"}, {}},
      {T::kDecimal, ValueKind::kMoney, {""}, {}},
      {T::kBoolean,
       ValueKind::kMostlyTrue,
       {"active", "enabled", "verified", "subscribed", "valid", "available", "visible", "in_stock"},
       {}},
      {T::kBoolean,
       ValueKind::kMostlyFalse,
       {"deleted", "blocked", "banned", "suspended", "test", "archived", "fraud"},
       {}},
      {T::kBoolean, ValueKind::kFlag, {""}, {}},
      {T::kDate, ValueKind::kBirthDate, {"birth", "dob"}, {}},
      {T::kDate, ValueKind::kFutureDate, {"expir", "due", "until", "end", "renewal", "deadline"}, {}},
      {T::kDate, ValueKind::kPastDate, {""}, {}},
      {T::kTimestamp, ValueKind::kFutureTime, {"expir", "due", "until", "end", "scheduled", "next"}, {}},
      {T::kTimestamp, ValueKind::kPastTime, {""}, {}},
  };
  return kRules;
}

// What "name" (or "title", "<entity>_name") means depends on what the entity is.
ValueKind NameKind(std::string_view entity) {
  if (HasAny(entity, {"product", "item", "article", "sku", "part", "offer", "listing", "good"})) {
    return ValueKind::kProduct;
  }
  if (HasAny(entity,
             {"company", "vendor", "supplier", "merchant", "org", "brand", "partner", "store", "shop"})) {
    return ValueKind::kCompany;
  }
  if (HasAny(entity, {"city", "location", "place"})) {
    return ValueKind::kCity;
  }
  if (HasAny(entity, {"customer", "user", "person", "employee", "contact", "member", "patient", "student",
                      "account", "author", "driver", "agent", "owner", "client", "subscriber", "people"})) {
    return ValueKind::kFullName;
  }
  return ValueKind::kToken;
}

}  // namespace

ValueKind ValueKindOf(std::string_view name, TypeKind type, std::string_view entity) {
  const bool entity_name = name.size() == entity.size() + 5 && name.substr(0, entity.size()) == entity &&
                           name.substr(entity.size()) == "_name";
  if (type == TypeKind::kText &&
      (name == "name" || name == "title" || name == "display_name" || entity_name)) {
    return NameKind(entity);
  }
  for (const NameRule& rule : Rules()) {
    if (rule.type != type) {
      continue;
    }
    const bool part = std::any_of(rule.parts.begin(), rule.parts.end(), [&](auto p) { return Has(name, p); });
    const bool word =
        std::any_of(rule.words.begin(), rule.words.end(), [&](auto w) { return HasWord(name, w); });
    if (part || word) {
      return rule.kind;
    }
  }
  return ValueKind::kToken;
}

}  // namespace dimstream

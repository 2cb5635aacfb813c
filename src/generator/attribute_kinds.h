#pragma once

#include <cstdint>
#include <string_view>

#include "common/value_type.h"

namespace dimstream {

// What an attribute column's values are, from its type and name: the "what" that AttributeFaker draws and
// renders (entity_values.h).
enum class ValueKind : uint8_t {
  // text
  kFirstName,
  kLastName,
  kFullName,
  kEmail,
  kCity,
  kState,
  kCountry,
  kCountryCode,
  kStreet,
  kZip,
  kPhone,
  kStatus,
  kTier,
  kCategory,
  kColor,
  kCurrency,
  kCompany,
  kProduct,
  kUrl,
  kSentence,
  kCode,
  kUuid,
  kLocale,
  kToken,
  // bigint
  kQuantity,
  kAge,
  kYear,
  kAmount,
  kSigned,
  kScore,
  kRefId,
  kVersion,
  kNumber,
  // double
  kLatitude,
  kLongitude,
  kRating,
  kRatio,
  kMeasure,
  // decimal
  kMoney,
  kBalance,
  kRate,
  // boolean: the share of true values
  kMostlyTrue,
  kMostlyFalse,
  kFlag,
  // date
  kBirthDate,
  kFutureDate,
  kPastDate,
  // timestamp
  kFutureTime,
  kPastTime,
};

// The kind of values of column `column` (of `type`) of entity `entity`: by the words in the column's name
// ("email", "price", "lat", "birth_date"...), "name" and "title" by what the entity is (a product's name is
// not a person's). Every column gets one; a name that says nothing gets its type's plain kind (a token, a
// number, a past date...). Pure.
ValueKind ValueKindOf(std::string_view column, TypeKind type, std::string_view entity);

}  // namespace dimstream

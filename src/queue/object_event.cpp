#include "queue/object_event.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace dimstream {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded, as AWS writes keys into event notifications.
std::string FormDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
               HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 + HexDigit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string EncodeObjectEvent(const ObjectEvent& event) {
  nlohmann::json record = {
      {"eventVersion", "2.2"},
      {"eventSource", event.source},
      {"eventName", event.name},
      {"s3", {{"bucket", {{"name", event.bucket}}}, {"object", {{"key", event.key}, {"size", event.size}}}}}};
  return nlohmann::json{{"Records", nlohmann::json::array({record})}}.dump();
}

Result<std::vector<ObjectEvent>> DecodeObjectEvents(std::string_view body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error::Invalid("the notification is not a JSON object");
  }
  std::vector<ObjectEvent> events;
  auto records = doc.find("Records");
  if (records == doc.end()) {
    return events;
  }
  if (!records->is_array()) {
    return Error::Invalid("the notification's \"Records\" is not an array");
  }
  for (const nlohmann::json& record : *records) {
    auto text = [&](const nlohmann::json::json_pointer& at) -> std::string {
      return record.contains(at) && record[at].is_string() ? record[at].get<std::string>() : std::string();
    };
    using Ptr = nlohmann::json::json_pointer;
    ObjectEvent event;
    event.source = text(Ptr("/eventSource"));
    event.name = text(Ptr("/eventName"));
    if (event.name.starts_with("s3:")) {
      event.name.erase(0, 3);
    }
    event.bucket = text(Ptr("/s3/bucket/name"));
    event.key = text(Ptr("/s3/object/key"));
    if (event.key.empty()) {
      return Error::Invalid(fmt::format("a record of the notification ({}) has no s3.object.key",
                                        event.name.empty() ? "no eventName" : event.name));
    }
    if (event.source == "aws:s3") {
      event.key = FormDecode(event.key);
    }
    const Ptr size("/s3/object/size");
    if (record.contains(size) && record[size].is_number_unsigned()) {
      event.size = record[size].get<uint64_t>();
    }
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace dimstream

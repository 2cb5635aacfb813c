#include "cli/output_format.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace dimstream {
namespace {

std::string CsvField(const Value& v) {
  if (!v) {
    return "";
  }
  if (v->empty() || v->find_first_of(",\"\r\n") != std::string::npos) {
    std::string out = "\"";
    for (char c : *v) {
      out += c;
      if (c == '"') {
        out += '"';
      }
    }
    return out + "\"";
  }
  return *v;
}

// Display width in code points (good enough for aligned columns of names and addresses).
size_t Width(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string Table(const QueryResult& r) {
  std::vector<size_t> width(r.columns.size());
  for (size_t c = 0; c < r.columns.size(); ++c) {
    width[c] = Width(r.columns[c]);
    for (const auto& row : r.rows) {
      width[c] = std::max(width[c], Width(row[c].value_or("NULL")));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      out += (c ? " | " : "") + cells[c];
      if (c + 1 < cells.size()) {
        out += std::string(width[c] - Width(cells[c]), ' ');
      }
    }
    return out + "\n";
  };
  std::string out = line(r.columns);
  std::string rule;
  for (size_t c = 0; c < width.size(); ++c) {
    rule += (c ? "-+-" : "") + std::string(width[c], '-');
  }
  out += rule + "\n";
  for (const auto& row : r.rows) {
    std::vector<std::string> cells;
    for (const auto& v : row) {
      cells.push_back(v.value_or("NULL"));
    }
    out += line(cells);
  }
  out += "(" + std::to_string(r.rows.size()) + (r.rows.size() == 1 ? " row)\n" : " rows)\n");
  return out;
}

nlohmann::ordered_json JsonValue(const Value& v, ColumnKind kind) {
  if (!v) {
    return nullptr;
  }
  if (kind == ColumnKind::kBoolean) {
    return *v == "true";
  }
  if (kind == ColumnKind::kNumber) {
    nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(*v, nullptr, false);
    if (parsed.is_number()) {
      return parsed;
    }
  }
  return *v;
}

}  // namespace

nlohmann::ordered_json ResultJson(const QueryResult& r) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : r.rows) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    for (size_t c = 0; c < row.size(); ++c) {
      obj[r.columns[c]] = JsonValue(row[c], c < r.kinds.size() ? r.kinds[c] : ColumnKind::kText);
    }
    rows.push_back(std::move(obj));
  }
  return rows;
}

Result<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "table") {
    return OutputFormat::kTable;
  }
  if (text == "csv") {
    return OutputFormat::kCsv;
  }
  if (text == "json") {
    return OutputFormat::kJson;
  }
  return Error::Invalid("--format must be table, csv or json, not '" + text + "'");
}

std::string FormatResult(const QueryResult& r, OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable:
      return Table(r);
    case OutputFormat::kCsv: {
      std::string out;
      for (size_t c = 0; c < r.columns.size(); ++c) {
        out += (c ? "," : "") + CsvField(r.columns[c]);
      }
      out += "\r\n";
      for (const auto& row : r.rows) {
        for (size_t c = 0; c < row.size(); ++c) {
          out += (c ? "," : "") + CsvField(row[c]);
        }
        out += "\r\n";
      }
      return out;
    }
    case OutputFormat::kJson:
      return ResultJson(r).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  return {};
}

std::string SerializeResult(const QueryResult& r) {
  nlohmann::json j;
  j["columns"] = r.columns;
  std::vector<int> kinds;
  for (ColumnKind k : r.kinds) {
    kinds.push_back(static_cast<int>(k));
  }
  j["kinds"] = kinds;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& v : row) {
      cells.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
    }
    rows.push_back(std::move(cells));
  }
  j["rows"] = std::move(rows);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<QueryResult> DeserializeResult(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::Permanent("the query server sent an unreadable answer");
  }
  QueryResult r;
  r.columns = j.value("columns", std::vector<std::string>{});
  for (int k : j.value("kinds", std::vector<int>{})) {
    r.kinds.push_back(static_cast<ColumnKind>(k));
  }
  for (const auto& row : j["rows"]) {
    std::vector<Value> values;
    for (const auto& cell : row) {
      values.push_back(cell.is_null() ? Value() : Value(cell.get<std::string>()));
    }
    r.rows.push_back(std::move(values));
  }
  return r;
}

std::string Counted(uint64_t n, const std::string& one, const std::string& many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace dimstream

#include "test_files.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/clock.h"

namespace dimstream::testing {

ScratchDir::ScratchDir(std::string_view name)
    : path_(std::filesystem::temp_directory_path() /
            ("dimstream_generator_" + std::string(name) + "_" + std::to_string(getpid()))) {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool IsFinalName(const std::string& name) {
  static const std::regex kName("customer_[0-9]{14}_[0-9]{6}\\.csv");
  return std::regex_match(name, kName);
}

std::vector<std::filesystem::path> GeneratedFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (IsFinalName(entry.path().filename().string())) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    const std::string na = a.filename().string();
    const std::string nb = b.filename().string();
    return na.substr(24, 6) < nb.substr(24, 6);
  });
  return files;
}

std::vector<std::string> SplitLines(const std::string& content, bool* crlf_ok) {
  std::vector<std::string> lines;
  *crlf_ok = true;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) {
      *crlf_ok = false;  // the last line has no line end
      lines.push_back(content.substr(start));
      break;
    }
    if (end == start || content[end - 1] != '\r') {
      *crlf_ok = false;
      lines.push_back(content.substr(start, end - start));
    } else {
      lines.push_back(content.substr(start, end - start - 1));
    }
    start = end + 1;
  }
  return lines;
}

std::optional<std::vector<std::string>> SplitCsv(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) {
          return std::nullopt;  // unterminated quote
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') {
        return std::nullopt;  // text after the closing quote
      }
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') {
          return std::nullopt;  // a quote inside an unquoted field
        }
        field += line[i++];
      }
    }
    fields.push_back(field);
    if (i >= line.size()) {
      return fields;
    }
    ++i;  // the comma
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) {
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::optional<std::string> RejectReason(const std::vector<std::string>& header, std::string_view line) {
  if (!IsValidUtf8(line)) {
    return "not UTF-8";
  }
  const auto fields = SplitCsv(line);
  if (!fields) {
    return "broken quoting";
  }
  if (fields->size() != header.size()) {
    return "field count " + std::to_string(fields->size());
  }
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& value = (*fields)[i];
    if (header[i] == "customer_id") {
      int64_t key = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), key);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        return "key '" + value + "'";
      }
    } else if (header[i] == "updated_at") {
      if (value.empty() || !ParseTimestamp(value)) {
        return "updated_at '" + value + "'";
      }
    } else if (header[i] == "op") {
      static const std::vector<std::string> kOps = {"", "I", "U", "D", "i", "u", "d"};
      if (std::find(kOps.begin(), kOps.end(), value) == kOps.end()) {
        return "op '" + value + "'";
      }
    }
  }
  return std::nullopt;
}

}  // namespace dimstream::testing

namespace dimstream::testing {
namespace {

struct KeySeen {
  std::vector<std::string> values;  // the seven attributes of the key's latest row
  Micros max_time = 0;
  bool live = false;
};

size_t Column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? header.size() : static_cast<size_t>(it - header.begin());
}

}  // namespace

Audit AuditFiles(const std::vector<std::filesystem::path>& files, uint64_t first_key) {
  Audit audit;
  std::set<std::string> seen_lines;
  std::map<uint64_t, KeySeen> keys;
  uint64_t next_new_key = first_key;
  std::optional<Micros> last_tick;
  for (const auto& file : files) {
    bool crlf = true;
    const std::vector<std::string> lines = SplitLines(ReadFile(file), &crlf);
    if (!crlf) {
      audit.problems.push_back(file.string() + ": a line does not end in CRLF");
    }
    if (lines.empty()) {
      audit.problems.push_back(file.string() + ": empty");
      continue;
    }
    const std::vector<std::string> header = SplitCsv(lines[0]).value_or(std::vector<std::string>());
    const size_t time_col = Column(header, "updated_at");
    const size_t op_col = Column(header, "op");
    for (size_t n = 1; n < lines.size(); ++n) {
      const std::string& line = lines[n];
      const std::string where = file.filename().string() + ":" + std::to_string(n + 1) + ": ";
      ++audit.rows;
      if (RejectReason(header, line)) {
        ++audit.bad;
        continue;
      }
      if (!seen_lines.insert(line).second) {
        ++audit.duplicates;
        continue;
      }
      const std::vector<std::string> f = *SplitCsv(line);
      const uint64_t key = std::stoull(f[0]);
      audit.keys.insert(key);
      const std::vector<std::string> values(f.begin() + 1, f.begin() + 8);
      for (const std::string& v : values) {
        ++audit.attribute_fields;
        audit.null_fields += v.empty() ? 1 : 0;
      }
      const std::optional<Micros> time =
          time_col < header.size() ? ParseTimestamp(f[time_col]) : std::optional<Micros>();
      const bool has_op = op_col < header.size();
      const char op = has_op && !f[op_col].empty() ? f[op_col][0] : 'U';
      auto it = keys.find(key);
      const bool known = it != keys.end();

      if (op == 'D') {
        ++audit.deletes;
        if (!known || !it->second.live) {
          audit.problems.push_back(where + "delete of a key without a current version");
        }
      } else if (known && time && *time < it->second.max_time) {
        ++audit.late;
        continue;  // an old version: the key's latest stays what later rows build on
      } else if (!known) {
        ++audit.inserts;
        if (key != next_new_key) {
          audit.problems.push_back(where + "new key " + std::to_string(key) + ", expected " +
                                   std::to_string(next_new_key));
        }
        next_new_key = key + 1;
        if (has_op && op != 'I') {
          audit.problems.push_back(where + "insert without op I");
        }
      } else if (!it->second.live) {
        ++audit.reinserts;
        if (has_op && op != 'I') {
          audit.problems.push_back(where + "re-insert without op I");
        }
      } else {
        const auto& before = it->second.values;
        const bool name_changed = !std::equal(values.begin(), values.begin() + 3, before.begin());
        const bool address_changed = !std::equal(values.begin() + 3, values.end(), before.begin() + 3);
        if (name_changed && address_changed) {
          audit.problems.push_back(where + "an update changed both name and address");
        }
        ++(address_changed ? audit.scd2 : audit.scd1);
        if (has_op && op != 'U') {
          audit.problems.push_back(where + "update without op U");
        }
      }
      if (time) {
        if (last_tick && *time <= *last_tick) {
          audit.problems.push_back(where + "event time does not increase");
        }
        last_tick = time;
      }
      KeySeen& k = keys[key];
      k.values = values;
      k.max_time = time.value_or(0);
      k.live = op != 'D';
    }
  }
  return audit;
}

}  // namespace dimstream::testing

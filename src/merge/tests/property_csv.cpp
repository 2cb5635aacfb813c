#include "merge/tests/property_csv.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace dimstream::property {

std::string Two(int v) {
  std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}

std::string FormatDate(int64_t days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  std::string y = std::to_string(static_cast<int>(ymd.year()));
  return std::string(4 - std::min<size_t>(4, y.size()), '0') + y + "-" +
         Two(static_cast<int>(static_cast<unsigned>(ymd.month()))) + "-" +
         Two(static_cast<int>(static_cast<unsigned>(ymd.day())));
}

std::string FormatEventTime(Rng& rng, Micros utc) {
  static const std::vector<int> offsets = {0, 0, 0, 120, -330, 345, -600, 60, 840, -720, 330};
  constexpr Micros kDay = 86400LL * 1000000;
  int offset = rng.Pick(offsets);
  bool no_marker = offset == 0 && rng.Chance(0.4);
  Micros local = utc + static_cast<Micros>(offset) * 60 * 1000000;
  Micros days = local >= 0 ? local / kDay : -((-local + kDay - 1) / kDay);
  Micros in_day = local - days * kDay;
  int64_t secs = in_day / 1000000;
  int64_t micros = in_day % 1000000;
  std::string s = FormatDate(days);
  s += rng.Chance(0.85) ? "T" : " ";
  s += Two(static_cast<int>(secs / 3600)) + ":" + Two(static_cast<int>(secs / 60 % 60));
  bool can_drop_seconds = secs % 60 == 0 && micros == 0;
  if (!can_drop_seconds || rng.Chance(0.7)) {
    s += ":" + Two(static_cast<int>(secs % 60));
    if (micros != 0) {
      std::string frac = std::to_string(micros + 1000000).substr(1);
      if (rng.Chance(0.5)) {
        while (frac.back() == '0') {
          frac.pop_back();
        }
      }
      s += "." + frac;
    } else if (rng.Chance(0.2)) {
      s += ".000";
    }
  }
  if (no_marker) {
    return s;
  }
  if (offset == 0 && rng.Chance(0.7)) {
    return s + "Z";
  }
  int a = std::abs(offset);
  std::string sign = offset < 0 ? "-" : "+";
  uint64_t style = rng.Below(10);
  if (style < 7) {
    return s + sign + Two(a / 60) + ":" + Two(a % 60);
  }
  if (style < 9 || a % 60 != 0) {
    return s + sign + Two(a / 60) + Two(a % 60);
  }
  return s + sign + Two(a / 60);
}

std::string CsvField(Rng& rng, const std::string& s) {
  bool must = s.find_first_of(",\"\r\n") != std::string::npos;
  if (!must && !rng.Chance(0.15)) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

std::string RandomCase(Rng& rng, const std::string& text) {
  uint64_t style = rng.Below(4);
  std::string out = text;
  for (char& c : out) {
    bool upper = style == 1 || (style == 2 && rng.Chance(0.5));
    bool lower = style == 3 || (style == 2 && !upper);
    if (upper) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string JoinFields(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    line += (i ? "," : "") + fields[i];
  }
  return line;
}

std::vector<FileSpan> SplitIntoFiles(Rng& rng, size_t n, const std::string& prefix) {
  size_t max_files = std::min<size_t>(n, 8);
  size_t nfiles = static_cast<size_t>(rng.Int(1, static_cast<int>(std::max<size_t>(max_files, 1))));
  std::vector<size_t> candidates;
  for (size_t i = 1; i < n; ++i) {
    candidates.push_back(i);
  }
  rng.Shuffle(candidates);
  std::vector<size_t> cuts(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                        nfiles - 1, candidates.size())));
  if (rng.Chance(0.1)) {
    cuts.push_back(rng.Below(n + 1));  // an empty (header only) file somewhere
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.insert(cuts.begin(), 0);
  cuts.push_back(n);
  std::vector<FileSpan> files;
  for (size_t f = 0; f + 1 < cuts.size(); ++f) {
    files.push_back({prefix + std::to_string(f) + ".csv", cuts[f], cuts[f + 1]});
  }
  return files;
}

std::optional<size_t> PickLoadTimeFile(Rng& rng, size_t files, const std::function<bool(size_t)>& eligible,
                                       const std::function<bool(size_t)>& holds_key) {
  std::vector<size_t> without_sequence;
  std::vector<size_t> same_key;
  for (size_t j = 0; j < files; ++j) {
    if (eligible(j)) {
      without_sequence.push_back(j);
      if (holds_key(j)) {
        same_key.push_back(j);
      }
    }
  }
  if (!same_key.empty()) {
    return rng.Pick(same_key);
  }
  if (!without_sequence.empty()) {
    return rng.Pick(without_sequence);
  }
  return std::nullopt;
}

const std::vector<std::string>& BadTimestamps() {
  static const std::vector<std::string> times = {"yesterday",
                                                 "2025-13-01T00:00:00Z",
                                                 "2025-02-30T10:00:00Z",
                                                 "2025-01-01T25:00:00Z",
                                                 "2025-01-01T10:61:00Z",
                                                 "01/02/2025",
                                                 "2025-01-01T10:00:00 PST",
                                                 "2025-01-01T10:00:00+0"};
  return times;
}

const std::vector<std::string>& InvalidUtf8() {
  static const std::vector<std::string> texts = {"Bad \xff byte", "\xc3(", "\xed\xa0\x80", "\xc0\xaf",
                                                 "cut \xe2\x82"};
  return texts;
}

std::string DescribeRejects(const std::vector<ExpectedReject>& rejects) {
  std::string out;
  for (const ExpectedReject& r : rejects) {
    out += ", line " + std::to_string(r.line) + " rejected: " + r.why;
  }
  return out;
}

CsvLine BrokenLine(const std::string& text, ExpectedReject reject, bool valid_utf8) {
  if (valid_utf8) {
    reject.raw.emplace();
    for (char ch : text) {
      *reject.raw += ch == '\0' ? std::string("\\x00") : std::string(1, ch);
    }
  }
  return {text, reject};
}

void WriteCsv(Rng& rng, const std::vector<std::string>& header, std::vector<CsvLine>& lines,
              const std::string& eol, std::string& out, std::vector<ExpectedReject>& rejects) {
  for (size_t i = 0; i < header.size(); ++i) {
    out += (i ? "," : "") + RandomCase(rng, header[i]);
  }
  out += eol;
  bool final_eol = rng.Chance(0.8);
  for (size_t i = 0; i < lines.size(); ++i) {
    uint64_t line_no = 1 + static_cast<uint64_t>(std::count(out.begin(), out.end(), '\n'));
    out += lines[i].text;
    if (i + 1 < lines.size() || final_eol) {
      out += eol;
    }
    if (lines[i].reject) {
      lines[i].reject->line = line_no;
      rejects.push_back(*lines[i].reject);
    }
  }
}

}  // namespace dimstream::property

#include "common/clock.h"

#include <charconv>
#include <chrono>

#include <fmt/format.h>

namespace dimstream {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.

}  // namespace

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTimestamp(Micros t) {
  auto d = std::chrono::floor<days>(std::chrono::microseconds(t));
  year_month_day ymd{sys_days(d)};
  int64_t rest = t - std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  int64_t secs = rest / 1000000;
  int64_t us = rest % 1000000;
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                secs / 3600, (secs / 60) % 60, secs % 60);
  if (us != 0) {
    out += fmt::format(".{:06}", us);
  }
  return out + "Z";
}

std::string FormatCompactTimestamp(Micros t) {
  std::string iso = FormatTimestamp(t);
  std::string out;
  for (size_t i = 0; i < 19; ++i) {
    if (iso[i] >= '0' && iso[i] <= '9') {
      out += iso[i];
    }
  }
  return out;
}

std::optional<Micros> ParseTimestamp(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                     std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  size_t pos = 10;
  int64_t micros = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
    ++pos;
    if (!Digits(s, pos, 2, h) || pos + 2 >= s.size() || s[pos + 2] != ':' || !Digits(s, pos + 3, 2, mi)) {
      return std::nullopt;
    }
    pos += 5;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, sec)) {
        return std::nullopt;
      }
      pos += 3;
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        int64_t scale = 100000;
        size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (scale > 0) {
            micros += (s[pos] - '0') * scale;
            scale /= 10;
          }
          ++pos;
        }
        if (pos == start) {
          return std::nullopt;
        }
      }
    }
    if (h > 23 || mi > 59 || sec > 60) {
      return std::nullopt;
    }
  }
  int64_t offset_minutes = 0;
  if (pos < s.size()) {
    char c = s[pos];
    if ((c == 'Z' || c == 'z') && pos + 1 == s.size()) {
      pos = s.size();
    } else if (c == '+' || c == '-') {
      int oh = 0, om = 0;
      if (!Digits(s, pos + 1, 2, oh)) {
        return std::nullopt;
      }
      pos += 3;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
      }
      if (pos < s.size()) {
        if (!Digits(s, pos, 2, om)) {
          return std::nullopt;
        }
        pos += 2;
      }
      if (pos != s.size() || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_minutes = (c == '+' ? 1 : -1) * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  int64_t day_count = sys_days(ymd).time_since_epoch().count();
  int64_t secs = day_count * 86400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
  Micros t = secs * 1000000 + micros;
  // Only instants with a four-digit year in UTC: what every warehouse stores and prints the same way.
  if (t < kMinTimestamp || t > kMaxTimestamp) {
    return std::nullopt;
  }
  return t;
}

}  // namespace dimstream

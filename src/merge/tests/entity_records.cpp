#include "merge/tests/entity_records.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "common/clock.h"

namespace dimstream::property::declared {
namespace {

SeqGrid::Axis RandomAxis(Rng& rng, const Type& t, std::string& time_mode) {
  SeqGrid::Axis a;
  switch (t.kind) {
    case Kind::kTimestamp:
      // Near-now grids interleave with the commit times of files without the sequence; historic grids put
      // those files after every event time.
      switch (rng.Below(6)) {
        case 0:
          a.base = 1735689600000000LL;
          a.step = 3600LL * 1000000;
          time_mode = "historic, 1 h steps";
          break;
        case 1:
          a.base = 1735689600000000LL - 3 * 3600LL * 1000000;
          a.step = kDay + 1000000 + 123456;
          time_mode = "historic, ~1 day steps with fractions";
          break;
        case 2:
          a.base = 1735689600000000LL + 7;
          a.step = rng.Chance(0.5) ? 1 : 1000;
          time_mode = "historic, microsecond/millisecond steps";
          break;
        case 3:
          a.base = -3600LL * 1000000;
          a.step = 10 * 60LL * 1000000 + 1;
          time_mode = "around the epoch, ~10 min steps";
          break;
        case 4:
          a.base = 1709150400000000LL;
          a.step = 2 * 3600LL * 1000000 + 500000;
          time_mode = "leap day, ~2 h steps";
          break;
        default:
          a.base = NowMicros() - 150000;
          a.step = 15000 + static_cast<Micros>(rng.Below(30000));
          time_mode = "near now, ~30 ms steps";
          break;
      }
      break;
    case Kind::kBigint:
      switch (rng.Below(5)) {
        case 0:
          a.base = 0;
          a.step = 1;
          break;
        case 1:
          a.base = -100;
          a.step = 7;
          break;
        case 2:
          a.base = 1000000000000000LL;
          a.step = 1000;
          break;
        case 3:
          a.base = INT64_MIN;
          a.step = 1;
          break;
        default:
          a.base = INT64_MAX - 1000;
          a.step = 3;
          break;
      }
      break;
    case Kind::kDate:
      a.base = rng.Pick(std::vector<int64_t>{DaysOf(2024, 2, 27), -3, DaysOf(2024, 12, 30)});
      a.step = rng.Pick(std::vector<int64_t>{1, 2, 31});
      break;
    case Kind::kDouble:  // in 64ths: exact
      a.base = rng.Chance(0.5) ? 0 : -640;
      a.step = rng.Chance(0.5) ? 1 : 96;
      break;
    case Kind::kDecimal: {
      Int128 limit = Pow10(t.p);
      Int128 step = rng.Pick(std::vector<Int128>{1, 25, Pow10(t.s)});
      Int128 base = rng.Pick(std::vector<Int128>{0, -step * 20, limit - 1 - step * kMaxT});
      if (base < -(limit - 1) || base + step * kMaxT >= limit || base - step * kMaxT <= -limit) {
        base = 0;
        step = 1;
      }
      a.base = base;
      a.step = step;
      break;
    }
    case Kind::kText: {
      // Random distinct strings, sorted byte-wise: prefixes, case, multi-byte characters, a space.
      static const std::vector<std::string> alphabet = {
          "a", "b", "B", "A", "0", "é", "日", " ", "z", "~", std::string(1, kNul)};
      std::set<std::string> pool;
      while (pool.size() < static_cast<size_t>(kMaxT) + 1) {
        std::string s;
        int n = rng.Int(1, 4);
        for (int i = 0; i < n; ++i) {
          s += rng.Pick(alphabet);
        }
        pool.insert(s);
      }
      a.texts.assign(pool.begin(), pool.end());  // std::string orders as unsigned bytes
      break;
    }
    case Kind::kBoolean:
      break;
  }
  return a;
}

SeqGrid RandomGrid(Rng& rng, const Shape& shape) {
  SeqGrid g;
  for (const Column& c : shape.seq) {
    g.axes.push_back(RandomAxis(rng, c.type, g.time_mode));
  }
  if (shape.seq.size() == 2) {
    g.split = rng.Int(1, 4);
  }
  return g;
}

Cell RandomAttr(Rng& rng, const Type& t, double null_chance) {
  if (rng.Chance(null_chance)) {
    return std::nullopt;
  }
  return rng.Pick(ValuePool(t, false));
}

void GenerateRecords(Rng& rng, Case& c) {
  const Shape& shape = c.shape;
  // Keys: 1-6 distinct tuples (by typed value).
  int want = rng.Int(1, 6);
  for (int tries = 0; tries < 60 && static_cast<int>(c.keys.size()) < want; ++tries) {
    std::vector<Val> k;
    for (const Column& col : shape.keys) {
      k.push_back(rng.Pick(ValuePool(col.type, true)));
    }
    if (std::find(c.keys.begin(), c.keys.end(), k) == c.keys.end()) {
      c.keys.push_back(k);
    }
  }
  const bool ops = !shape.op.empty();
  const double null_chance = rng.Chance(0.5) ? 0.1 : 0.3;
  const double change1 = 0.2 + 0.4 * static_cast<double>(rng.Below(100)) / 100.0;
  const double change2 = 0.05 + 0.3 * static_cast<double>(rng.Below(100)) / 100.0;
  const double delete_chance = !ops || shape.deletes.empty() || rng.Chance(0.3)
                                   ? 0.0
                                   : 0.05 + 0.2 * static_cast<double>(rng.Below(100)) / 100.0;
  const double truncate_chance = !ops || shape.truncates.empty() || rng.Chance(0.2)
                                     ? 0.0
                                     : 0.03 + 0.1 * static_cast<double>(rng.Below(100)) / 100.0;
  std::map<int, int> newest;
  std::vector<int> used;  // every t given so far, for ties
  std::map<int, std::vector<int>> used_by_key;
  std::map<int, std::vector<Cell>> last;
  int newest_all = 0;
  int n = RandomRecordCount(rng);
  for (int i = 0; i < n; ++i) {
    if (AppendDuplicate(rng, c.records)) {
      continue;
    }
    Record r;
    if (rng.Chance(truncate_chance)) {
      r.op = Op::kTruncate;
      uint64_t roll = rng.Below(100);
      r.t = roll < 40 || used.empty() ? newest_all + rng.Int(0, 2)  // in order
            : roll < 75               ? rng.Int(0, newest_all)      // late
                                      : rng.Pick(used);                           // a tie with some record
      for (size_t a = 0; a < shape.attrs(); ++a) {
        r.attrs.push_back(rng.Chance(0.7) ? std::nullopt : RandomAttr(rng, shape.attr(a).type, null_chance));
      }
    } else {
      r.key = static_cast<int>(rng.Below(c.keys.size()));
      if (newest.count(r.key) == 0) {
        r.t = rng.Int(0, 3);
        std::vector<Cell> a;
        for (size_t x = 0; x < shape.attrs(); ++x) {
          a.push_back(RandomAttr(rng, shape.attr(x).type, null_chance));
        }
        last[r.key] = a;
      } else {
        int cur = newest[r.key];
        uint64_t roll = rng.Below(100);
        r.t = roll < 60   ? cur + rng.Int(1, 3)
              : roll < 75 ? rng.Int(0, cur)  // late (or a tie with the newest)
              : roll < 90 ? rng.Pick(used_by_key[r.key])
              : roll < 95 ? rng.Pick(used)  // a tie with another key's record or a truncate
                          : cur;
      }
      newest[r.key] = std::max(newest.count(r.key) ? newest[r.key] : r.t, r.t);
      used_by_key[r.key].push_back(r.t);
      r.op = rng.Chance(delete_chance) ? Op::kDelete : Op::kUpsert;
      std::vector<Cell>& a = last[r.key];
      for (size_t x = 0; x < shape.attrs(); ++x) {
        if (rng.Chance(x < shape.scd1.size() ? change1 : change2)) {
          a[x] = RandomAttr(rng, shape.attr(x).type, null_chance);
        }
      }
      r.attrs = r.op == Op::kDelete && rng.Chance(0.4) ? std::vector<Cell>(shape.attrs()) : a;
    }
    r.t = std::min(r.t, kMaxT);
    used.push_back(r.t);
    newest_all = std::max(newest_all, r.t);
    c.records.push_back(r);
  }
}

}  // namespace

std::vector<Val> SeqGrid::At(int t) const {
  std::vector<Val> out;
  for (size_t c = 0; c < axes.size(); ++c) {
    int i = axes.size() == 1 ? t : c == 0 ? t / split : t % split;
    const Axis& a = axes[c];
    out.push_back(a.texts.empty() ? Num(a.base + a.step * i) : Txt(a.texts[static_cast<size_t>(i)]));
  }
  return out;
}

Case MakeCase(Rng& rng) {
  Case c;
  c.shape = RandomShape(rng);
  c.grid = RandomGrid(rng, c.shape);
  GenerateRecords(rng, c);
  return c;
}

std::string DescribeCase(const Case& c) {
  return std::to_string(c.records.size()) + " records over " + std::to_string(c.keys.size()) +
         " keys; sequence " + c.shape.seq_mode +
         (c.grid.time_mode.empty() ? "" : " (" + c.grid.time_mode + ")") +
         (c.grid.split > 1 ? ", first column ties every " + std::to_string(c.grid.split) : "") +
         "; operations " + c.shape.op_style + "\n" + "--- entity\n" + c.shape.Toml();
}

}  // namespace dimstream::property::declared

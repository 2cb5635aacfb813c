#include "generator/entity_sequence.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "common/clock.h"

#include "config/entity.h"
#include "generator/entity_values.h"

namespace dimstream {
namespace {

// Rows in a transaction when a second column tells them apart.
constexpr uint64_t kMultiColumnTx = 8;
// A double holds every microsecond exactly below 2^33 seconds (the year 2242).
constexpr int64_t kDoubleMicrosLimit = 8500000000LL * kMicrosPerSecond;

}  // namespace

Result<SequencePlan> SequencePlan::Make(const EntitySpec& entity, Micros start) {
  SequencePlan plan;
  plan.start_ = start;
  plan.clock_ = start;
  for (const std::string& name : entity.sequence_columns) {
    plan.columns_.push_back({name, entity.TypeOf(name)});
  }
  if (plan.columns_.empty()) {
    return plan;
  }
  const ColumnType& first = plan.columns_.front().type;
  const bool single = plan.columns_.size() == 1;
  uint64_t tx_single = 4;
  switch (first.kind) {
    case TypeKind::kBoolean:
      return Error::Invalid(fmt::format(
          "entity '{}': sequence column '{}' is a boolean, which cannot order more than two records of a "
          "key; "
          "the generator needs a sequence that can keep increasing (declare it bigint, timestamp, ...)",
          entity.name, plan.columns_.front().name));
    case TypeKind::kTimestamp:
    case TypeKind::kDouble:
      // Milliseconds apart, like the customer generator's updated_at; late rows up to an hour back.
      plan.grid_ = 1000;
      plan.max_step_ = 2000;
      plan.late_cells_ = 3600 * 1000;
      tx_single = 1;
      if (first.kind == TypeKind::kTimestamp) {
        plan.origin_ = start;
        plan.floor_ = kMinTimestamp - start;
        plan.ceiling_ = kMaxTimestamp - start;
      } else {
        // Epoch seconds with microseconds, while a double holds them exactly; else seconds from zero.
        plan.origin_ = start >= 0 && start < kDoubleMicrosLimit / 2 ? start : 0;
        plan.floor_ = -plan.origin_;
        plan.ceiling_ = kDoubleMicrosLimit - plan.origin_;
      }
      break;
    case TypeKind::kBigint:
    case TypeKind::kText:
      // A log sequence number: a few rows per value, 100 to 5000 apart.
      plan.grid_ = 100;
      plan.max_step_ = 50;
      plan.late_cells_ = 1000;
      plan.first_n_ = 100000;
      plan.ceiling_ = std::numeric_limits<int64_t>::max() / 2;
      break;
    case TypeKind::kDecimal: {
      int64_t capacity = 1;
      for (unsigned i = 0; i < std::min<unsigned>(first.precision, 18); ++i) {
        capacity *= 10;
      }
      plan.ceiling_ = capacity - 1;
      if (capacity >= 1000000000) {
        plan.grid_ = 100;
        plan.max_step_ = 50;
        plan.late_cells_ = 1000;
        plan.first_n_ = 100000;
      } else if (capacity >= 100000) {
        plan.grid_ = 10;
        plan.max_step_ = 10;
        plan.late_cells_ = 100;
        plan.first_n_ = 1000;
      } else {
        plan.grid_ = 1;
        plan.max_step_ = 1;
        plan.late_cells_ = 3;
      }
      break;
    }
    case TypeKind::kDate:
      // Days forward; many rows share a day.
      plan.origin_ = DayOf(start);
      plan.late_cells_ = 30;
      plan.floor_ = kFirstDay - plan.origin_;
      plan.ceiling_ = kLastDay - plan.origin_;
      tx_single = 100;
      break;
  }
  plan.tx_max_ = single ? tx_single : kMultiColumnTx;
  plan.repeat_in_tx_ = !single && plan.columns_[1].type.kind != TypeKind::kBoolean;
  for (size_t i = 1; i < plan.columns_.size(); ++i) {
    plan.has_clock_ = plan.has_clock_ || plan.columns_[i].type.kind == TypeKind::kTimestamp;
  }
  return plan;
}

Status SequencePlan::Advance(Rng& rng) {
  const auto step = static_cast<int64_t>(rng.Between(1, max_step_)) * grid_;
  if (cell_ > ceiling_ - step) {
    return Error::Invalid(
        fmt::format("sequence column '{}' ({}) has no value left after {} rows; declare a wider type or "
                    "generate fewer rows",
                    columns_.front().name, columns_.front().type.Name(), issued_));
  }
  cell_ += step;
  tx_left_ = rng.Between(1, tx_max_);
  pos_ = 0;
  return Ok();
}

Result<SeqPoint> SequencePlan::Next(Rng& rng, const int64_t* key_latest) {
  if (!started_) {
    started_ = true;
    cell_ = first_n_;
    tx_left_ = rng.Between(1, tx_max_);
    pos_ = 0;
  } else if (tx_left_ == 0 || (!repeat_in_tx_ && key_latest != nullptr && *key_latest == cell_)) {
    DIMSTREAM_TRY(Advance(rng));
  }
  ++pos_;
  --tx_left_;
  if (has_clock_ && issued_ > 0) {
    clock_ += static_cast<Micros>(rng.Between(1, 2000)) * 1000;
  }
  ++issued_;
  return SeqPoint{cell_, pos_, clock_};
}

Result<SeqPoint> SequencePlan::Alone(Rng& rng) {
  if (!started_) {
    started_ = true;
    cell_ = first_n_;
  } else {
    DIMSTREAM_TRY(Advance(rng));
  }
  tx_left_ = 0;
  pos_ = 1;
  if (has_clock_ && issued_ > 0) {
    clock_ += static_cast<Micros>(rng.Between(1, 2000)) * 1000;
  }
  ++issued_;
  truncates_.insert(cell_);
  return SeqPoint{cell_, 1, clock_};
}

SeqPoint SequencePlan::Current() const {
  return SeqPoint{started_ ? cell_ : first_n_, std::max<uint32_t>(pos_, 1), clock_};
}

std::optional<int64_t> SequencePlan::Late(Rng& rng, int64_t latest, int64_t& low, uint16_t& late_count) {
  if (grid_ > 1 && late_count < grid_ - 1) {
    const int64_t n = latest - static_cast<int64_t>(rng.Between(1, late_cells_)) * grid_ +
                      static_cast<int64_t>(late_count) + 1;
    if (n < floor_) {
      return std::nullopt;
    }
    ++late_count;
    low = std::min(low, n);
    return n;
  }
  int64_t n = low - static_cast<int64_t>(rng.Between(1, late_cells_));
  while (truncates_.count(n) != 0) {
    --n;
  }
  if (n < floor_) {
    return std::nullopt;
  }
  low = n;
  late_count = static_cast<uint16_t>(std::min<int>(late_count + 1, 0xFFFF));
  return n;
}

void SequencePlan::Render(const SeqPoint& p, Rng* style, std::vector<std::string>& fields) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    const ColumnType& t = columns_[i].type;
    std::string out;
    if (i == 0) {
      const int64_t v = origin_ + p.n;
      switch (t.kind) {
        case TypeKind::kTimestamp:
          AppendTimestamp(out, v, style);
          break;
        case TypeKind::kDouble:
          AppendDouble(out, v, 6, style);
          break;
        case TypeKind::kDecimal:
          AppendDecimal(out, v, t.scale, style);
          break;
        case TypeKind::kDate:
          AppendDate(out, v);
          break;
        case TypeKind::kText:
          out = fmt::format("{:020}", v);  // zero-padded: byte order is numeric order
          break;
        default:
          out = fmt::format("{}", v);
          break;
      }
    } else {
      // The position in the transaction, as the column's type writes it.
      switch (t.kind) {
        case TypeKind::kTimestamp:
          AppendTimestamp(out, p.clock, style);
          break;
        case TypeKind::kDouble:
          AppendDouble(out, p.pos, 0, style);
          break;
        case TypeKind::kDecimal: {
          Int128 unscaled = p.pos;
          for (unsigned k = 0; t.precision > t.scale && k < t.scale; ++k) {
            unscaled *= 10;
          }
          AppendDecimal(out, unscaled, t.scale, style);
          break;
        }
        case TypeKind::kBoolean:
          out = p.pos % 2 == 0 ? "true" : "false";
          break;
        case TypeKind::kDate:
          AppendDate(out, DayOf(start_) + p.pos - 1);
          break;
        case TypeKind::kText:
          out = fmt::format("{:06}", p.pos);
          break;
        case TypeKind::kBigint:
          out = fmt::format("{}", p.pos);
          break;
      }
    }
    fields.push_back(std::move(out));
  }
}

std::string SequencePlan::Bad(Rng& rng, size_t i, const std::string& good) const {
  if (columns_[i].type.kind == TypeKind::kText || rng.Bernoulli(0.35)) {
    return {};  // present in the file but empty
  }
  return NotOfType(rng, columns_[i].type, good);
}

}  // namespace dimstream

#include "merge/tests/entity_shapes.h"

#include <cctype>
#include <sstream>
#include <utility>

namespace dimstream::property::declared {
namespace {

std::vector<std::string> Names(const std::vector<Column>& cols) {
  std::vector<std::string> out;
  for (const Column& c : cols) {
    out.push_back(c.name);
  }
  return out;
}

Type RandomDecimal(Rng& rng, bool for_sequence) {
  static const std::vector<std::pair<int, int>> all = {{8, 2},  {10, 0},  {4, 3}, {18, 6},
                                                       {20, 4}, {38, 10}, {3, 3}};
  static const std::vector<std::pair<int, int>> wide_enough = {{8, 2},  {10, 0}, {4, 1},
                                                               {18, 6}, {20, 4}, {38, 10}};
  auto [p, s] = rng.Pick(for_sequence ? wide_enough : all);
  return Type{Kind::kDecimal, p, s};
}

Type RandomType(Rng& rng, bool key) {
  // Weights: text 3, bigint 3, double 1, decimal 2, boolean 1 (keys: rarer), date 2, timestamp 2.
  uint64_t r = rng.Below(key ? 13 : 14);
  if (r < 3) {
    return Type{Kind::kText};
  }
  if (r < 6) {
    return Type{Kind::kBigint};
  }
  if (r < 7) {
    return Type{Kind::kDouble};
  }
  if (r < 9) {
    return RandomDecimal(rng, false);
  }
  if (r < 11) {
    return Type{Kind::kDate};
  }
  if (r < 13) {
    return Type{Kind::kTimestamp};
  }
  return Type{Kind::kBoolean};
}

// Operation value lists in the shapes real sources use; `style` names them for the coverage table.
struct Operations {
  std::vector<std::string> upserts;
  std::vector<std::string> deletes;
  std::vector<std::string> truncates;  // in 40% of the entities, or always
  bool always_truncates;
  const char* style;
};

const std::vector<Operations>& OperationStyles() {
  static const std::vector<Operations> styles = {
      {{"I", "U", ""}, {"D"}, {"T"}, false, "I/U/D"},
      {{"INSERT", "UPDATE"}, {"DELETE"}, {"TRUNCATE"}, false, "INSERT/UPDATE/DELETE"},
      {{"c", "u", "r"}, {"d"}, {"t"}, false, "Debezium c/u/r/d"},
      {{"upsert"}, {"delete", "remove"}, {"truncate", "reset"}, false, "words, two delete values"},
      {{"1", "2"}, {"3"}, {"9"}, false, "digits"},
      {{"I", "U"}, {}, {"T"}, true, "no delete values, a truncate"},
  };
  return styles;
}

void RandomOperations(Rng& rng, Shape& shape) {
  const Operations& o = OperationStyles()[rng.Below(OperationStyles().size())];
  shape.upserts = o.upserts;
  shape.deletes = o.deletes;
  shape.truncates.clear();
  if (o.always_truncates || rng.Chance(0.4)) {
    shape.truncates = o.truncates;
  }
  shape.op_style = o.style;
  if (!shape.empty_upsert() && rng.Chance(0.4)) {
    shape.upserts.push_back("");
  }
  shape.op_style += shape.empty_upsert() ? ", \"\" upserts" : ", \"\" is no operation";
}

// Trimmed of spaces and tabs, ASCII letters folded: how operation values compare (SEMANTICS.md section 1).
std::string FoldOp(const std::string& v) {
  size_t b = v.find_first_not_of(" \t");
  if (b == std::string::npos) {
    return {};
  }
  std::string out = v.substr(b, v.find_last_not_of(" \t") - b + 1);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::vector<Type> Shape::seq_types() const {
  if (seq.empty()) {
    return {Type{Kind::kTimestamp}};
  }
  std::vector<Type> out;
  for (const Column& c : seq) {
    out.push_back(c.type);
  }
  return out;
}

EntitySpec Shape::Spec() const {
  EntitySpec e;
  e.name = name;
  e.key_columns = Names(keys);
  e.scd1_columns = Names(scd1);
  e.scd2_columns = Names(scd2);
  e.sequence_columns = Names(seq);
  e.operation_column = op;
  e.delete_values = deletes;
  e.upsert_values = upserts;
  e.truncate_values = truncates;
  e.scd1_scope = all_versions ? Scd1Scope::kAllVersions : Scd1Scope::kCurrent;
  e.key_id_bits = key_id_bits;
  e.types.clear();
  for (const auto* cols : {&keys, &scd1, &scd2, &seq}) {
    for (const Column& c : *cols) {
      // A sequence column not named in types is a timestamp: name a text one.
      if (c.type.kind != Kind::kText || cols == &seq) {
        e.types[c.name] = c.type.Declared();
      }
    }
  }
  return e;
}

std::string Shape::Toml() const {
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) {
      out += (out.empty() ? "\"" : ", \"") + s + "\"";
    }
    return "[" + out + "]";
  };
  std::ostringstream o;
  o << "[entity]\nname = \"" << name << "\"\nkey_columns = " << list(Names(keys))
    << "\nscd1_columns = " << list(Names(scd1)) << "\nscd2_columns = " << list(Names(scd2))
    << "\nsequence_columns = " << list(Names(seq)) << "\noperation_column = \"" << op << "\"\n";
  if (!op.empty()) {
    o << "delete_values = " << list(deletes) << "\nupsert_values = " << list(upserts)
      << "\ntruncate_values = " << list(truncates) << "\n";
  }
  o << "scd1_scope = \"" << (all_versions ? "all_versions" : "current") << "\"\n[entity.types]\n";
  for (const auto* cols : {&keys, &scd1, &scd2, &seq}) {
    for (const Column& c : *cols) {
      o << c.name << " = \"" << c.type.Name() << "\"\n";
    }
  }
  if (key_id_bits < 64) {
    o << "--- key_id_bits " << key_id_bits << "\n";
  }
  return o.str();
}

Shape RandomShape(Rng& rng) {
  Shape shape;
  static const std::vector<std::string> entities = {"product", "orders", "account",
                                                    "sensor",  "member", "stock"};
  std::vector<std::string> key_names = {"id", "tenant", "sku", "region", "code", "day", "flag", "order_no"};
  std::vector<std::string> attr_names = {"name", "price",   "active", "since", "score",  "note",  "city",
                                         "tier", "seen_at", "qty",    "color", "weight", "label", "email"};
  std::vector<std::string> seq_names = {"lsn", "pos", "version", "changed_at", "batch", "seq_no"};
  std::vector<std::string> op_names = {"op", "operation", "change_type", "cdc_op"};
  rng.Shuffle(key_names);
  rng.Shuffle(attr_names);
  rng.Shuffle(seq_names);
  shape.name = rng.Pick(entities);
  int arity = rng.Chance(0.5) ? 1 : rng.Int(2, 3);
  for (int i = 0; i < arity; ++i) {
    shape.keys.push_back({key_names[static_cast<size_t>(i)], RandomType(rng, true)});
  }
  int n1 = rng.Chance(0.15) ? 0 : rng.Int(1, 3);
  int n2 = rng.Chance(0.15) ? 0 : rng.Int(1, 3);
  size_t next = 0;
  for (int i = 0; i < n1; ++i) {
    shape.scd1.push_back({attr_names[next++], RandomType(rng, false)});
  }
  for (int i = 0; i < n2; ++i) {
    shape.scd2.push_back({attr_names[next++], RandomType(rng, false)});
  }
  uint64_t mode = rng.Below(100);
  auto one_of = [&](std::vector<Kind> kinds) {
    Kind k = rng.Pick(kinds);
    return k == Kind::kDecimal ? RandomDecimal(rng, true) : Type{k};
  };
  if (mode < 15) {
    shape.seq_mode = "none (load commit order)";
  } else if (mode < 45) {
    shape.seq.push_back({seq_names[0], Type{Kind::kTimestamp}});
    shape.seq_mode = "one timestamp";
  } else if (mode < 75) {
    shape.seq.push_back({seq_names[0], one_of({Kind::kBigint, Kind::kBigint, Kind::kDate, Kind::kDecimal,
                                               Kind::kText, Kind::kDouble})});
    shape.seq_mode =
        "one " + shape.seq[0].type.Name().substr(0, shape.seq[0].type.kind == Kind::kDecimal ? 7 : 20);
  } else {
    shape.seq.push_back({seq_names[0], one_of({Kind::kBigint, Kind::kBigint, Kind::kTimestamp,
                                               Kind::kTimestamp, Kind::kDate, Kind::kDecimal, Kind::kText})});
    shape.seq.push_back(
        {seq_names[1], one_of({Kind::kBigint, Kind::kBigint, Kind::kText, Kind::kDecimal, Kind::kDate})});
    auto short_name = [](const Type& t) {
      return t.kind == Kind::kDecimal ? std::string("decimal") : t.Name();
    };
    shape.seq_mode = "two: " + short_name(shape.seq[0].type) + " + " + short_name(shape.seq[1].type);
  }
  if (rng.Chance(0.8)) {
    shape.op = rng.Pick(op_names);
    RandomOperations(rng, shape);
  } else {
    shape.op_style = "no operation column";
  }
  shape.all_versions = rng.Chance(0.4);
  if (rng.Chance(0.25)) {
    shape.key_id_bits = static_cast<unsigned>(rng.Int(1, 3));
  }
  return shape;
}

bool IsOperation(const Shape& shape, const std::string& v) {
  for (const auto* list : {&shape.deletes, &shape.upserts, &shape.truncates}) {
    for (const std::string& x : *list) {
      if (FoldOp(x) == FoldOp(v)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace dimstream::property::declared

#include "merge/tests/entity_broken_rows.h"

#include <algorithm>
#include <optional>

#include "merge/tests/entity_spellings.h"

namespace dimstream::property::declared {

bool BreakRow(Rng& rng, const Shape& shape, const std::vector<std::string>& columns, const Record& model,
              std::vector<std::string>& fields, ExpectedReject& reject, bool& valid_utf8) {
  auto index = [&](const std::string& name) {
    return static_cast<size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
  };
  auto present = [&](const std::vector<Column>& cols, bool typed_only) {
    std::vector<const Column*> out;
    for (const Column& c : cols) {
      if (index(c.name) < columns.size() && (!typed_only || c.type.kind != Kind::kText)) {
        out.push_back(&c);
      }
    }
    return out;
  };
  valid_utf8 = true;
  switch (rng.Below(6)) {
    case 0: {
      std::string line;
      for (size_t i = 0; i + 1 < fields.size(); ++i) {
        line += fields[i];
      }
      if (rng.Chance(0.5) || fields.size() < 2 || line.empty()) {
        fields.push_back(rng.Chance(0.5) ? "" : "extra");
        reject.why = "one field too many";
      } else {
        fields.pop_back();
        reject.why = "one field too few";
      }
      reject.kind = "field count";
      return true;
    }
    case 1: {
      if (model.op == Op::kTruncate) {
        return false;  // a truncate's key is not read
      }
      const Column& k = rng.Pick(shape.keys);
      auto bad = BadSpelling(rng, k.type);
      std::string v = bad && rng.Chance(0.7)                          ? *bad
                      : rng.Chance(0.5) || k.type.kind == Kind::kText ? ""
                                                                      : "  ";
      fields[index(k.name)] = CsvField(rng, v);
      reject.kind = v.empty() ? "key empty" : "key not of its type";
      reject.column = k.name;
      reject.why = k.name + " '" + v + "'";
      return true;
    }
    case 2: {
      std::vector<const Column*> cols = present(shape.scd1, true);
      for (const Column* c : present(shape.scd2, true)) {
        cols.push_back(c);
      }
      if (cols.empty()) {
        return false;
      }
      const Column& c = *rng.Pick(cols);
      std::string v = *BadSpelling(rng, c.type);
      fields[index(c.name)] = CsvField(rng, v);
      reject.kind = "attribute not of its type";
      reject.column = c.name;
      reject.why = c.name + " '" + v + "'";
      return true;
    }
    case 3: {
      std::vector<const Column*> cols = present(shape.seq, false);
      if (cols.empty()) {
        return false;
      }
      const Column& c = *rng.Pick(cols);
      auto bad = BadSpelling(rng, c.type);
      std::string v = bad && rng.Chance(0.7) ? *bad : "";
      fields[index(c.name)] = v.empty() ? NullField(rng) : CsvField(rng, v);
      reject.kind = v.empty() ? "sequence empty" : "sequence not of its type";
      reject.column = c.name;
      reject.why = c.name + " '" + v + "'";
      return true;
    }
    case 4: {
      if (shape.op.empty() || index(shape.op) >= columns.size()) {
        return false;
      }
      std::vector<std::string> candidates = {"X", "DEL", "UD", "z", "?", "upsert!", "0x", "I U", ""};
      std::vector<std::string> bad;
      for (const std::string& v : candidates) {
        if (!IsOperation(shape, v)) {
          bad.push_back(v);
        }
      }
      std::string v = !IsOperation(shape, "") && rng.Chance(0.3) ? std::string() : rng.Pick(bad);
      fields[index(shape.op)] = v.empty() ? NullField(rng) : CsvField(rng, v);
      reject.kind = v.empty() ? "empty operation, \"\" no upsert" : "operation in no list";
      reject.column = shape.op;
      reject.why = shape.op + " '" + v + "'";
      return true;
    }
    default: {
      std::vector<size_t> text;
      for (size_t i = 0; i < columns.size(); ++i) {
        bool attr = false;
        for (size_t a = 0; a < shape.attrs(); ++a) {
          attr |= shape.attr(a).name == columns[i] && shape.attr(a).type.kind == Kind::kText;
        }
        bool extra = columns[i] == "source_system" || columns[i] == "ingest_note";
        if (attr || extra) {
          text.push_back(i);
        }
      }
      if (text.empty()) {
        return false;
      }
      size_t i = rng.Pick(text);
      fields[i] = rng.Pick(InvalidUtf8());
      reject.kind = "invalid UTF-8";
      reject.why = "invalid UTF-8 in " + columns[i];
      valid_utf8 = false;
      return true;
    }
  }
}

}  // namespace dimstream::property::declared

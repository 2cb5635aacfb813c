#include "generator/entity_generator.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/typed_value.h"
#include "generator/entity_stream.h"
#include "test_files.h"

// GenerateEntity and EntityStream, checked by an independent reading of the files: SEMANTICS.md section 2
// decides which rows the loader must reject (with common's ParseDatum and the entity's OperationOf, never
// the generator's own code), and the rows that remain must keep the generator's promises.
namespace dimstream {
namespace {

using testing::ReadFile;
using testing::ScratchDir;
using testing::SplitCsv;
using testing::SplitLines;

ColumnType Type(const std::string& name) {
  Result<ColumnType> t = ParseColumnType(name);
  EXPECT_TRUE(t.ok()) << name;
  return t.ok() ? *t : ColumnType::Text();
}

// --- Entity shapes ----------------------------------------------------------------------------------

// A text key, a timestamp sequence, the default operations (I, U, empty; D).
EntitySpec Products() {
  EntitySpec e;
  e.name = "product";
  e.key_columns = {"product_id"};
  e.scd1_columns = {"name", "description", "price", "in_stock"};
  e.scd2_columns = {"category", "color"};
  e.sequence_columns = {"updated_at"};
  e.operation_column = "op";
  e.types = {{"price", Type("decimal(10,2)")}, {"in_stock", Type("boolean")}};
  return e;
}

// A UUID key, a bigint sequence (a log sequence number), Debezium's operations with truncates.
EntitySpec Devices() {
  EntitySpec e;
  e.name = "device";
  e.key_columns = {"device_uuid"};
  e.scd1_columns = {"firmware_version", "latitude", "longitude"};
  e.scd2_columns = {"owner_email", "site"};
  e.sequence_columns = {"lsn"};
  e.operation_column = "op";
  e.upsert_values = {"c", "u", "r"};
  e.delete_values = {"d"};
  e.truncate_values = {"t"};
  e.types = {{"firmware_version", Type("bigint")},
             {"latitude", Type("double")},
             {"longitude", Type("double")},
             {"lsn", Type("bigint")}};
  return e;
}

// A composite key (a tenant from a small set, then an integer), a two-column sequence, SQL's words.
EntitySpec Accounts() {
  EntitySpec e;
  e.name = "account";
  e.key_columns = {"tenant_id", "account_id"};
  e.scd1_columns = {"first_name", "last_name", "email", "balance"};
  e.scd2_columns = {"city", "state", "plan"};
  e.sequence_columns = {"lsn", "seq_in_tx"};
  e.operation_column = "operation";
  e.upsert_values = {"INSERT", "UPDATE"};
  e.delete_values = {"DELETE"};
  e.types = {{"account_id", Type("bigint")},
             {"balance", Type("decimal(14,2)")},
             {"lsn", Type("bigint")},
             {"seq_in_tx", Type("bigint")}};
  return e;
}

// No sequence and no operation: the load order orders the records; every one is an upsert.
EntitySpec Tags() {
  EntitySpec e;
  e.name = "tag";
  e.key_columns = {"tag_id"};
  e.scd1_columns = {"label", "color"};
  e.scd2_columns = {"owner_name"};
  e.sequence_columns = {};
  e.operation_column = "";
  e.types = {{"tag_id", Type("bigint")}};
  return e;
}

// Every attribute type, a date sequence (no room between days: late rows go below the key's first).
EntitySpec Measurements() {
  EntitySpec e;
  e.name = "measurement";
  e.key_columns = {"id"};
  e.scd1_columns = {"note", "count", "reading", "amount", "is_valid", "taken_on", "recorded_at"};
  e.scd2_columns = {"rate_pct", "valid_until", "status"};
  e.sequence_columns = {"snapshot_date"};
  e.operation_column = "op";
  e.types = {{"id", Type("bigint")},
             {"count", Type("bigint")},
             {"reading", Type("double")},
             {"amount", Type("decimal(12,4)")},
             {"is_valid", Type("boolean")},
             {"taken_on", Type("date")},
             {"recorded_at", Type("timestamp")},
             {"rate_pct", Type("decimal(5,2)")},
             {"valid_until", Type("date")},
             {"snapshot_date", Type("date")}};
  return e;
}

// A date key (a calendar) with a decimal sequence.
EntitySpec Calendar() {
  EntitySpec e;
  e.name = "calendar";
  e.key_columns = {"day"};
  e.scd1_columns = {"label", "is_holiday"};
  e.scd2_columns = {};
  e.sequence_columns = {"version"};
  e.operation_column = "op";
  e.types = {{"day", Type("date")}, {"is_holiday", Type("boolean")}, {"version", Type("decimal(12,3)")}};
  return e;
}

// A timestamp and a boolean as the key, a text sequence, no attributes at all.
EntitySpec Events() {
  EntitySpec e;
  e.name = "event";
  e.key_columns = {"happened_at", "is_replay"};
  e.scd1_columns = {};
  e.scd2_columns = {};
  e.sequence_columns = {"offset"};
  e.operation_column = "op";
  e.types = {{"happened_at", Type("timestamp")}, {"is_replay", Type("boolean")}, {"offset", Type("text")}};
  return e;
}

// A decimal and a double key, a double sequence followed by a boolean, no SCD1 attributes.
EntitySpec Prices() {
  EntitySpec e;
  e.name = "price_point";
  e.key_columns = {"amount_key", "rank"};
  e.scd1_columns = {};
  e.scd2_columns = {"discount", "currency"};
  e.sequence_columns = {"epoch", "is_backfill"};
  e.operation_column = "op";
  e.types = {{"amount_key", Type("decimal(8,2)")},
             {"rank", Type("double")},
             {"discount", Type("decimal(4,4)")},
             {"epoch", Type("double")},
             {"is_backfill", Type("boolean")}};
  return e;
}

std::vector<EntitySpec> AllShapes() {
  return {Products(), Devices(), Accounts(), Tags(), Measurements(), Calendar(), Events(), Prices()};
}

GenerateOptions Quiet() {
  GenerateOptions o;
  o.progress = false;
  return o;
}

// Every share the entity allows.
GenerateOptions Busy(const EntitySpec& e) {
  GenerateOptions o = Quiet();
  o.rows = 6000;
  o.rows_per_file = 1500;
  o.key_space = 700;
  o.first_key = 1000;
  o.update_share = 0.3;
  o.scd2_share = 0.4;
  o.duplicate_share = 0.05;
  o.delete_share = e.operation_column.empty() || e.delete_values.empty() ? 0 : 0.05;
  o.truncate_share = e.truncate_values.empty() ? 0 : 0.002;
  o.late_share = e.sequence_columns.empty() ? 0 : 0.05;
  o.bad_share = 0.05;
  o.null_share = 0.05;
  return o;
}

// --- The independent check -----------------------------------------------------------------------------

std::vector<std::filesystem::path> EntityFiles(const std::filesystem::path& dir, const std::string& name) {
  const std::regex pattern(name + "_[0-9]{14}_([0-9]{6})\\.csv");
  std::vector<std::pair<std::string, std::filesystem::path>> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, pattern)) {
      found.emplace_back(m[1].str(), entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::filesystem::path> out;
  for (auto& [n, path] : found) {
    out.push_back(path);
  }
  return out;
}

std::string Joined(const std::vector<std::string>& columns) {
  std::string out;
  for (const auto& c : columns) {
    out += (out.empty() ? "" : ",") + c;
  }
  return out;
}

size_t IndexOf(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

// The reasons of SEMANTICS.md section 2 that apply to `line`, named as EntityMistakeName names them.
std::set<std::string> RejectReasons(const EntitySpec& e, std::string_view line) {
  std::set<std::string> reasons;
  if (!testing::IsValidUtf8(line)) {
    reasons.insert("utf8");
  }
  const auto fields = SplitCsv(line);
  const std::vector<std::string> header = e.input_columns();
  if (!fields || fields->size() != header.size()) {
    reasons.insert("field-count");
    return reasons;
  }
  bool truncate = false;
  if (!e.operation_column.empty()) {
    const auto op = e.OperationOf((*fields)[IndexOf(header, e.operation_column)]);
    if (!op) {
      reasons.insert("operation");
    }
    truncate = op == Operation::kTruncate;
  }
  Datum d;
  for (const auto& k : e.key_columns) {
    const std::string& v = (*fields)[IndexOf(header, k)];
    if (truncate) {
      continue;
    }
    if (v.empty()) {
      reasons.insert("empty-key");
    } else if (ParseDatum(e.TypeOf(k), v, d) != ParseFailure::kNone) {
      reasons.insert("key-type");
    }
  }
  for (const auto& s : e.sequence_columns) {
    const std::string& v = (*fields)[IndexOf(header, s)];
    if (v.empty() || ParseDatum(e.TypeOf(s), v, d) != ParseFailure::kNone) {
      reasons.insert("sequence-type");
    }
  }
  for (const auto& a : e.attribute_columns()) {
    const std::string& v = (*fields)[IndexOf(header, a)];
    if (!v.empty() && ParseDatum(e.TypeOf(a), v, d) != ParseFailure::kNone) {
      reasons.insert("attribute-type");
    }
  }
  return reasons;
}

// The typed identity of some columns of a row: equal values give equal bytes, and the bytes compare as
// the tuple of the values (common's order-preserving encoding).
std::string Encode(const EntitySpec& e, const std::vector<std::string>& header,
                   const std::vector<std::string>& fields, const std::vector<std::string>& columns) {
  std::string out;
  for (const auto& c : columns) {
    const std::string& v = fields[IndexOf(header, c)];
    if (v.empty()) {
      out += std::string("\x01NULL", 5);
      continue;
    }
    Datum d;
    EXPECT_EQ(ParseDatum(e.TypeOf(c), v, d), ParseFailure::kNone) << c << " " << v;
    out += '\x02';
    AppendOrderedBytes(e.TypeOf(c), d, out);
  }
  return out;
}

struct KeySeen {
  std::set<std::string> sequences;
  std::string max_sequence;
  std::vector<std::string> values;  // typed attributes of the latest on-time upsert
  bool live = false;
};

struct Report {
  uint64_t rows = 0, bad = 0, duplicates = 0, inserts = 0, reinserts = 0, scd1 = 0, scd2 = 0, unchanged = 0,
           late = 0, deletes = 0, truncates = 0, attribute_fields = 0, null_fields = 0;
  std::map<std::string, uint64_t> reasons;
  std::set<std::string> keys;
  std::vector<std::string> first_seen_keys;                     // key text in order of first appearance
  std::map<std::string, std::vector<std::string>> ops_by_kind;  // "insert", "update", ... -> op values
  std::vector<std::string> problems;
};

Report Check(const EntitySpec& e, const std::vector<std::filesystem::path>& files) {
  Report r;
  const std::vector<std::string> header = e.input_columns();
  const std::vector<std::string> attributes = e.attribute_columns();
  std::set<std::string> seen_lines;
  std::string previous_line;
  std::map<std::string, KeySeen> keys;
  std::string global_max;
  for (const auto& file : files) {
    bool crlf = false;
    const auto lines = SplitLines(ReadFile(file), &crlf);
    if (!crlf) {
      r.problems.push_back(file.string() + ": a line does not end in CRLF");
    }
    if (lines.empty() || lines[0] != Joined(header)) {
      r.problems.push_back(file.string() + ": header is not " + Joined(header));
      continue;
    }
    for (size_t n = 1; n < lines.size(); ++n) {
      const std::string& line = lines[n];
      const std::string where = file.filename().string() + ":" + std::to_string(n + 1) + ": ";
      ++r.rows;
      const auto reasons = RejectReasons(e, line);
      if (!reasons.empty()) {
        ++r.bad;
        for (const auto& reason : reasons) {
          ++r.reasons[reason];
        }
        continue;
      }
      // With a sequence a duplicate repeats any earlier row (a later row of a key always has another
      // sequence); without one it repeats the row just before it, the only copy that changes nothing.
      const bool duplicate =
          e.sequence_columns.empty() ? line == previous_line : !seen_lines.insert(line).second;
      previous_line = line;
      if (duplicate) {
        ++r.duplicates;
        continue;
      }
      const std::vector<std::string> f = *SplitCsv(line);
      const std::string op = e.operation_column.empty() ? "" : f[IndexOf(header, e.operation_column)];
      const Operation what = e.operation_column.empty() ? Operation::kUpsert : *e.OperationOf(op);
      const std::string seq = Encode(e, header, f, e.sequence_columns);
      if (what == Operation::kTruncate) {
        ++r.truncates;
        r.ops_by_kind["truncate"].push_back(op);
        for (const auto& k : e.key_columns) {
          if (!f[IndexOf(header, k)].empty()) {
            r.problems.push_back(where + "a truncate with a key");
          }
        }
        if (!e.sequence_columns.empty() && !(seq > global_max)) {
          r.problems.push_back(where + "a truncate not after every earlier row");
        }
        global_max = std::max(global_max, seq);
        for (auto& [key, k] : keys) {
          k.live = false;
        }
        previous_line.clear();
        continue;
      }
      std::string key_text;
      for (const auto& k : e.key_columns) {
        key_text += (key_text.empty() ? "" : "|") + f[IndexOf(header, k)];
      }
      const std::string key = Encode(e, header, f, e.key_columns);
      std::vector<std::string> values;
      for (const auto& a : attributes) {
        values.push_back(Encode(e, header, f, {a}));
        ++r.attribute_fields;
        r.null_fields += f[IndexOf(header, a)].empty() ? 1 : 0;
      }
      const bool known = keys.count(key) != 0;
      KeySeen& k = keys[key];
      if (!known) {
        r.first_seen_keys.push_back(key_text);
      }
      r.keys.insert(key);
      bool late = false;
      if (!e.sequence_columns.empty()) {
        if (!k.sequences.insert(seq).second) {
          r.problems.push_back(where + "a sequence that an earlier row of the key has");
        }
        late = known && seq < k.max_sequence;
        if (!late) {
          k.max_sequence = seq;
        }
        global_max = std::max(global_max, seq);
      }
      if (late) {
        ++r.late;
        r.ops_by_kind["late"].push_back(op);
        if (what != Operation::kUpsert) {
          r.problems.push_back(where + "a late delete");
        }
        continue;  // an older version: the key's latest stays what later rows build on
      }
      if (what == Operation::kDelete) {
        ++r.deletes;
        r.ops_by_kind["delete"].push_back(op);
        if (!known || !k.live) {
          r.problems.push_back(where + "a delete of a key without a current version");
        }
        k.live = false;
        continue;
      }
      if (!known) {
        ++r.inserts;
        r.ops_by_kind["insert"].push_back(op);
      } else if (!k.live) {
        ++r.reinserts;
        r.ops_by_kind["reinsert"].push_back(op);
      } else {
        r.ops_by_kind["update"].push_back(op);
        const size_t scd1 = e.scd1_columns.size();
        bool scd1_changed = false, scd2_changed = false;
        for (size_t a = 0; a < values.size(); ++a) {
          (a < scd1 ? scd1_changed : scd2_changed) |= values[a] != k.values[a];
        }
        if (scd2_changed) {
          ++r.scd2;
        } else if (scd1_changed) {
          ++r.scd1;
        } else {
          ++r.unchanged;
        }
      }
      k.values = values;
      k.live = true;
    }
  }
  return r;
}

Result<GenerateStats> GenerateInto(const GenerateOptions& o, const EntitySpec& e,
                                   const std::filesystem::path& dir) {
  StopSignal stop;
  return GenerateEntity(o, e, dir, stop, {});
}

void ExpectShare(uint64_t count, uint64_t rows, double share, double tolerance, const std::string& what) {
  EXPECT_NEAR(static_cast<double>(count) / static_cast<double>(rows), share, tolerance) << what;
}

// --- Tests ---------------------------------------------------------------------------------------------

TEST(GenerateEntityTest, EveryShapeKeepsTheContract) {
  for (const EntitySpec& e : AllShapes()) {
    SCOPED_TRACE(e.name);
    ScratchDir dir("entity_" + e.name);
    const GenerateOptions o = Busy(e);
    Result<GenerateStats> stats = GenerateInto(o, e, dir.path());
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    const auto files = EntityFiles(dir.path(), e.name);
    EXPECT_EQ(stats->files, 4u);
    ASSERT_EQ(files.size(), 4u);
    const Report r = Check(e, files);
    for (size_t i = 0; i < std::min<size_t>(r.problems.size(), 10); ++i) {
      ADD_FAILURE() << r.problems[i];
    }
    EXPECT_EQ(r.rows, 6000u);
    EXPECT_EQ(stats->rows, 6000u);
    // Exactly the rows the generator meant to be bad are bad, for the reasons counted below.
    EXPECT_EQ(r.bad, stats->bad_rows);
    ExpectShare(r.bad, r.rows, 0.05, 0.015, "bad");
    EXPECT_LE(r.keys.size(), o.key_space);
    EXPECT_GE(r.keys.size(), o.key_space * 9 / 10);
    ExpectShare(r.duplicates, r.rows, 0.05, 0.015, "duplicates");
    if (!e.sequence_columns.empty()) {
      ExpectShare(r.late, r.rows, 0.05, 0.015, "late");
    } else {
      EXPECT_EQ(r.late, 0u);
    }
    ExpectShare(r.deletes, r.rows, o.delete_share, 0.015, "deletes");
    ExpectShare(r.truncates, r.rows, o.truncate_share, 0.002, "truncates");
    if (o.delete_share > 0 || o.truncate_share > 0) {
      EXPECT_GT(r.reinserts, 20u);
    }
    // Updates change what --scd2-share says; an entity without one kind of attribute has the other only.
    const double updates = static_cast<double>(r.scd1 + r.scd2);
    if (e.attribute_columns().empty()) {
      EXPECT_EQ(r.scd1 + r.scd2, 0u);
      EXPECT_GT(r.unchanged, 500u);
    } else {
      EXPECT_EQ(r.unchanged, 0u);
      EXPECT_GT(updates, 800);
      const double expected_scd2 = e.scd2_columns.empty() ? 0.0 : e.scd1_columns.empty() ? 1.0 : o.scd2_share;
      EXPECT_NEAR(static_cast<double>(r.scd2) / updates, expected_scd2, 0.05);
      ExpectShare(r.null_fields, r.attribute_fields, 0.05, 0.03, "nulls");
    }
  }
}

TEST(GenerateEntityTest, BadRowsAreBadForTheReasonIntended) {
  for (const EntitySpec& e : AllShapes()) {
    SCOPED_TRACE(e.name);
    GenerateOptions o = Busy(e);
    o.bad_share = 0.3;
    auto made = EntityStream::Make(o, e);
    ASSERT_TRUE(made.ok()) << made.error().message;
    EntityStream& stream = **made;
    std::map<std::string, int> intended;
    for (int i = 0; i < 4000; ++i) {
      Result<EntityRow> row = stream.Next();
      ASSERT_TRUE(row.ok()) << row.error().message;
      const std::string line = row->line.substr(0, row->line.size() - 2);
      ASSERT_EQ(row->line.substr(row->line.size() - 2), "\r\n");
      const auto reasons = RejectReasons(e, line);
      if (row->kind != RowKind::kBad) {
        ASSERT_TRUE(reasons.empty()) << *reasons.begin() << ": " << line;
        continue;
      }
      const std::string mistake = EntityMistakeName(row->mistake);
      ++intended[mistake];
      EXPECT_TRUE(reasons.count(mistake)) << mistake << ": " << line;
    }
    // Every mistake that applies to the entity is made.
    std::set<std::string> expected = {"field-count", "empty-key"};
    bool typed_key = false, typed_attribute = false, text = false;
    for (const auto& k : e.key_columns) {
      (e.TypeOf(k).kind == TypeKind::kText ? text : typed_key) = true;
    }
    for (const auto& a : e.attribute_columns()) {
      (e.TypeOf(a).kind == TypeKind::kText ? text : typed_attribute) = true;
    }
    if (typed_key)
      expected.insert("key-type");
    if (typed_attribute)
      expected.insert("attribute-type");
    if (text)
      expected.insert("utf8");
    if (!e.sequence_columns.empty())
      expected.insert("sequence-type");
    if (!e.operation_column.empty())
      expected.insert("operation");
    std::set<std::string> made_mistakes;
    for (const auto& [m, n] : intended) {
      EXPECT_GT(n, 20) << m;
      made_mistakes.insert(m);
    }
    EXPECT_EQ(made_mistakes, expected);
  }
}

TEST(GenerateEntityTest, SameSeedSameBytesWhateverTheFileSize) {
  for (const EntitySpec& e : {Accounts(), Measurements()}) {
    SCOPED_TRACE(e.name);
    ScratchDir a("same_a_" + e.name), b("same_b_" + e.name), c("same_c_" + e.name);
    GenerateOptions o = Busy(e);
    o.rows = 3000;
    o.rows_per_file = 1000;
    ASSERT_TRUE(GenerateInto(o, e, a.path()).ok());
    o.rows_per_file = 700;
    ASSERT_TRUE(GenerateInto(o, e, b.path()).ok());
    o.seed = 7;
    ASSERT_TRUE(GenerateInto(o, e, c.path()).ok());
    auto rows = [&](const std::filesystem::path& dir, size_t files) {
      const auto found = EntityFiles(dir, e.name);
      EXPECT_EQ(found.size(), files);
      std::string all;
      for (const auto& f : found) {
        const std::string content = ReadFile(f);
        EXPECT_EQ(content.substr(0, content.find('\n') + 1), Joined(e.input_columns()) + "\r\n");
        all += content.substr(content.find('\n') + 1);
      }
      return all;
    };
    const std::string ra = rows(a.path(), 3);
    EXPECT_EQ(ra, rows(b.path(), 5));
    EXPECT_NE(ra, rows(c.path(), 5));
  }
}

TEST(GenerateEntityTest, TextKeysLookReal) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const std::regex sku("[A-Z]{3}-[0-9]{6}");
  const std::regex code("[0-9A-Z]{6}");
  auto first_keys = [](EntitySpec e, uint64_t rows) {
    GenerateOptions o = Quiet();
    auto stream = EntityStream::Make(o, e);
    EXPECT_TRUE(stream.ok());
    std::vector<std::string> keys;
    for (uint64_t i = 0; i < rows; ++i) {
      const std::string line = (*stream)->Next()->line;
      keys.push_back((*SplitCsv(line.substr(0, line.size() - 2)))[0]);
    }
    return keys;
  };
  EntitySpec e = Products();
  e.key_columns = {"device_uuid"};
  for (const auto& k : first_keys(e, 200)) {
    ASSERT_TRUE(std::regex_match(k, uuid)) << k;
  }
  e.key_columns = {"sku"};
  const auto skus = first_keys(e, 200);
  EXPECT_EQ(skus[0], "SKU-000000");
  for (const auto& k : skus) {
    ASSERT_TRUE(std::regex_match(k, sku)) << k;
  }
  e.key_columns = {"country_code"};
  const auto codes = first_keys(e, 2000);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());
  for (const auto& k : codes) {
    ASSERT_TRUE(std::regex_match(k, code)) << k;
  }
  // A key called only "id" takes its shape from the entity's name: all three appear over a few names.
  std::set<int> shapes;
  for (const std::string name : {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}) {
    EntitySpec other = Products();
    other.name = name;
    other.key_columns = {"id"};
    const std::string k = first_keys(other, 1)[0];
    shapes.insert(std::regex_match(k, uuid)   ? 0
                  : std::regex_match(k, sku)  ? 1
                  : std::regex_match(k, code) ? 2
                                              : 3);
  }
  EXPECT_EQ(shapes, (std::set<int>{0, 1, 2}));
}

TEST(GenerateEntityTest, CompositeKeysCombineATenantWithAnId) {
  ScratchDir dir("composite");
  const EntitySpec e = Accounts();
  GenerateOptions o = Quiet();
  o.rows = 2000;
  o.first_key = 500;
  o.key_space = 300;
  o.update_share = 0.5;
  o.delete_share = 0.1;
  ASSERT_TRUE(GenerateInto(o, e, dir.path()).ok());
  const Report r = Check(e, EntityFiles(dir.path(), e.name));
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_EQ(r.keys.size(), 300u);
  std::set<std::string> tenants;
  std::set<int64_t> ids;
  for (const auto& key : r.first_seen_keys) {
    tenants.insert(key.substr(0, key.find('|')));
    ids.insert(std::stoll(key.substr(key.find('|') + 1)));
  }
  EXPECT_GE(tenants.size(), 3u);
  EXPECT_LE(tenants.size(), 8u);
  EXPECT_EQ(*ids.begin(), 500);
  EXPECT_LT(*ids.rbegin(), 500 + 300);
  // Inserts and updates say so in the entity's own words, in any case.
  auto upper = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    return s;
  };
  for (const auto& op : r.ops_by_kind.at("insert")) {
    EXPECT_EQ(upper(op), "INSERT");
  }
  for (const auto& op : r.ops_by_kind.at("update")) {
    EXPECT_EQ(upper(op), "UPDATE");
  }
  for (const auto& op : r.ops_by_kind.at("delete")) {
    EXPECT_EQ(upper(op), "DELETE");
  }
}

TEST(GenerateEntityTest, BigintKeysCountUpFromTheFirstKey) {
  ScratchDir dir("bigint_keys");
  const EntitySpec e = Tags();
  GenerateOptions o = Quiet();
  o.rows = 1000;
  o.first_key = 42;
  const Report r = [&] {
    EXPECT_TRUE(GenerateInto(o, e, dir.path()).ok());
    return Check(e, EntityFiles(dir.path(), e.name));
  }();
  ASSERT_EQ(r.first_seen_keys.size(), 1000u);
  for (size_t i = 0; i < r.first_seen_keys.size(); ++i) {
    ASSERT_EQ(r.first_seen_keys[i], std::to_string(42 + i));
  }
}

TEST(GenerateEntityTest, DebeziumOperations) {
  ScratchDir dir("debezium");
  const EntitySpec e = Devices();
  const GenerateOptions o = Busy(e);
  ASSERT_TRUE(GenerateInto(o, e, dir.path()).ok());
  const Report r = Check(e, EntityFiles(dir.path(), e.name));
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  auto values = [&](const std::string& kind) {
    std::set<std::string> out;
    for (const auto& op : r.ops_by_kind.at(kind)) {
      std::string lower = op;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](char c) { return static_cast<char>(std::tolower(c)); });
      out.insert(lower);
    }
    return out;
  };
  EXPECT_EQ(values("insert"), (std::set<std::string>{"c", "r"}));
  EXPECT_EQ(values("reinsert"), (std::set<std::string>{"c", "r"}));
  EXPECT_EQ(values("update"), std::set<std::string>{"u"});
  EXPECT_EQ(values("late"), std::set<std::string>{"u"});
  EXPECT_EQ(values("delete"), std::set<std::string>{"d"});
  EXPECT_EQ(values("truncate"), std::set<std::string>{"t"});
}

TEST(GenerateEntityTest, SequencesLookLikeTheirSources) {
  // A bigint alone: a counter that a few rows of different keys share, like a log sequence number.
  {
    GenerateOptions o = Quiet();
    auto made = EntityStream::Make(o, Devices());
    ASSERT_TRUE(made.ok());
    auto stream = std::move(made).value();
    std::vector<int64_t> lsn;
    for (int i = 0; i < 1000; ++i) {
      const std::string line = stream->Next()->line;
      lsn.push_back(std::stoll((*SplitCsv(line.substr(0, line.size() - 2)))[6]));
    }
    EXPECT_TRUE(std::is_sorted(lsn.begin(), lsn.end()));
    EXPECT_LT(std::set<int64_t>(lsn.begin(), lsn.end()).size(), 800u);  // shared values
  }
  // Two columns: the second counts within the first.
  {
    GenerateOptions o = Quiet();
    o.update_share = 0.5;
    auto made = EntityStream::Make(o, Accounts());
    ASSERT_TRUE(made.ok());
    auto stream = std::move(made).value();
    std::vector<std::pair<int64_t, int64_t>> seq;
    for (int i = 0; i < 1000; ++i) {
      const std::string line = stream->Next()->line;
      const auto f = *SplitCsv(line.substr(0, line.size() - 2));
      seq.emplace_back(std::stoll(f[9]), std::stoll(f[10]));
    }
    EXPECT_EQ(seq.front().second, 1);
    for (size_t i = 1; i < seq.size(); ++i) {
      ASSERT_TRUE(seq[i] > seq[i - 1]);
      if (seq[i].first == seq[i - 1].first) {
        ASSERT_EQ(seq[i].second, seq[i - 1].second + 1);
      } else {
        ASSERT_EQ(seq[i].second, 1);
      }
    }
  }
  // A timestamp alone: from --start-time, 1 ms to 2 s a row.
  {
    GenerateOptions o = Quiet();
    o.start_time = "2024-02-29T23:59:59Z";
    auto made = EntityStream::Make(o, Products());
    ASSERT_TRUE(made.ok());
    auto stream = std::move(made).value();
    std::optional<Micros> last;
    for (int i = 0; i < 1000; ++i) {
      const std::string line = stream->Next()->line;
      const auto t = ParseTimestamp((*SplitCsv(line.substr(0, line.size() - 2)))[7]);
      ASSERT_TRUE(t.has_value());
      if (!last) {
        EXPECT_EQ(*t, *ParseTimestamp(o.start_time));
      } else {
        EXPECT_GE(*t - *last, 1000);
        EXPECT_LE(*t - *last, 2000000);
      }
      last = t;
    }
  }
}

TEST(GenerateEntityTest, TypedValuesVaryTheirSpelling) {
  ScratchDir dir("spelling");
  const EntitySpec e = Measurements();
  GenerateOptions o = Quiet();
  o.rows = 4000;
  o.update_share = 0.3;
  ASSERT_TRUE(GenerateInto(o, e, dir.path()).ok());
  const auto header = e.input_columns();
  std::set<std::string> booleans;
  int decimals_exact = 0, decimals_other = 0, offsets = 0, exponents = 0;
  for (const auto& file : EntityFiles(dir.path(), e.name)) {
    bool crlf = false;
    const auto lines = SplitLines(ReadFile(file), &crlf);
    for (size_t n = 1; n < lines.size(); ++n) {
      const auto f = *SplitCsv(lines[n]);
      booleans.insert(f[IndexOf(header, "is_valid")]);
      const std::string& amount = f[IndexOf(header, "amount")];
      const size_t point = amount.find('.');
      (point != std::string::npos && amount.size() - point - 1 == 4 ? decimals_exact : decimals_other) += 1;
      const std::string& t = f[IndexOf(header, "recorded_at")];
      offsets +=
          t.size() > 19 && (t.find('+', 19) != std::string::npos || t.find('-', 19) != std::string::npos);
      const std::string& reading = f[IndexOf(header, "reading")];
      exponents += reading.find_first_of("eE") != std::string::npos;
    }
  }
  EXPECT_GE(booleans.size(), 6u);  // several spellings of true and false
  EXPECT_GT(decimals_exact, 2000);
  EXPECT_GT(decimals_other, 100);  // trailing zeros dropped or added
  EXPECT_GT(offsets, 30);
  EXPECT_GT(exponents, 30);
}

TEST(GenerateEntityTest, RefusesWhatCannotApplyWithoutTouchingAnything) {
  ScratchDir dir("refuse");
  const auto landing = dir.path() / "landing";
  struct Case {
    EntitySpec entity;
    GenerateOptions options;
    std::string needle;
  };
  std::vector<Case> cases;
  GenerateOptions late = Quiet();
  late.late_share = 0.1;
  cases.push_back({Tags(), late, "--late-share"});
  GenerateOptions deletes = Quiet();
  deletes.delete_share = 0.1;
  cases.push_back({Tags(), deletes, "--delete-share"});
  EntitySpec no_deletes = Products();
  no_deletes.delete_values = {};
  cases.push_back({no_deletes, deletes, "--delete-share"});
  GenerateOptions truncates = Quiet();
  truncates.truncate_share = 0.1;
  cases.push_back({Products(), truncates, "--truncate-share"});
  EntitySpec pattern = Products();
  pattern.file_pattern = "products/*.csv";
  cases.push_back({pattern, Quiet(), "file_pattern"});
  EntitySpec boolean = Products();
  boolean.types["updated_at"] = Type("boolean");
  cases.push_back({boolean, Quiet(), "boolean"});
  EntitySpec no_upserts = Products();
  no_upserts.upsert_values = {};
  cases.push_back({no_upserts, Quiet(), "upsert_values"});
  EntitySpec narrow = Products();
  narrow.key_columns = {"code"};
  narrow.types = {{"code", Type("decimal(3,0)")}};
  GenerateOptions far = Quiet();
  far.first_key = 5000;
  cases.push_back({narrow, far, "--first-key"});
  GenerateOptions shares = Quiet();
  shares.update_share = 0.6;
  shares.truncate_share = 0.5;
  cases.push_back({Devices(), shares, "at most 1"});
  EntitySpec invalid = Products();
  invalid.name = "Bad Name";
  cases.push_back({invalid, Quiet(), "not a valid name"});
  for (const Case& c : cases) {
    Result<GenerateStats> r = GenerateInto(c.options, c.entity, landing);
    ASSERT_FALSE(r.ok()) << c.needle;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(std::filesystem::exists(landing));
  // What fits is accepted: a pattern that matches, truncates with truncate values.
  EntitySpec matching = Devices();
  matching.file_pattern = "device_*";
  GenerateOptions ok = Busy(matching);
  ok.rows = 100;
  EXPECT_TRUE(GenerateInto(ok, matching, landing).ok());
  // The built-in customers have no truncate values either.
  StopSignal stop;
  const auto customers = Generate(truncates, landing, stop, {});
  ASSERT_FALSE(customers.ok());
  EXPECT_NE(customers.error().message.find("--truncate-share"), std::string::npos);
}

TEST(GenerateEntityTest, ASequenceThatRunsOutEndsTheRun) {
  ScratchDir dir("runs_out");
  EntitySpec e = Products();
  e.types["updated_at"] = Type("decimal(3,0)");
  GenerateOptions o = Quiet();
  o.rows = 20000;
  o.rows_per_file = 1000;
  o.update_share = 0.9;
  o.key_space = 10;
  const auto r = GenerateInto(o, e, dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(r.error().message.find("updated_at"), std::string::npos) << r.error().message;
  // What was published before is whole; nothing half-written stays.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_NE(entry.path().filename().string().front(), '.') << entry.path();
  }
}

TEST(GenerateEntityTest, StopsPromptlyAndKeepsEveryCountedRow) {
  ScratchDir dir("entity_stop");
  const EntitySpec e = Accounts();
  GenerateOptions o = Quiet();
  o.rows = 0;
  o.rate = 400;
  o.rows_per_file = 50;
  StopSignal stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.Request();
  });
  std::vector<std::filesystem::path> announced;
  Result<GenerateStats> r = GenerateEntity(o, e, dir.path(), stop,
                                           [&](const auto& path, const auto&) { announced.push_back(path); });
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GE(r->rows, 40u);
  EXPECT_EQ(announced, EntityFiles(dir.path(), e.name));
  EXPECT_EQ(Check(e, announced).rows, r->rows);
}

// Random declarations: every type in every role, several operation vocabularies. Whatever the shape, the
// files keep the contract (the same check as above).
TEST(GenerateEntityTest, RandomDeclarationsKeepTheContract) {
  const std::vector<std::string> types = {"text",           "bigint",       "double",  "decimal(10,2)",
                                          "decimal(38,10)", "decimal(4,4)", "boolean", "date",
                                          "timestamp",      "decimal(18,0)"};
  const std::vector<std::string> names = {
      "email",      "first_name", "last_name", "city",  "state",  "price",    "amount",      "is_active",
      "birth_date", "created_at", "lat",       "lon",   "status", "quantity", "note",        "tier",
      "country",    "label",      "discount",  "score", "phone",  "street",   "valid_until", "x"};
  Rng rng(2024);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng.Uniform(v.size())]; };
  int generated = 0;
  for (int n = 0; n < 60; ++n) {
    EntitySpec e;
    e.name = "random" + std::to_string(n);
    e.types.clear();
    std::set<std::string> used;
    auto column = [&](const std::string& base) {
      std::string name = base;
      for (int k = 2; !used.insert(name).second; ++k) {
        name = base + "_" + std::to_string(k);
      }
      return name;
    };
    auto typed = [&](const std::string& name, bool boolean_ok) {
      std::string t = pick(types);
      while (!boolean_ok && t == "boolean") {
        t = pick(types);
      }
      if (t != "text") {
        e.types[name] = Type(t);
      }
    };
    e.key_columns.clear();
    for (uint64_t k = 0, count = rng.Between(1, 3); k < count; ++k) {
      e.key_columns.push_back(column(k == 0 ? "id" : pick({"tenant", "line_no", "region", "code"})));
      typed(e.key_columns.back(), true);
    }
    e.scd1_columns.clear();
    e.scd2_columns.clear();
    for (uint64_t a = 0, count = rng.Uniform(5); a < count; ++a) {
      e.scd1_columns.push_back(column(pick(names)));
      typed(e.scd1_columns.back(), true);
    }
    for (uint64_t a = 0, count = rng.Uniform(5); a < count; ++a) {
      e.scd2_columns.push_back(column(pick(names)));
      typed(e.scd2_columns.back(), true);
    }
    e.sequence_columns.clear();
    for (uint64_t q = 0, count = rng.Uniform(3); q < count; ++q) {
      e.sequence_columns.push_back(column(q == 0 ? "seq" : "seq_pos"));
      typed(e.sequence_columns.back(), q > 0);
      if (e.TypeOf(e.sequence_columns.back()).kind == TypeKind::kDecimal &&
          e.TypeOf(e.sequence_columns.back()).precision < 10) {
        e.types[e.sequence_columns.back()] = Type("decimal(12,2)");  // room for a few thousand rows
      }
    }
    switch (rng.Uniform(5)) {
      case 0:
        e.operation_column = "";
        e.truncate_values = {};
        break;
      case 1:
        break;  // I, U, empty; D
      case 2:
        e.upsert_values = {"INSERT", "UPDATE"};
        e.delete_values = {"DELETE"};
        break;
      case 3:
        e.upsert_values = {"c", "u", "r"};
        e.delete_values = {"d"};
        e.truncate_values = {"t"};
        break;
      default:
        e.upsert_values = {""};
        e.delete_values = {"X"};
        e.truncate_values = {"TRUNCATE"};
        break;
    }
    ASSERT_TRUE(e.Validate().ok()) << e.Validate().error().message;
    SCOPED_TRACE(e.name + ": " + Joined(e.input_columns()));
    GenerateOptions o = Busy(e);
    o.rows = 1500;
    o.rows_per_file = 1500;  // one file (and one fsync) each keeps the test fast
    o.key_space = 200;
    o.truncate_share = e.truncate_values.empty() ? 0 : 0.01;
    ScratchDir dir("random_" + e.name);
    Result<GenerateStats> stats = GenerateInto(o, e, dir.path());
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    ++generated;
    const Report r = Check(e, EntityFiles(dir.path(), e.name));
    for (size_t i = 0; i < std::min<size_t>(r.problems.size(), 5); ++i) {
      ADD_FAILURE() << r.problems[i];
    }
    EXPECT_EQ(r.rows, 1500u);
    EXPECT_EQ(r.bad, stats->bad_rows);
    EXPECT_LE(r.keys.size(), 200u);
    if (!e.attribute_columns().empty()) {
      EXPECT_EQ(r.unchanged, 0u);
    }
  }
  EXPECT_EQ(generated, 60);
}

TEST(GenerateFlagsTest, ParsesTheTruncateShare) {
  CLI::App app;
  GenerateOptions o;
  AddGenerateFlags(app, o);
  app.parse("--truncate-share 0.02", false);
  EXPECT_DOUBLE_EQ(o.truncate_share, 0.02);
  EXPECT_TRUE(ValidateGenerateOptions(o).ok());
  for (const char* args : {"--truncate-share 1.5", "--truncate-share -0.1"}) {
    CLI::App other;
    GenerateOptions p;
    AddGenerateFlags(other, p);
    EXPECT_THROW(other.parse(args, false), CLI::ParseError) << args;
  }
}

}  // namespace
}  // namespace dimstream

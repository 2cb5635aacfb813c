#include "loader/record_parser.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace dimstream {
namespace {

ParsedObject Parse(std::string_view csv, ParseOptions options = {}, const EntitySpec& entity = EntitySpec{}) {
  ParsedObject out;
  ParseObject(csv, entity, options, out);
  return out;
}

// Attribute `attr` (SCD1 then SCD2 order) of the customer entity, as text.
std::string Attr(const ParsedObject& p, size_t attr, size_t row) {
  const TypedColumn& c = p.rows.columns[1 + attr];
  return c.valid[row] ? std::string(c.texts[row]) : "<NULL>";
}

int64_t Key(const ParsedObject& p, size_t row) {
  return p.rows.columns[0].ints[row];
}

// updated_at of the customer entity (the column after the attributes).
std::optional<Micros> EventTime(const ParsedObject& p, size_t row) {
  const TypedColumn& c = p.rows.columns[8];
  return c.valid[row] ? std::optional<Micros>(c.ints[row]) : std::nullopt;
}

EntitySpec Declared(const std::string& toml) {
  auto c = ParseConfig(toml, "test.toml");
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? c->entities.front() : EntitySpec{};
}

TEST(RecordParserTest, SeedFormatLoads) {
  auto p = Parse(
      "customer_id,first_name,last_name,email,street,city,state,country\r\n"
      "0,Mia,Moore,dmejia@example.com,952 Campbell Shores Apt. 622,Davidside,Wyoming,Moldova\r\n"
      "1,\"O'Brien, Jr\",\"Say \"\"hi\"\"\",,\"1 Main St\r\nRear\",Zoë,,Chile\r\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_TRUE(p.rejects.empty());
  EXPECT_EQ(Key(p, 1), 1);
  EXPECT_EQ(Attr(p, 0, 1), "O'Brien, Jr");
  EXPECT_EQ(Attr(p, 1, 1), "Say \"hi\"");
  EXPECT_EQ(Attr(p, 2, 1), "<NULL>");
  EXPECT_EQ(Attr(p, 3, 1), "1 Main St\r\nRear");
  EXPECT_EQ(Attr(p, 4, 1), "Zoë");
  EXPECT_EQ(p.rows.line[0], 2u);
  EXPECT_EQ(p.rows.line[1], 3u);
  EXPECT_EQ(p.rows.op[0], Operation::kUpsert);
  EXPECT_FALSE(p.rows.has_sequence);
}

TEST(RecordParserTest, ColumnsByNameInAnyOrderAndCase) {
  auto p = Parse(
      "Country,CUSTOMER_ID,City,Op,Updated_At\n"
      "Peru,7,Lima,d,2025-01-01T10:00:00+02:00\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(Key(p, 0), 7);
  EXPECT_EQ(Attr(p, 6, 0), "Peru");
  EXPECT_EQ(Attr(p, 4, 0), "Lima");
  EXPECT_EQ(Attr(p, 0, 0), "<NULL>");  // missing column: NULL for every row
  EXPECT_EQ(p.rows.op[0], Operation::kDelete);
  ASSERT_TRUE(p.rows.has_sequence);
  EXPECT_EQ(EventTime(p, 0), 1735718400LL * 1000000);  // 08:00 UTC
  EXPECT_EQ(p.rows.SeqKey(0), OrderedTimestamp(1735718400LL * 1000000));
  EXPECT_EQ(p.rows.key_id[0], 7u);  // one bigint key: the key itself
}

TEST(RecordParserTest, BadRowsAreRejectedWithReasonsAndTheRestLoads) {
  auto p = Parse(
      "customer_id,first_name,updated_at,op\n"
      "1,Ann,2025-01-01,I\n"
      "2,Bob\n"
      "x3,Cy,2025-01-01,U\n"
      ",Di,2025-01-01,U\n"
      "5,Ed,,U\n"
      "6,Flo,not a date,U\n"
      "7,Gus,2025-01-01,X\n"
      "8,\xff\xfe,2025-01-01,U\n"
      " +09 ,Hal,2025-01-01,\n");
  ASSERT_FALSE(p.failed);
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(Key(p, 0), 1);
  EXPECT_EQ(Key(p, 1), 9);  // surrounding spaces are not part of a number
  EXPECT_EQ(p.rows.op[1], Operation::kUpsert);
  ASSERT_EQ(p.rejects.size(), 7u);
  EXPECT_EQ(p.rejects[0].line, 3u);
  EXPECT_EQ(p.rejects[0].reason, "line 3 has 2 fields, the header has 4");
  EXPECT_EQ(p.rejects[0].raw, "2,Bob");
  EXPECT_EQ(p.rejects[1].reason, "line 4: key \"customer_id\" is \"x3\", not a bigint");
  EXPECT_EQ(p.rejects[2].reason, "line 5: key \"customer_id\" is empty");
  EXPECT_EQ(p.rejects[3].reason, "line 6: sequence \"updated_at\" is empty");
  EXPECT_NE(p.rejects[4].reason.find("line 7: updated_at \"not a date\" is not an ISO-8601 timestamp"),
            std::string::npos)
      << p.rejects[4].reason;
  EXPECT_EQ(p.rejects[5].reason, "line 8: op \"X\" is not an operation (upsert: I, U, empty; delete: D)");
  EXPECT_EQ(p.rejects[6].reason, "line 9: first_name is not valid UTF-8");
  EXPECT_EQ(p.rejects[6].raw, "8,\\xFF\\xFE,2025-01-01,U");
}

TEST(RecordParserTest, WholeFileFailures) {
  EXPECT_EQ(Parse("").error, "the file is empty: a header row is required");
  auto no_key = Parse("id,first_name\n1,A\n");
  EXPECT_TRUE(no_key.failed);
  EXPECT_NE(no_key.error.find("no 'customer_id' column"), std::string::npos);
  auto semicolon = Parse("customer_id;first_name\n1;A\n");
  EXPECT_TRUE(semicolon.failed);
  EXPECT_NE(semicolon.error.find("delimited by ';'"), std::string::npos);
  auto dup = Parse("customer_id,city,City\n1,a,b\n");
  EXPECT_TRUE(dup.failed);
  EXPECT_NE(dup.error.find("'city' twice"), std::string::npos);
  auto binary = Parse(std::string("\x00\x01\xff\xfe garbage", 12));
  EXPECT_TRUE(binary.failed);
}

// Hostile input (tests/hostile): lines ended by CR alone, header names that clash, NUL bytes, and a line
// made of delimiters.
TEST(RecordParserTest, LinesEndedByCrAloneFailTheFile) {
  // Read as one header line, the rows would vanish into it; the file fails whole and says why.
  auto p = Parse("customer_id,city\r1,Paris\r2,Lyon\r");
  EXPECT_TRUE(p.failed);
  EXPECT_NE(p.error.find("carriage return"), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("LF or CRLF"), std::string::npos) << p.error;
  // Values that repeat must not turn it into a confusing duplicate-column error instead.
  auto q = Parse("customer_id,city\r1,c\r2,c\r");
  EXPECT_NE(q.error.find("carriage return"), std::string::npos) << q.error;
  // CRLF is a line ending, not a CR inside the header.
  EXPECT_FALSE(Parse("customer_id,city\r\n1,Paris\r\n").failed);
}

TEST(RecordParserTest, DuplicateHeaderNamesSayWhichColumns) {
  auto dup = Parse("customer_id,city,email,CITY \n1,a,b,c\n");
  EXPECT_TRUE(dup.failed);
  EXPECT_EQ(dup.error, "the header names column 'city' twice (columns 2 and 4)");
  auto unnamed = Parse("customer_id,city,,\n1,a,,\n");
  EXPECT_TRUE(unnamed.failed);
  EXPECT_NE(unnamed.error.find("more than one column without a name (columns 3 and 4)"), std::string::npos)
      << unnamed.error;
  // One unnamed column is fine: it is not one of the entity's, so it is ignored.
  auto one = Parse("customer_id,city,\n1,a,\n2,b\n");
  EXPECT_FALSE(one.failed) << one.error;
  EXPECT_EQ(one.rows.size(), 1u);
  ASSERT_EQ(one.rejects.size(), 1u);
  EXPECT_EQ(one.rejects[0].reason, "line 3 has 2 fields, the header has 3");
  // Many distinct columns are mapped in linear time (this took minutes with a quadratic scan).
  std::string header = "customer_id";
  std::string row = "1";
  for (int i = 0; i < 200000; ++i) {
    header += ",c" + std::to_string(i);
    row += ",";
  }
  auto wide = Parse(header + "\n" + row + "\n");
  EXPECT_FALSE(wide.failed) << wide.error;
  EXPECT_EQ(wide.rows.size(), 1u);
}

TEST(RecordParserTest, NulBytesLoadAsDataAndAreEscapedInRejects) {
  const std::string csv("customer_id,first_name\n1,a\0b\n\0,x\n", 33);  // the rows point into it
  auto p = Parse(csv);
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(Attr(p, 0, 0), std::string("a\0b", 3));
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_EQ(p.rejects[0].raw, "\\x00,x");
  EXPECT_EQ(p.rejects[0].reason, "line 3: key \"customer_id\" is \"\\x00\", not a bigint");
  EXPECT_EQ(PrintableUtf8(std::string("a\0", 2), 4), "a");  // an escape is never cut in half
}

TEST(RecordParserTest, LineOfDelimitersIsRejectedNotHeldInMemory) {
  // A line of 2 MiB commas would be two million fields: rejected (with its text cut) instead of costing
  // 16 bytes per comma; the rows around it load.
  std::string commas(2 << 20, ',');
  auto p = Parse("customer_id,city\n1,a\n2" + commas + "\n3,b\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(Key(p, 1), 3);
  EXPECT_EQ(p.rows.line[1], 4u);
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_EQ(p.rejects[0].line, 3u);
  EXPECT_EQ(p.rejects[0].reason, "line 3 has more than 1048576 fields");
  EXPECT_EQ(p.rejects[0].raw.size(), 65536u);
  // In the header it fails the file.
  auto h = Parse("customer_id" + commas + "\n1\n");
  EXPECT_TRUE(h.failed);
  EXPECT_EQ(h.error, "cannot read the header: line 1 has more than 1048576 fields");
}

TEST(RecordParserTest, HeaderOnlyLoadsNothing) {
  auto p = Parse("customer_id,first_name\r\n");
  EXPECT_FALSE(p.failed);
  EXPECT_EQ(p.rows.size(), 0u);
  EXPECT_TRUE(p.rejects.empty());
}

TEST(RecordParserTest, AbortStopsAtFirstReject) {
  ParseOptions o;
  o.stop_at_first_reject = true;
  auto p = Parse("customer_id\n1\nx\ny\n2\n", o);
  EXPECT_EQ(p.rejects.size(), 1u);
}

TEST(RecordParserTest, RejectTextIsCut) {
  ParseOptions o;
  o.max_reject_bytes = 100;
  std::string long_row = "x" + std::string(1000, 'a');
  auto p = Parse("customer_id\n" + long_row + "\n", o);
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_LE(p.rejects[0].raw.size(), 100u);
}

TEST(RecordParserTest, Hashes) {
  HashInput null_value;
  HashInput empty{"", false};
  HashInput a{"a", false};
  HashInput ab{"ab", false};
  HashInput b{"b", false};
  EXPECT_NE(HashValues({null_value}), HashValues({empty}));
  EXPECT_NE(HashValues({a, b}), HashValues({ab, null_value}));
  EXPECT_EQ(HashValues({a, null_value}), HashValues({a, null_value}));
}

// SEMANTICS.md section 1: a declared entity's columns are typed; section 2: a row is rejected with every
// reason that applies to it.
TEST(RecordParserTest, DeclaredTypesAndEveryReason) {
  EntitySpec e = Declared(R"toml(
[entity]
name = "orders"
key_columns = ["tenant_id", "order_id"]
scd1_columns = ["note"]
scd2_columns = ["status", "amount", "ship_date", "paid"]
sequence_columns = ["lsn", "seq_in_tx"]
operation_column = "op"
delete_values = ["d", "DELETE"]
upsert_values = ["c", "u", "r", "INSERT", "UPDATE", ""]
truncate_values = ["t", "TRUNCATE"]
[entity.types]
order_id = "bigint"
amount = "decimal(10,2)"
ship_date = "date"
paid = "boolean"
lsn = "bigint"
seq_in_tx = "bigint"
)toml");
  auto p = Parse(
      "tenant_id,order_id,note,status,amount,ship_date,paid,lsn,seq_in_tx,op,extra\n"
      "acme,7,hi,open,12.50,2025-01-02,yes,100,1,c,x\n"
      ",x7,,open,\"12,5\",2025-13-01,maybe,100,,X,y\n"
      ",,,,,,,200,1, truncate ,\n"
      "acme,8,,open,1.505,2025-01-02,t,abc,2,INSERT,\n",
      {}, e);
  ASSERT_FALSE(p.failed) << p.error;
  EXPECT_EQ(p.ignored_columns, 1u);
  ASSERT_EQ(p.rows.size(), 2u);
  ASSERT_EQ(p.rejects.size(), 2u);
  EXPECT_EQ(
      p.rejects[0].reason,
      "line 3: op \"X\" is not an operation (upsert: c, u, r, INSERT, UPDATE, empty; delete: d, DELETE; "
      "truncate: t, TRUNCATE); key \"tenant_id\" is empty; key \"order_id\" is \"x7\", not a bigint; amount "
      "\"12,5\" is not a decimal(10,2); ship_date \"2025-13-01\" is not a date (YYYY-MM-DD); paid \"maybe\" "
      "is not a boolean (true/false, t/f, 1/0 or yes/no); sequence \"seq_in_tx\" is "
      "empty");
  EXPECT_NE(
      p.rejects[1].reason.find("line 5: amount \"1.505\" is not a decimal(10,2) (it would need rounding"),
      std::string::npos)
      << p.rejects[1].reason;
  EXPECT_NE(p.rejects[1].reason.find("lsn \"abc\" is not a bigint"), std::string::npos)
      << p.rejects[1].reason;
  // The accepted rows, typed.
  const RawRows& r = p.rows;
  EXPECT_EQ(r.op[0], Operation::kUpsert);
  EXPECT_EQ(r.columns[0].texts[0], "acme");
  EXPECT_EQ(r.columns[1].ints[0], 7);
  EXPECT_EQ(r.columns[4].ints[0], 1250);  // decimal(10,2): the unscaled value
  EXPECT_EQ(r.columns[6].ints[0], 1);     // yes
  EXPECT_EQ(r.columns[9].texts[0], "c");  // the operation as the file spells it
  // A truncate: its key columns are not read (NULL), its key id is 0; the sequence still orders it.
  EXPECT_EQ(r.op[1], Operation::kTruncate);
  EXPECT_FALSE(r.columns[0].valid[1]);
  EXPECT_FALSE(r.columns[1].valid[1]);
  EXPECT_EQ(r.key_id[1], 0u);
  EXPECT_LT(r.SeqKey(0), r.SeqKey(1));
  // The key id of a composite key is a hash of the key's encoding: the same key, the same id.
  auto again = Parse("order_id,tenant_id,lsn,seq_in_tx\n0007,acme,1,1\n8,acme,1,1\n", {}, e);
  ASSERT_EQ(again.rows.size(), 2u);
  EXPECT_EQ(again.rows.key_id[0], r.key_id[0]);
  EXPECT_NE(again.rows.key_id[1], r.key_id[0]);
}

TEST(RecordParserTest, SequenceColumnsMissingFromAFile) {
  EntitySpec lsn = Declared(
      "[entity]\nkey_columns = [\"id\"]\nscd1_columns = [\"a\"]\nscd2_columns = []\n"
      "sequence_column = \"lsn\"\n[entity.types]\nlsn = \"bigint\"\n");
  auto p = Parse("id,a\n1,x\n", {}, lsn);
  EXPECT_TRUE(p.failed);
  EXPECT_NE(p.error.find("no 'lsn' column (the sequence)"), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("only a single timestamp sequence"), std::string::npos) << p.error;
  // A single timestamp sequence falls back to the load's commit time.
  EntitySpec ts = Declared(
      "[entity]\nkey_columns = [\"id\"]\nscd1_columns = [\"a\"]\nscd2_columns = []\n"
      "sequence_column = \"changed\"\n");
  auto q = Parse("id,a\n1,x\n", {}, ts);
  ASSERT_FALSE(q.failed) << q.error;
  EXPECT_FALSE(q.rows.has_sequence);
  EXPECT_TRUE(q.rows.seq_keys.empty());
  // Of two sequence columns, a file has both or none.
  EntitySpec two = Declared(
      "[entity]\nkey_columns = [\"id\"]\nscd1_columns = [\"a\"]\nscd2_columns = []\n"
      "sequence_columns = [\"lsn\", \"pos\"]\n[entity.types]\nlsn = \"bigint\"\npos = \"bigint\"\n");
  auto half = Parse("id,a,lsn\n1,x,5\n", {}, two);
  EXPECT_TRUE(half.failed);
  EXPECT_NE(half.error.find("no 'pos' column"), std::string::npos) << half.error;
  // A text key: any text, compared byte-wise; "ABC" and "abc" are two keys.
  EntitySpec text = Declared(
      "[entity]\nkey_columns = [\"sku\"]\nscd1_columns = [\"a\"]\nscd2_columns = []\n"
      "sequence_columns = []\noperation_column = \"\"\n");
  auto keys = Parse("sku,a\nABC,1\nabc,2\n ABC,3\n", {}, text);
  ASSERT_EQ(keys.rows.size(), 3u);
  EXPECT_NE(keys.rows.key_id[0], keys.rows.key_id[1]);
  EXPECT_NE(keys.rows.key_id[0], keys.rows.key_id[2]);
  // Fewer key id bits (tests force collisions with this): the ids keep only those bits.
  text.key_id_bits = 1;
  auto masked = Parse("sku,a\nABC,1\nabc,2\nxyz,3\n", {}, text);
  for (uint64_t id : masked.rows.key_id) {
    EXPECT_LE(id, 1u);
  }
}

}  // namespace
}  // namespace dimstream

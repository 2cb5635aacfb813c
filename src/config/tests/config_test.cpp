#include "config/config.h"
#include "config/server_urls.h"

#include <gtest/gtest.h>

namespace dimstream {
namespace {

TEST(ConfigTest, DefaultsWithoutFile) {
  auto c = ParseConfig("", "test.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->merge_interval_ms, 1000u);
  EXPECT_EQ(c->loader_on_error, "continue");
  EXPECT_EQ(c->Landing(), std::filesystem::path("./dimstream-data/landing"));
  EXPECT_EQ(c->entities.front().history_table(), "customer_history");
}

TEST(ConfigTest, ReadsSectionsAndEntity) {
  auto c = ParseConfig(R"(
warehouse_path = "/tmp/x.duckdb"
[merge]
interval_ms = 250
[entity]
name = "product"
key_columns = ["product_id"]
scd1_columns = ["price"]
scd2_columns = ["category"]
sequence_column = ""
)",
                       "test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->merge_interval_ms, 250u);
  EXPECT_EQ(c->Warehouse(), std::filesystem::path("/tmp/x.duckdb"));
  EXPECT_EQ(c->entities.front().raw_table(), "product_raw");
  EXPECT_TRUE(c->entities.front().sequence_columns.empty());
  EXPECT_EQ(c->entities.front().file_pattern, "*");
  // An entity that names its own key declares its own types: product_id is text.
  EXPECT_EQ(c->entities.front().TypeOf("product_id").kind, TypeKind::kText);
}

TEST(ConfigTest, UnknownKeyIsNamed) {
  auto c = ParseConfig("[merge]\ninterval_msec = 5\n", "my.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("unknown configuration key 'merge.interval_msec'"), std::string::npos);
  EXPECT_NE(c.error().message.find("my.toml"), std::string::npos);
  auto d = ParseConfig("[nonsense]\nx = 1\n", "my.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("'nonsense'"), std::string::npos);
}

TEST(ConfigTest, BadValuesAreNamed) {
  auto wrong_type = ParseConfig("[merge]\ninterval_ms = \"fast\"\n", "t.toml");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().message.find("'merge.interval_ms' must be an integer"), std::string::npos);
  auto out_of_range = ParseConfig("[merge]\ninterval_ms = 1\n", "t.toml");
  ASSERT_FALSE(out_of_range.ok());
  auto bad_choice = ParseConfig("[loader]\non_error = \"ignore\"\n", "t.toml");
  ASSERT_FALSE(bad_choice.ok());
  EXPECT_NE(bad_choice.error().message.find("continue"), std::string::npos);
  auto syntax = ParseConfig("[merge\n", "t.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("t.toml:1"), std::string::npos);
}

// Each configuration text is refused with a message holding its expected part and naming the file.
void ExpectRefused(const std::vector<std::pair<std::string, std::string>>& bad) {
  for (const auto& [text, expected] : bad) {
    auto c = ParseConfig(text, "t.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find(expected), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("t.toml"), std::string::npos) << c.error().message;
  }
}

TEST(ConfigTest, ObjectStoreUrls) {
  constexpr const char* kSecrets = "[secrets]\nak = { env = \"AK\" }\nsk = { env = \"SK\" }\n";
  auto s3 = ParseConfig(std::string(R"([object_store]
url = "s3://my-bucket/in/coming"
endpoint = "http://127.0.0.1:7480"
region = "eu-west-1"
path_style = false
access_key = "ak"
secret_key = "sk"
)") + kSecrets,
                        "t.toml");
  ASSERT_TRUE(s3.ok()) << s3.error().message;
  EXPECT_EQ(s3->object_store_region, "eu-west-1");
  EXPECT_FALSE(s3->object_store_path_style);
  auto url = ParseObjectStoreUrl(*s3);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->kind, ObjectStoreUrl::Kind::kS3);
  EXPECT_EQ(url->bucket, "my-bucket");
  EXPECT_EQ(url->prefix, "in/coming/");

  auto local = ParseConfig("[object_store]\nurl = \"file:///srv/bucket\"\n", "t.toml");
  ASSERT_TRUE(local.ok()) << local.error().message;
  auto dir = ParseObjectStoreUrl(*local);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->kind, ObjectStoreUrl::Kind::kFile);
  EXPECT_EQ(dir->dir, std::filesystem::path("/srv/bucket"));
  auto by_default = ParseConfig("bucket_dir = \"/b\"\n", "t.toml");
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(ParseObjectStoreUrl(*by_default)->dir, std::filesystem::path("/b"));

  // Each refusal names what to fix.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[object_store]\nurl = \"ftp://x/\"\n", "must be file:///path or s3://bucket/prefix/"},
      {"[object_store]\nurl = \"file://relative\"\n", "file:///absolute/path"},
      {"bucket_dir = \"/a\"\n[object_store]\nurl = \"file:///b\"\n", "name different buckets"},
      {"[object_store]\nurl = \"s3://Upper_Case/\"\n", "is not a bucket name"},
      {"[object_store]\nurl = \"s3://bk1/x//y/\"\n", "empty segment"},
      {"[object_store]\nurl = \"s3://bk1/\"\n", "'object_store.access_key' must name the [secrets] entry"},
      {"[object_store]\nurl = \"s3://bk1/\"\naccess_key = \"ak\"\nsecret_key = \"nope\"\n" +
           std::string(kSecrets),
       "'object_store.secret_key' names \"nope\", which is not in [secrets]"},
      {"bucket_dir = \"/a\"\n[object_store]\nurl = \"s3://bk1/\"\naccess_key = \"ak\"\nsecret_key = "
       "\"sk\"\n" +
           std::string(kSecrets),
       "remove it"},
      {"[object_store]\nurl = \"s3://bk1/\"\nendpoint = \"127.0.0.1:80\"\naccess_key = \"ak\"\nsecret_key = "
       "\"sk\"\n" +
           std::string(kSecrets),
       "http:// or https://"},
      {"[object_store]\npath_style = \"yes\"\n", "'object_store.path_style' must be true or false"},
      {"[object_store]\nca_file = \"/ca.crt\"\n", "'object_store.ca_file' is for an s3:// bucket"},
      {"[object_store]\nurl = \"file:///b\"\nca_file = \"/ca.crt\"\n",
       "'object_store.ca_file' is for an s3:// bucket"},
      {"[object_store]\nurl = \"s3://bk1/\"\nendpoint = \"http://127.0.0.1:80\"\nca_file = \"/ca.crt\"\n"
       "access_key = \"ak\"\nsecret_key = \"sk\"\n" +
           std::string(kSecrets),
       "'object_store.ca_file' is for an https:// endpoint"},
      {"[object_store]\nca_file = 1\n", "'object_store.ca_file' must be a string"},
  };
  ExpectRefused(bad);
}

// object_store.ca_file: the authorities an https:// endpoint (or AWS's own) is verified against; empty by
// default (the system's).
TEST(ConfigTest, ObjectStoreCaFile) {
  auto by_default = ParseConfig("", "t.toml");
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(by_default->object_store_ca_file, "");
  constexpr const char* kS3 =
      "[object_store]\nurl = \"s3://bk1/\"\naccess_key = \"ak\"\nsecret_key = \"sk\"\nca_file = "
      "\"/etc/dimstream/s3-ca.crt\"\n";
  constexpr const char* kSecrets = "[secrets]\nak = { env = \"AK\" }\nsk = { env = \"SK\" }\n";
  for (const std::string endpoint : {"endpoint = \"https://127.0.0.1:7443\"\n", ""}) {
    auto config = ParseConfig(std::string(kS3) + endpoint + kSecrets, "t.toml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->object_store_ca_file, "/etc/dimstream/s3-ca.crt");
    EXPECT_TRUE(ParseObjectStoreUrl(*config).ok());
  }
}

TEST(ConfigTest, QueueUrls) {
  auto by_default = ParseConfig("", "t.toml");
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(ParseQueueUrl(*by_default)->kind, QueueUrl::Kind::kMemory);
  auto amqp = ParseConfig(R"([queue]
url = "amqps://mq.example:5671/prod"
queue = "objects"
user = "u"
password = "p"
delivery_limit = 3
ca_file = "/etc/ca.pem"
[secrets]
u = { env = "U" }
p = { env = "P" }
)",
                          "t.toml");
  ASSERT_TRUE(amqp.ok()) << amqp.error().message;
  auto url = ParseQueueUrl(*amqp);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->kind, QueueUrl::Kind::kAmqp);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->authority, "mq.example:5671");
  EXPECT_EQ(url->vhost, "prod");
  EXPECT_EQ(amqp->queue_name, "objects");
  EXPECT_EQ(amqp->queue_delivery_limit, 3u);
  // Without user and password: RabbitMQ's guest, allowed from loopback.
  EXPECT_TRUE(ParseConfig("[queue]\nurl = \"amqp://127.0.0.1:5672/%2F\"\n", "t.toml").ok());

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[queue]\nurl = \"nats://x/\"\n", "must be memory: (in this process) or amqp://"},
      {"[queue]\nurl = \"amqp://guest:guest@127.0.0.1/\"\n", "holds credentials"},
      {"[queue]\nurl = \"amqp:///vhost\"\n", "names no host"},
      {"[queue]\nurl = \"amqp://h/\"\nuser = \"u\"\n", "'queue.user' names \"u\", which is not in [secrets]"},
      {"[queue]\nurl = \"amqp://h/\"\nuser = \"u\"\n[secrets]\nu = { env = \"U\" }\n",
       "'queue.password' must name the [secrets] entry"},
      {"[queue]\nurl = \"amqp://h/\"\nca_file = \"/ca\"\n", "is for an amqps:// queue"},
      {"[queue]\nurl = \"amqp://h/\"\nqueue = \"\"\n", "'queue.queue' must be 1 to 250 bytes"},
      {"[queue]\ndelivery_limit = 0\n", "queue.delivery_limit"},
      {"[queue]\nnotified_by = \"bucket\"\n", "needs a broker"},
      {"[queue]\nurl = \"amqp://h/\"\nnotified_by = \"bucket\"\n", "needs an s3:// bucket"},
      {"[queue]\nurl = \"amqp://h/\"\nnotified_by = \"sqs\"\n", "queue.notified_by"},
  };
  ExpectRefused(bad);
}

// The warehouse named by warehouse.url: DuckDB by default, at a path or a duckdb:/// URL, or PostgreSQL.
TEST(ConfigTest, WarehouseUrls) {
  auto kind_and_path = [](const std::string& text) {
    auto c = ParseConfig(text, "t.toml");
    EXPECT_TRUE(c.ok()) << c.error().message;
    auto url = ParseWarehouseUrl(*c);
    EXPECT_TRUE(url.ok()) << url.error().message;
    return std::make_pair(url->kind, url->path);
  };
  using Kind = WarehouseUrl::Kind;
  const std::filesystem::path by_default = "./dimstream-data/warehouse.duckdb";
  EXPECT_EQ(kind_and_path(""), std::make_pair(Kind::kDuckDb, by_default));
  EXPECT_EQ(kind_and_path("[warehouse]\nurl = \"\"\n"), std::make_pair(Kind::kDuckDb, by_default));
  const std::filesystem::path w = "/srv/w.duckdb";
  EXPECT_EQ(kind_and_path("[warehouse]\nurl = \"/srv/w.duckdb\"\n"), std::make_pair(Kind::kDuckDb, w));
  EXPECT_EQ(kind_and_path("[warehouse]\nurl = \"duckdb:///srv/w.duckdb\"\n"),
            std::make_pair(Kind::kDuckDb, w));
  // The old key still names the file, alone or with a URL that says the same.
  EXPECT_EQ(kind_and_path("warehouse_path = \"/srv/w.duckdb\"\n"), std::make_pair(Kind::kDuckDb, w));
  EXPECT_EQ(
      kind_and_path("warehouse_path = \"/srv/w.duckdb\"\n[warehouse]\nurl = \"duckdb:///srv/w.duckdb\"\n"),
      std::make_pair(Kind::kDuckDb, w));
  auto relative = ParseConfig("[warehouse]\nurl = \"data/w.duckdb\"\n", "t.toml");
  ASSERT_TRUE(relative.ok()) << relative.error().message;
  EXPECT_EQ(relative->Warehouse(), std::filesystem::path("data/w.duckdb"));

  for (const char* scheme : {"postgresql", "postgres"}) {
    const std::string url = std::string(scheme) + "://dim@127.0.0.1:15432/dimstream?sslmode=disable";
    auto pg = ParseConfig("[warehouse]\nurl = \"" + url +
                              "\"\npassword = \"pg_password\"\n[secrets]\npg_password = { env = \"PGPW\" }\n",
                          "t.toml");
    ASSERT_TRUE(pg.ok()) << pg.error().message;
    EXPECT_EQ(pg->warehouse_password, "pg_password");
    auto parsed = ParseWarehouseUrl(*pg);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->kind, Kind::kPostgres);
    EXPECT_EQ(parsed->url, url);
  }
  // Without a password: none, or libpq's ~/.pgpass.
  EXPECT_EQ(kind_and_path("[warehouse]\nurl = \"postgresql://dim@db/dimstream\"\n").first, Kind::kPostgres);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[warehouse]\nurl = \"postgresql://dim:secret@db/dimstream\"\n",
       "holds a password: give "
       "'warehouse.password' instead, the "
       "name of the [secrets] entry"},
      {"[warehouse]\nurl = \"postgres://db/dimstream?sslmode=require&password=secret\"\n", "[secrets]"},
      {"[warehouse]\nurl = \"postgresql://db/d?password=secret\"\n", "holds a password"},
      {"[warehouse]\nurl = \"postgresql://db/d\"\npassword = \"pw\"\n",
       "'warehouse.password' names \"pw\", which is not in [secrets]"},
      {"warehouse_path = \"/w.duckdb\"\n[warehouse]\nurl = \"postgresql://db/d\"\n", "remove it"},
      {"warehouse_path = \"/a.duckdb\"\n[warehouse]\nurl = \"/b.duckdb\"\n", "name different files"},
      {"[warehouse]\nurl = \"duckdb://relative.duckdb\"\n", "duckdb:///absolute/path"},
      {"[warehouse]\nurl = \"mysql://db/d\"\n", "postgresql://user@host:port/database"},
      {"[warehouse]\npassword = \"pw\"\n[secrets]\npw = { env = \"PW\" }\n", "is for a postgresql://"},
  };
  ExpectRefused(bad);
  // The refusal names the key to use, never the password it found.
  auto refused = ParseConfig("[warehouse]\nurl = \"postgresql://dim:hunter2@db/d\"\n", "t.toml");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.find("hunter2"), std::string::npos) << refused.error().message;
}

TEST(ConfigTest, HostileNamesAreRefused) {
  for (const char* name : {"x\\\"; DROP TABLE y; --", "Customer", "1abc", "_hidden", "a-b", ""}) {
    std::string toml = std::string("[entity]\nname = \"") + name + "\"\n";
    auto c = ParseConfig(toml, "t.toml");
    EXPECT_FALSE(c.ok()) << name;
  }
  auto dup = ParseConfig("[entity]\nscd1_columns = [\"city\"]\n", "t.toml");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("declared twice"), std::string::npos);
  auto reserved = ParseConfig("[entity]\nscd2_columns = [\"valid_from\"]\n", "t.toml");
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.error().message.find("valid_from"), std::string::npos);
  auto clash = ParseConfig("[entity]\nname = \"load\"\n", "t.toml");
  EXPECT_FALSE(clash.ok());
}

// SEMANTICS.md section 1 and the configuration contract of declared entities.
TEST(ConfigTest, SeveralEntitiesWithTypesSequencesAndOperations) {
  auto c = ParseConfig(R"toml(
[[entities]]
name = "customer"
[[entities]]
name = "orders"
key_columns = ["tenant_id", "order_id"]
scd1_columns = ["status_note"]
scd2_columns = ["status", "amount", "ship_date"]
sequence_columns = ["lsn", "seq_in_tx"]
operation_column = "op"
delete_values = ["d", "DELETE"]
upsert_values = ["c", "u", "r", "INSERT", "UPDATE", ""]
truncate_values = ["t", "TRUNCATE"]
scd1_scope = "all_versions"
[entities.types]
tenant_id = "text"
order_id = "bigint"
amount = "decimal(12,2)"
ship_date = "date"
lsn = "bigint"
seq_in_tx = "bigint"
)toml",
                       "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->entities.size(), 2u);
  const EntitySpec& customer = c->entities[0];
  const EntitySpec& orders = c->entities[1];
  EXPECT_EQ(customer.file_pattern, "customer_*");  // several entities: <name>_*
  EXPECT_EQ(customer.TypeOf("customer_id").kind, TypeKind::kBigint);
  EXPECT_EQ(orders.file_pattern, "orders_*");
  EXPECT_EQ(orders.TypeOf("amount"), (ColumnType{TypeKind::kDecimal, 12, 2}));
  EXPECT_EQ(orders.TypeOf("status").kind, TypeKind::kText);
  EXPECT_EQ(orders.scd1_scope, Scd1Scope::kAllVersions);
  EXPECT_EQ(orders.OperationOf(" delete "), Operation::kDelete);
  EXPECT_EQ(orders.OperationOf("Truncate"), Operation::kTruncate);
  EXPECT_EQ(orders.OperationOf(""), Operation::kUpsert);
  EXPECT_FALSE(orders.OperationOf("x"));
  EXPECT_FALSE(orders.exact_key_id());
  EXPECT_TRUE(customer.exact_key_id());
  EXPECT_EQ(orders.extra_sequence_columns(), std::vector<std::string>{"seq_in_tx"});
  EXPECT_FALSE(orders.sequence_falls_back_to_load_time());
  auto routed = RouteObject(c->entities, "orders_2025.csv");
  ASSERT_TRUE(routed.ok());
  EXPECT_EQ((*routed)->name, "orders");
  auto none = RouteObject(c->entities, "products.csv");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("customer = \"customer_*\", orders = \"orders_*\""), std::string::npos)
      << none.error().message;
  EXPECT_TRUE(c->Entity("orders").ok());
  EXPECT_FALSE(c->Entity("nope").ok());
}

TEST(ConfigTest, BadEntityDeclarationsAreRefusedByName) {
  const std::pair<const char*, const char*> cases[] = {
      {"[entity]\n[entity.types]\namount = \"money\"\n", "\"money\" is not a type"},
      {"[entity]\nkey_columns = [\"id\"]\n[entity.types]\nnope = \"bigint\"\n", "'nope'"},
      {"[entity]\ndelete_values = [\"X\"]\nupsert_values = [\"x\"]\n", "in delete_values and upsert_values"},
      {"[entity]\nscd1_scope = \"all\"\n", "scd1_scope"},
      {"[entity]\nsequence_column = \"a\"\nsequence_columns = [\"a\"]\n", "not both"},
      {"[entity]\noperation_column = \"\"\ntruncate_values = [\"T\"]\n", "truncate_values needs"},
      {"[[entities]]\nname = \"a\"\n[[entities]]\nname = \"a\"\n", "another entity is called 'a'"},
      {"[entity]\nname = \"x\"\n[[entities]]\nname = \"y\"\n", "not both"},
      {"[entity]\nfile_patern = \"*\"\n", "unknown configuration key 'entity.file_patern'"},
      {"[merge]\nlog_retention_days = 3\n[entity]\nkey_columns = [\"id\"]\nsequence_column = \"n\"\n"
       "[entity.types]\nn = \"bigint\"\n",
       "log_retention_days"},
  };
  for (const auto& [toml, expected] : cases) {
    auto c = ParseConfig(toml, "bad.toml");
    ASSERT_FALSE(c.ok()) << toml;
    EXPECT_NE(c.error().message.find(expected), std::string::npos) << toml << "\n" << c.error().message;
    EXPECT_NE(c.error().message.find("bad.toml"), std::string::npos) << c.error().message;
  }
}

TEST(ConfigTest, DefaultTomlParsesBack) {
  auto c = ParseConfig(DefaultConfigToml(), "defaults");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->entities.front().scd2_columns.size(), 4u);
}

TEST(ConfigTest, SecretsAreSourcesNeverValues) {
  auto c = ParseConfig(R"(
[secrets]
warehouse = { env = "DIMSTREAM_TEST_PG_PASSWORD" }
broker = { file = "/run/secrets/broker" }
)",
                       "s.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->secrets.size(), 2u);
  EXPECT_EQ(c->secrets.at("warehouse").kind, SecretSource::Kind::kEnv);
  EXPECT_EQ(c->secrets.at("warehouse").ref, "DIMSTREAM_TEST_PG_PASSWORD");
  EXPECT_EQ(c->secrets.at("broker").kind, SecretSource::Kind::kFile);
  setenv("DIMSTREAM_TEST_PG_PASSWORD", "pg-pass-123", 1);
  auto s = ReadConfiguredSecret(*c, "warehouse");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->Reveal(), "pg-pass-123");
  unsetenv("DIMSTREAM_TEST_PG_PASSWORD");
  auto unset = ReadConfiguredSecret(*c, "warehouse");
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.error().message.find("secrets.warehouse"), std::string::npos) << unset.error().message;
  EXPECT_FALSE(ReadConfiguredSecret(*c, "nope").ok());

  // A value written in the file is refused, and the message does not repeat it.
  for (const char* text :
       {"[secrets]\npw = \"hunter2-literal\"\n", "[secrets]\npw = { value = \"hunter2-literal\" }\n",
        "[secrets]\npw = { env = \"A\", file = \"B\" }\n", "[secrets]\npw = { env = \"\" }\n",
        "secrets = \"hunter2-literal\"\n", "[secrets]\n\"Bad Name\" = { env = \"A\" }\n"}) {
    auto bad = ParseConfig(text, "s.toml");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(bad.error().kind, ErrorKind::kInvalidInput);
    EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("s.toml"), std::string::npos) << bad.error().message;
  }
}

// toml++ 3.3.0 has undefined behaviour for some non-ASCII characters where whitespace may stand (see
// LineTomlCannotParseSafely); those places are refused before it parses, everything else passes through.
TEST(ConfigTest, NonAsciiOnlyInsideStringsAndComments) {
  auto fine = ParseConfig(
      "\xEF\xBB\xBF# caf\xC3\xA9 \xEF\xBB\x9F\n"
      "landing_dir = \"/data/caf\xC3\xA9/\xEF\xBB\x9F\" # \xC3\xA9\n"
      "bucket_dir = '/b/\xC3\xA9'\n"
      "warehouse_path = \"\"\"/w/\\\n   x\xC3\xA9\"\"\"\n"
      "log_level = '''info'''\n",
      "u.toml");
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_EQ(fine->landing_dir, "/data/caf\xC3\xA9/\xEF\xBB\x9F");
  EXPECT_EQ(fine->warehouse_path, "/w/x\xC3\xA9");
  for (const char* text :
       {"[e\xEF\xBB\x9F\n", "x = 1 \xC2\xA1\n", "\n\n\xD0\x80 = 1\n", "x = 1979-05'\xC3\xA9'\n",
        "x = [1.'\xC3\xA9']\n", "x = 1979-05'['\xC3\xA9'\n", "\"\"\"a\\\xEF\xBB\xBA   ",
        "x = \"a\\  \xC3\xA9\"\n", "x = tru{\"\xC3\xA9\"\n", "x = 'a''\xC3\xA9'\n",
        "landing_dir = \"\"\"a\\\n  \xC3\xA9\"\"\"\n", "landing_dir = \"a\" \xC3\xA9\n"}) {
    auto bad = ParseConfig(text, "u.toml");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.error().message.find("u.toml:"), std::string::npos) << bad.error().message;
  }
  // Strings in inline tables, quoted keys and headers are strings.
  auto inline_table = ParseConfig("[secrets]\nx = { env = \"\xC3\xA9\" }\n", "u.toml");
  ASSERT_TRUE(inline_table.ok()) << inline_table.error().message;
  EXPECT_EQ(inline_table->secrets.at("x").ref, "\xC3\xA9");
  for (const char* text : {"[\"entity\"]\nname = '\xC3\xA9'\n", "entity.\"name\" = '\xC3\xA9'\n",
                           "[secrets]\nx = { env = 'A', \"\xC3\xA9\" = 1 }\n"}) {
    auto refused_later = ParseConfig(text, "u.toml");
    ASSERT_FALSE(refused_later.ok()) << text;
    EXPECT_EQ(refused_later.error().message.find("non-ASCII character outside"), std::string::npos)
        << refused_later.error().message;
  }
  auto third = ParseConfig("\n\n\xD0\x80 = 1\n", "u.toml");
  EXPECT_NE(third.error().message.find("u.toml:3: a non-ASCII character"), std::string::npos)
      << third.error().message;
}

}  // namespace
}  // namespace dimstream

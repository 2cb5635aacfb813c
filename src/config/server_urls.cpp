#include "config/server_urls.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "config/config.h"

namespace dimstream {
namespace {

// S3's rules for a bucket name: 3 to 63 lower-case letters, digits, '-' and '.', starting and ending with a
// letter or digit.
bool IsBucketName(const std::string& name) {
  auto edge = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c));
  };
  return name.size() >= 3 && name.size() <= 63 && edge(name.front()) && edge(name.back()) &&
         std::all_of(name.begin(), name.end(), [&](char c) { return edge(c) || c == '-' || c == '.'; });
}

Status NamesASecret(const Config& config, const std::string& key, const std::string& name,
                    std::string_view needed_by) {
  if (name.empty()) {
    return Error::Invalid(
        fmt::format("'{}' must name the [secrets] entry that holds it ({} needs it)", key, needed_by));
  }
  if (!config.secrets.contains(name)) {
    return Error::Invalid(fmt::format("'{}' names \"{}\", which is not in [secrets]", key, name));
  }
  return Ok();
}

}  // namespace

Result<ObjectStoreUrl> ParseObjectStoreUrl(const Config& config) {
  const std::string& url = config.object_store_url;
  ObjectStoreUrl out;
  if (!config.object_store_ca_file.empty() && !url.starts_with("s3://")) {
    return Error::Invalid("'object_store.ca_file' is for an s3:// bucket at an https:// endpoint");
  }
  if (url.empty()) {
    out.dir = config.Bucket();
    return out;
  }
  constexpr std::string_view kFile = "file://";
  constexpr std::string_view kS3 = "s3://";
  if (url.starts_with(kFile)) {
    std::string path = url.substr(kFile.size());
    if (path.empty() || path.front() != '/') {
      return Error::Invalid(
          fmt::format("'object_store.url': a file URL is file:///absolute/path, not \"{}\"", url));
    }
    if (!config.bucket_dir.empty() &&
        std::filesystem::path(config.bucket_dir) != std::filesystem::path(path)) {
      return Error::Invalid(fmt::format(
          "'object_store.url' (\"{}\") and 'bucket_dir' (\"{}\") name different buckets: give one of them",
          url, config.bucket_dir));
    }
    out.dir = path;
    return out;
  }
  if (!url.starts_with(kS3)) {
    return Error::Invalid(
        fmt::format("'object_store.url' must be file:///path or s3://bucket/prefix/, not \"{}\"", url));
  }
  std::string rest = url.substr(kS3.size());
  size_t slash = rest.find('/');
  out.kind = ObjectStoreUrl::Kind::kS3;
  out.bucket = rest.substr(0, slash);
  out.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (!IsBucketName(out.bucket)) {
    return Error::Invalid(fmt::format(
        "'object_store.url': \"{}\" is not a bucket name (3-63 of a-z, 0-9, '-' and '.')", out.bucket));
  }
  if (!out.prefix.empty() && out.prefix.back() != '/') {
    out.prefix += '/';
  }
  if (out.prefix.starts_with("/") || out.prefix.find("//") != std::string::npos) {
    return Error::Invalid(fmt::format("'object_store.url': the prefix of \"{}\" has an empty segment", url));
  }
  if (!config.bucket_dir.empty()) {
    return Error::Invalid(
        "'bucket_dir' is a local bucket: remove it when 'object_store.url' is an s3:// bucket");
  }
  DIMSTREAM_TRY(
      NamesASecret(config, "object_store.access_key", config.object_store_access_key, "an s3:// bucket"));
  DIMSTREAM_TRY(
      NamesASecret(config, "object_store.secret_key", config.object_store_secret_key, "an s3:// bucket"));
  const std::string& endpoint = config.object_store_endpoint;
  if (!endpoint.empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    return Error::Invalid(
        fmt::format("'object_store.endpoint' must start with http:// or https://, not \"{}\"", endpoint));
  }
  if (!config.object_store_ca_file.empty() && endpoint.starts_with("http://")) {
    return Error::Invalid(
        "'object_store.ca_file' is for an https:// endpoint, and 'object_store.endpoint' is http://");
  }
  return out;
}

Result<QueueUrl> ParseQueueUrl(const Config& config) {
  const std::string& url = config.queue_url;
  QueueUrl out;
  if (url.empty() || url == "memory:") {
    if (config.queue_notified_by == "bucket") {
      return Error::Invalid("'queue.notified_by' = \"bucket\" needs a broker: set 'queue.url' to amqp://...");
    }
    if (!config.queue_ca_file.empty()) {
      return Error::Invalid("'queue.ca_file' is for an amqps:// queue, and 'queue.url' is memory:");
    }
    return out;
  }
  out.kind = QueueUrl::Kind::kAmqp;
  out.tls = url.starts_with("amqps://");
  if (!out.tls && !url.starts_with("amqp://")) {
    return Error::Invalid(fmt::format(
        "'queue.url' must be memory: (in this process) or amqp://host:port/vhost (RabbitMQ; amqps:// with "
        "TLS), not \"{}\"",
        url));
  }
  const std::string rest = url.substr(out.tls ? 8 : 7);
  const size_t slash = rest.find('/');
  out.authority = rest.substr(0, slash);
  out.vhost = slash == std::string::npos ? "" : rest.substr(slash + 1);
  const std::string& authority = out.authority;
  if (authority.find('@') != std::string::npos) {
    return Error::Invalid(
        "'queue.url' holds credentials: give them as 'queue.user' and 'queue.password', names of [secrets] "
        "entries");
  }
  if (authority.empty() || authority.front() == ':') {
    return Error::Invalid(fmt::format("'queue.url' (\"{}\") names no host", url));
  }
  if (config.queue_name.empty() || config.queue_name.size() > 250) {
    return Error::Invalid("'queue.queue' must be 1 to 250 bytes (RabbitMQ's limit, less \".dead\")");
  }
  if (!config.queue_ca_file.empty() && !out.tls) {
    return Error::Invalid("'queue.ca_file' is for an amqps:// queue");
  }
  if (config.queue_notified_by == "bucket") {
    auto store = ParseObjectStoreUrl(config);
    if (store.ok() && store->kind != ObjectStoreUrl::Kind::kS3) {
      return Error::Invalid(
          "'queue.notified_by' = \"bucket\" needs an s3:// bucket: a local one sends no notifications");
    }
  }
  // Neither: RabbitMQ's own guest/guest, which it accepts from loopback only.
  if (!config.queue_user.empty() || !config.queue_password.empty()) {
    DIMSTREAM_TRY(NamesASecret(config, "queue.user", config.queue_user, "a RabbitMQ login"));
    DIMSTREAM_TRY(NamesASecret(config, "queue.password", config.queue_password, "a RabbitMQ login"));
  }
  return out;
}

std::optional<std::string> DuckDbPathOf(std::string_view url) {
  constexpr std::string_view kDuckDb = "duckdb://";
  if (url.starts_with(kDuckDb)) {
    std::string_view path = url.substr(kDuckDb.size());
    return path.starts_with('/') ? std::optional<std::string>(path) : std::nullopt;
  }
  if (url.find("://") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(url);
}

Result<WarehouseUrl> ParseWarehouseUrl(const Config& config) {
  const std::string& url = config.warehouse_url;
  WarehouseUrl out;
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme == "postgresql" || scheme == "postgres") {
    // libpq's URL: [user[:password]@]host[:port][,host...][/database][?key=value&...]
    const std::string rest = url.substr(scheme_end + 3);
    const std::string authority = rest.substr(0, rest.find_first_of("/?"));
    const size_t at = authority.rfind('@');
    const size_t query = rest.find('?');
    const std::string params = query == std::string::npos ? "" : "&" + rest.substr(query + 1);
    if ((at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos) ||
        params.find("&password=") != std::string::npos) {
      return Error::Invalid(
          "'warehouse.url' holds a password: give 'warehouse.password' instead, the name of the [secrets] "
          "entry that holds it");
    }
    if (!config.warehouse_path.empty()) {
      return Error::Invalid(
          "'warehouse_path' is a DuckDB file: remove it when 'warehouse.url' is a PostgreSQL database");
    }
    if (!config.warehouse_password.empty()) {
      DIMSTREAM_TRY(
          NamesASecret(config, "warehouse.password", config.warehouse_password, "a PostgreSQL login"));
    }
    out.kind = WarehouseUrl::Kind::kPostgres;
    out.url = url;
    return out;
  }
  const std::optional<std::string> path = DuckDbPathOf(url);
  if (!path) {
    return Error::Invalid(
        fmt::format("'warehouse.url' must be a path or duckdb:///absolute/path (a DuckDB file) or "
                    "postgresql://user@host:port/database (PostgreSQL), not \"{}\"",
                    url));
  }
  if (!path->empty() && !config.warehouse_path.empty() &&
      std::filesystem::path(*path) != std::filesystem::path(config.warehouse_path)) {
    return Error::Invalid(
        fmt::format("'warehouse.url' (\"{}\") and 'warehouse_path' (\"{}\") name different files: give one "
                    "of them",
                    url, config.warehouse_path));
  }
  if (!config.warehouse_password.empty()) {
    return Error::Invalid("'warehouse.password' is for a postgresql:// warehouse, and this one is DuckDB's");
  }
  out.path = config.Warehouse();
  return out;
}

namespace {

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

Result<HttpListen> ParseHttpListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Error::Invalid("http.listen must be host:port, e.g. \"127.0.0.1:7470\", not \"" + text + "\"");
  }
  HttpListen out;
  out.host = text.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (ec != std::errc() || end != port.data() + port.size() || out.port < 0 || out.port > 65535 ||
      out.host.empty()) {
    return Error::Invalid("http.listen must be host:port with a port from 0 to 65535, not \"" + text + "\"");
  }
  out.loopback = IsLoopback(out.host);
  return out;
}

Result<std::optional<HttpListen>> ParseHttpListen(const Config& config) {
  if (config.http_listen.empty()) {
    if (!config.http_token.empty() && !config.secrets.contains(config.http_token)) {
      return Error::Invalid(
          fmt::format("'http.token' names \"{}\", which is not in [secrets]", config.http_token));
    }
    return std::optional<HttpListen>();
  }
  auto listen = ParseHttpListen(config.http_listen);
  if (!listen.ok()) {
    return listen.error();
  }
  if (!listen->loopback || !config.http_token.empty()) {
    DIMSTREAM_TRY(
        NamesASecret(config, "http.token", config.http_token, "an http.listen address other than loopback"));
  }
  return std::optional<HttpListen>(*listen);
}

}  // namespace dimstream

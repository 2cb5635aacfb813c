#pragma once

#include <amqp.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace dimstream {

// Where a RabbitMQ broker is and how to log in to it. The URL is amqp://host[:port]/vhost or amqps://...
// (TLS, the peer and its name verified against `ca_file`, or the system's authorities when empty); it
// carries no credentials, which come from [secrets].
struct AmqpEndpoint {
  std::string url;
  std::string user = "guest";
  std::string password = "guest";
  std::string ca_file;
  std::chrono::seconds heartbeat{60};
  std::chrono::milliseconds timeout{10000};  // connecting and each request
};

// One connection to the broker with one channel open on it (librabbitmq, Debian's librabbitmq-dev). Not
// thread-safe, like the library: each user keeps its own. Once a call has failed on the connection or the
// broker closed the channel, `broken()` is true and the connection is good for nothing but being dropped.
class AmqpConnection {
 public:
  static constexpr amqp_channel_t kChannel = 1;

  // Connects, logs in and opens the channel. kRetryable when the broker cannot be reached or is shutting
  // down, kPermanent when it refuses the login or the URL is bad.
  static Result<std::unique_ptr<AmqpConnection>> Open(const AmqpEndpoint& endpoint);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  amqp_connection_state_t state() const { return conn_; }
  bool broken() const { return broken_; }

  // A request's reply as a Status, `what` saying what was asked. A failure marks the connection broken;
  // its kind: kPermanent for a refusal (access, a queue declared with other arguments), kNotFound for a
  // missing queue or exchange, kRetryable for the rest (the network, the broker going away).
  Status Check(const amqp_rpc_reply_t& reply, std::string_view what);
  // The same for a library call that returns a status code (AMQP_STATUS_OK or an error).
  Status CheckStatus(int status, std::string_view what);
  // The reply of the last synchronous request on the channel.
  Status CheckLast(std::string_view what) { return Check(amqp_get_rpc_reply(conn_), what); }
  // Marks the connection broken with `error`, which it returns (for failures the library does not see).
  Error Break(Error error);

  // Where it is connected, for messages: "amqp://127.0.0.1:5672/%2F". Never credentials.
  const std::string& where() const { return where_; }

 private:
  AmqpConnection(amqp_connection_state_t conn, std::string where) : conn_(conn), where_(std::move(where)) {}

  amqp_connection_state_t conn_;
  std::string where_;
  bool broken_ = false;
  bool channel_open_ = false;
};

// A table of AMQP arguments, built once and kept alive while a request uses it.
class AmqpTable {
 public:
  void Add(const char* key, std::string_view text);
  void Add(const char* key, int64_t number);
  amqp_table_t table();

 private:
  struct Entry {
    std::string key;
    std::string text;
    bool is_text = false;
    int64_t number = 0;
  };
  std::vector<Entry> entries_;
  std::vector<amqp_table_entry_t> built_;
};

// The integer header `name` of a delivered message (x-delivery-count, say), or -1 when it has none.
int64_t AmqpIntegerHeader(const amqp_basic_properties_t& properties, std::string_view name);

inline amqp_bytes_t AmqpBytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view AmqpView(const amqp_bytes_t& b) {
  return std::string_view(static_cast<const char*>(b.bytes), b.len);
}

}  // namespace dimstream

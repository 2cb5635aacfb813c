#include "queue/rabbitmq/amqp_connection.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include <sys/time.h>

#include <fmt/format.h>

namespace dimstream {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// What a broker's close code means for the caller (AMQP 0-9-1's reply codes).
ErrorKind KindOfReplyCode(uint16_t code) {
  switch (code) {
    case 403:  // ACCESS_REFUSED: the login, or a resource the user may not touch
    case 406:  // PRECONDITION_FAILED: declared before with other arguments
    case 530:  // NOT_ALLOWED: the virtual host
      return ErrorKind::kPermanent;
    case 404:
      return ErrorKind::kNotFound;
    default:  // 320 CONNECTION_FORCED (the broker stops), 541 INTERNAL_ERROR, ...
      return ErrorKind::kRetryable;
  }
}

}  // namespace

Result<std::unique_ptr<AmqpConnection>> AmqpConnection::Open(const AmqpEndpoint& endpoint) {
  std::string url = endpoint.url;  // amqp_parse_url cuts it into pieces in place
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  if (amqp_parse_url(url.data(), &info) != AMQP_STATUS_OK) {
    return Error::Permanent(fmt::format("\"{}\" is not an AMQP URL (amqp://host:port/vhost)", endpoint.url));
  }
  amqp_connection_state_t conn = amqp_new_connection();
  if (conn == nullptr) {
    return Error::Retryable("cannot allocate an AMQP connection");
  }
  std::unique_ptr<AmqpConnection> c(new AmqpConnection(conn, endpoint.url));
  amqp_socket_t* socket = info.ssl ? amqp_ssl_socket_new(conn) : amqp_tcp_socket_new(conn);
  if (socket == nullptr) {
    return c->Break(Error::Retryable(fmt::format("cannot create a socket for {}", endpoint.url)));
  }
  if (info.ssl) {
    amqp_ssl_socket_set_verify_peer(socket, 1);
    amqp_ssl_socket_set_verify_hostname(socket, 1);
    if (!endpoint.ca_file.empty() && amqp_ssl_socket_set_cacert(socket, endpoint.ca_file.c_str()) != 0) {
      return c->Break(Error::Permanent(fmt::format("cannot read the CA file {}", endpoint.ca_file)));
    }
  }
  timeval timeout = ToTimeval(endpoint.timeout);
  if (int status = amqp_socket_open_noblock(socket, info.host, info.port, &timeout);
      status != AMQP_STATUS_OK) {
    std::string message =
        fmt::format("cannot connect to the broker at {}: {}", endpoint.url, amqp_error_string2(status));
    // A certificate that does not verify will not verify on the next try either.
    if (status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED || status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED) {
      return c->Break(Error::Permanent(message + " (check queue.ca_file and the host name in queue.url)"));
    }
    return c->Break(Error::Retryable(message));
  }
  amqp_set_rpc_timeout(conn, &timeout);
  DIMSTREAM_TRY(c->Check(amqp_login(conn, info.vhost, 0, 131072, static_cast<int>(endpoint.heartbeat.count()),
                                    AMQP_SASL_METHOD_PLAIN, endpoint.user.c_str(), endpoint.password.c_str()),
                         "log in"));
  amqp_channel_open(conn, kChannel);
  DIMSTREAM_TRY(c->CheckLast("open a channel"));
  c->channel_open_ = true;
  return c;
}

AmqpConnection::~AmqpConnection() {
  if (!broken_) {
    if (channel_open_) {
      amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
    }
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn_);
}

Error AmqpConnection::Break(Error error) {
  broken_ = true;
  return error;
}

Status AmqpConnection::CheckStatus(int status, std::string_view what) {
  if (status == AMQP_STATUS_OK) {
    return Ok();
  }
  return Break(
      Error::Retryable(fmt::format("cannot {} on {}: {}", what, where_, amqp_error_string2(status))));
}

Status AmqpConnection::Check(const amqp_rpc_reply_t& reply, std::string_view what) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return Ok();
    case AMQP_RESPONSE_NONE:
      return Break(Error::Retryable(fmt::format("cannot {} on {}: no reply", what, where_)));
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return Break(Error::Retryable(
          fmt::format("cannot {} on {}: {}", what, where_, amqp_error_string2(reply.library_error))));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      break;
  }
  uint16_t code = 0;
  std::string text;
  if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
    code = m->reply_code;
    text = std::string(AmqpView(m->reply_text));
    amqp_connection_close_ok_t ok{};
    (void)amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
  } else if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
    code = m->reply_code;
    text = std::string(AmqpView(m->reply_text));
    amqp_channel_close_ok_t ok{};
    (void)amqp_send_method(conn_, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
  } else {
    text = fmt::format("unexpected method 0x{:08x}", reply.reply.id);
  }
  return Break(Error{KindOfReplyCode(code), fmt::format("cannot {} on {}: {}", what, where_, text)});
}

void AmqpTable::Add(const char* key, std::string_view text) {
  entries_.push_back({key, std::string(text), true, 0});
}

void AmqpTable::Add(const char* key, int64_t number) {
  entries_.push_back({key, {}, false, number});
}

amqp_table_t AmqpTable::table() {
  built_.clear();
  for (Entry& e : entries_) {
    amqp_table_entry_t entry{};
    entry.key = AmqpBytes(e.key);
    if (e.is_text) {
      entry.value.kind = AMQP_FIELD_KIND_UTF8;
      entry.value.value.bytes = AmqpBytes(e.text);
    } else {
      entry.value.kind = AMQP_FIELD_KIND_I64;
      entry.value.value.i64 = e.number;
    }
    built_.push_back(entry);
  }
  return amqp_table_t{static_cast<int>(built_.size()), built_.data()};
}

int64_t AmqpIntegerHeader(const amqp_basic_properties_t& properties, std::string_view name) {
  if ((properties._flags & AMQP_BASIC_HEADERS_FLAG) == 0) {
    return -1;
  }
  for (int i = 0; i < properties.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = properties.headers.entries[i];
    if (AmqpView(e.key) != name) {
      continue;
    }
    const amqp_field_value_t& v = e.value;
    switch (v.kind) {
      case AMQP_FIELD_KIND_I8:
        return v.value.i8;
      case AMQP_FIELD_KIND_U8:
        return v.value.u8;
      case AMQP_FIELD_KIND_I16:
        return v.value.i16;
      case AMQP_FIELD_KIND_U16:
        return v.value.u16;
      case AMQP_FIELD_KIND_I32:
        return v.value.i32;
      case AMQP_FIELD_KIND_U32:
        return v.value.u32;
      case AMQP_FIELD_KIND_I64:
        return v.value.i64;
      case AMQP_FIELD_KIND_U64:
        return static_cast<int64_t>(v.value.u64);
      default:
        return -1;
    }
  }
  return -1;
}

}  // namespace dimstream

#include "object_store/s3/s3_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <curl/curl.h>
#include <fmt/format.h>
#include <pugixml.hpp>

namespace dimstream::s3 {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

bool Unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

// What a transfer reads from and writes to.
struct Transfer {
  const S3Request* request = nullptr;
  int upload_fd = -1;
  uint64_t sent = 0;
  int download_fd = -1;
  std::string* body = nullptr;
  std::map<std::string, std::string>* headers = nullptr;
  int write_errno = 0;
};

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const uint64_t left = t->request->upload_length - t->sent;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * count));
  if (want == 0) {
    return 0;
  }
  ssize_t got = ::pread(t->upload_fd, buffer, want, static_cast<off_t>(t->request->upload_offset + t->sent));
  if (got <= 0) {
    return CURL_READFUNC_ABORT;
  }
  t->sent += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->download_fd < 0) {
    t->body->append(data, n);
    return n;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(t->download_fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      t->write_errno = errno;
      return 0;  // aborts the transfer
    }
    done += static_cast<size_t>(w);
  }
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
    value.erase(value.begin(), std::find_if(value.begin(), value.end(), not_space));
    value.erase(std::find_if(value.rbegin(), value.rend(), not_space).base(), value.end());
    (*t->headers)[name] = value;
  }
  return size * count;
}

}  // namespace

std::string S3Response::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string S3Response::ErrorCode() const {
  pugi::xml_document doc;
  if (body.empty() || !doc.load_string(body.c_str())) {
    return {};
  }
  return doc.child("Error").child_value("Code");
}

std::string S3Response::ErrorText() const {
  pugi::xml_document doc;
  if (body.empty() || !doc.load_string(body.c_str())) {
    return fmt::format("HTTP {}", status);
  }
  const std::string code = doc.child("Error").child_value("Code");
  if (code.empty()) {
    return fmt::format("HTTP {}", status);
  }
  const std::string message = doc.child("Error").child_value("Message");
  return message.empty() ? fmt::format("HTTP {} {}", status, code)
                         : fmt::format("HTTP {} {}: {}", status, code, message);
}

S3Client::S3Client(S3Location location) : location_(std::move(location)) {
  GlobalInit();
  scheme_host_ = location_.endpoint.empty() ? fmt::format("https://s3.{}.amazonaws.com", location_.region)
                                            : location_.endpoint;
  while (!scheme_host_.empty() && scheme_host_.back() == '/') {
    scheme_host_.pop_back();
  }
}

std::string S3Client::Escape(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (Unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string S3Client::EscapeKey(const std::string& key) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    out += Escape(key.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) {
      return out;
    }
    out += '/';
    start = slash + 1;
  }
}

std::string S3Client::Url(const S3Request& request) const {
  std::string url;
  if (request.to_service) {
    url = scheme_host_ + "/";
  } else if (location_.path_style) {
    url = fmt::format("{}/{}/{}", scheme_host_, location_.bucket, request.path);
  } else {
    size_t host = scheme_host_.find("://");
    host = host == std::string::npos ? 0 : host + 3;
    url = fmt::format("{}{}.{}/{}", scheme_host_.substr(0, host), location_.bucket, scheme_host_.substr(host),
                      request.path);
  }
  if (!request.query.empty()) {
    url += "?" + request.query;
  }
  return url;
}

std::string S3Client::Describe() const {
  return fmt::format("s3://{} ({})", location_.bucket, scheme_host_);
}

Result<S3Response> S3Client::Send(const S3Request& request) const {
  const std::string url = Url(request);
  const std::string sigv4 = fmt::format("aws:amz:{}:s3", location_.region);
  std::string last_failure;
  for (int attempt = 1; attempt <= std::max(1, location_.max_attempts); ++attempt) {
    if (attempt > 1) {
      auto wait = location_.first_backoff * (1 << std::min(attempt - 2, 5));
      std::this_thread::sleep_for(wait);
    }
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) {
      return Error::Retryable("cannot create a libcurl handle");
    }
    S3Response response;
    Transfer t;
    t.request = &request;
    t.body = &response.body;
    t.headers = &response.headers;
    struct FdCloser {
      int& fd;
      ~FdCloser() {
        if (fd >= 0) {
          ::close(fd);
        }
      }
    } close_upload{t.upload_fd}, close_download{t.download_fd};
    if (!request.upload_file.empty()) {
      t.upload_fd = ::open(request.upload_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (t.upload_fd < 0) {
        int err = errno;
        std::string what =
            fmt::format("cannot open {}: {}", request.upload_file.string(), std::strerror(err));
        return err == ENOENT ? Error::NotFound(what) : Error::Retryable(what);
      }
    }
    if (!request.download_file.empty()) {
      t.download_fd = ::open(request.download_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (t.download_fd < 0) {
        return Error::Retryable(
            fmt::format("cannot create {}: {}", request.download_file.string(), std::strerror(errno)));
      }
    }
    curl_slist* raw_headers = nullptr;
    for (const std::string& h : request.headers) {
      raw_headers = curl_slist_append(raw_headers, h.c_str());
    }
    // libcurl 7.88 signs this header only when it is given: without it every request is refused.
    raw_headers = curl_slist_append(raw_headers, ("x-amz-content-sha256: " + request.payload_sha256).c_str());
    // No "Expect:" header to turn 100-continue off: libcurl 7.88 signs it as an empty header it never sends
    // (SignatureDoesNotMatch). 100-continue also lets a refused put (412) stop before its body is sent.
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, location_.access_key.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, location_.secret_key.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    // https://: the peer and its name verified always (libcurl's defaults, set so that they stay so).
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!location_.ca_file.empty()) {
      curl_easy_setopt(c, CURLOPT_CAINFO, location_.ca_file.c_str());
    }
    char error_detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_detail);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    // A transfer slower than 1 KB/s for 60 s is a dead connection.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWrite);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    if (request.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT" && t.upload_fd >= 0) {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(c, CURLOPT_READDATA, &t);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.upload_length));
    } else if (request.method == "PUT") {
      // A body from memory (small: a bucket's configuration).
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else if (request.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else if (request.method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      if (t.write_errno != 0) {
        return Error::Retryable(
            fmt::format("cannot write {}: {}", request.download_file.string(), std::strerror(t.write_errno)));
      }
      last_failure = fmt::format("{} {}: {}", request.method, url,
                                 error_detail[0] != '\0' ? error_detail : curl_easy_strerror(rc));
      if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
        return Error::Permanent(last_failure);
      }
      // Not retried: the same certificate would not verify the next time either.
      if (rc == CURLE_PEER_FAILED_VERIFICATION) {
        const std::string authorities = location_.ca_file.empty() ? "the system's authorities"
                                                                  : "the authorities in " + location_.ca_file;
        return Error::Permanent(fmt::format(
            "{}: the certificate of {} did not verify against {} (check object_store.ca_file and the host "
            "name in object_store.endpoint)",
            last_failure, scheme_host_, authorities));
      }
      if (rc == CURLE_SSL_CACERT_BADFILE) {
        return Error::Permanent(fmt::format("{}: cannot read the CA file {} (object_store.ca_file)",
                                            last_failure, location_.ca_file));
      }
      continue;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    if (response.status >= 500 && attempt < location_.max_attempts) {
      last_failure = fmt::format("{} {}: {}", request.method, url, response.ErrorText());
      continue;
    }
    return response;
  }
  return Error::Retryable(fmt::format("{} (after {} tries)", last_failure, location_.max_attempts));
}

}  // namespace dimstream::s3

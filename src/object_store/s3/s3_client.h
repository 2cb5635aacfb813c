#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace dimstream::s3 {

// Where a bucket is and who may use it.
struct S3Location {
  std::string endpoint;  // "http://127.0.0.1:17480"; empty: AWS's own endpoint for the region
  std::string region = "us-east-1";
  std::string bucket;
  bool path_style = true;  // http://host/bucket/key; false: http://bucket.host/key
  std::string access_key;
  std::string secret_key;
  // https://: the file of the authorities the endpoint's certificate is verified against (empty: the
  // system's). The peer and its host name are verified always.
  std::string ca_file;
  int max_attempts = 5;  // a request failing on the network or with 5xx is tried again, with back-off
  std::chrono::milliseconds first_backoff{100};
};

// One S3 request. `path` is the object's key, already escaped (S3Client::EscapeKey); empty for the bucket
// itself. `query` is the query string without '?', its parameters sorted by name and their values escaped
// (SigV4 signs it as given).
struct S3Request {
  std::string method = "GET";
  std::string path;
  std::string query;
  std::vector<std::string> headers;   // "Name: value"
  std::string body;                   // sent when upload_file is empty
  std::filesystem::path upload_file;  // sent from offset upload_offset, upload_length bytes
  uint64_t upload_offset = 0;
  uint64_t upload_length = 0;
  std::string payload_sha256 = "UNSIGNED-PAYLOAD";  // x-amz-content-sha256: the server checks a real one
  std::filesystem::path download_file;              // the response body goes there instead of into body
  bool to_service = false;  // to the endpoint itself, not the bucket (radosgw's topics, AWS's SNS-like API)
};

struct S3Response {
  long status = 0;
  std::string body;                            // unless downloaded to a file
  std::map<std::string, std::string> headers;  // names in lower case
  std::string Header(const std::string& lower_name) const;
  // The S3 error's code from an XML error body ("NoSuchKey"); empty when there is none.
  std::string ErrorCode() const;
  // The S3 error's code and message from an XML error body ("NoSuchKey: The specified key does not exist").
  std::string ErrorText() const;
};

// HTTP for S3 with libcurl: SigV4 signing (CURLOPT_AWS_SIGV4), retries with back-off on network errors and
// 5xx, path-style or virtual-host addressing. Thread-safe: every request uses its own handle.
class S3Client {
 public:
  explicit S3Client(S3Location location);

  // The response, whatever its status, once the request got one that is not 5xx (or the last try's 5xx).
  // kRetryable when the server could not be reached; kPermanent when its certificate did not verify (or
  // ca_file cannot be read): trying again would not change that.
  Result<S3Response> Send(const S3Request& request) const;

  // A key as a URL path: each '/'-separated segment percent-encoded (RFC 3986 unreserved bytes kept).
  static std::string EscapeKey(const std::string& key);
  // A query parameter's value, percent-encoded.
  static std::string Escape(const std::string& value);

  // "s3://bucket (endpoint)": for messages, never credentials.
  std::string Describe() const;
  const S3Location& location() const { return location_; }

 private:
  std::string Url(const S3Request& request) const;

  S3Location location_;
  std::string scheme_host_;  // "http://127.0.0.1:17480"
};

}  // namespace dimstream::s3

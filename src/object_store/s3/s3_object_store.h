#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "object_store/object_store.h"
#include "object_store/s3/s3_client.h"

namespace dimstream {

// The bucket on any S3-compatible store ("s3://bucket/prefix/"): tested against Ceph's radosgw.
//
// Objects live under `prefix` (a folder of the bucket, empty or ending in '/'); keys are relative to it and
// follow the local bucket's rules (object_store/resolve_key.h). A put never overwrites an object: it is
// sent with `If-None-Match: *`, so two movers racing for one key leave one whole object, and a key that
// already holds the same bytes (size and SHA-256, kept as the object's `x-amz-meta-sha256`) is a success
// without sending them again. The server checks the body against its SHA-256 (`x-amz-content-sha256`, part
// by part for multipart uploads), and a put reads the object's size and SHA-256 back before it succeeds.
// Files from `multipart_from` bytes on go up in parts of `part_size`. Open downloads the object to a
// temporary file under `spool_dir` and streams that (bounded memory whatever the size; the file is gone
// once the stream is). Thread-safe.
//
// One race is left to the store: radosgw 16 ignores If-None-Match on CompleteMultipartUpload, so two puts of
// different large files (from `multipart_from`) racing for one key can both complete; the one completed
// first then fails its read-back (kRetryable) and, tried again, is refused (kPermanent). The key ends up
// holding one whole file either way.
class S3ObjectStore : public ObjectStore {
 public:
  struct Options {
    s3::S3Location location;
    std::string prefix;  // "" or "incoming/"
    uint64_t multipart_from = 64ull << 20;
    uint64_t part_size = 16ull << 20;  // S3's smallest part is 5 MiB (all parts but the last)
    int list_page = 1000;              // keys a ListObjectsV2 page asks for
    std::filesystem::path spool_dir = std::filesystem::temp_directory_path();
  };
  explicit S3ObjectStore(Options options);

  Status Put(const ObjectKey& key, const std::filesystem::path& source, const ObjectRef& expected) override;
  // Every object under the prefix, in key order (S3 lists in UTF-8 binary order, as std::string compares).
  Result<std::vector<ObjectInfo>> List() override;
  Result<ObjectInfo> Stat(const ObjectKey& key) override;
  Result<std::string> Get(const ObjectKey& key) override;
  Result<std::unique_ptr<ByteStream>> Open(const ObjectKey& key) override;
  // "s3://bucket/prefix (endpoint)".
  std::string Describe() const override;

  // Creates (or updates) the topic `to.topic` on the server, pushing to the exchange `to.exchange` at
  // `to.push_endpoint` with the broker's confirm (amqp-ack-level=broker, not persistent: a put waits for the
  // broker, and a notification the broker does not take is lost, never late), and sets the bucket's
  // notification "dimstream-<topic>": s3:ObjectCreated:* for keys under the prefix. radosgw keeps the
  // bucket's other notifications; AWS S3 would replace them.
  Status NotifyNewObjects(const BucketNotification& to) override;
  // Creates the bucket when it does not exist (tests, `dimstream init`); Ok when it does.
  Status CreateBucket();

 private:
  std::string PathOf(const ObjectKey& key) const;
  Error Failure(const std::string& what, const s3::S3Response& response) const;
  // The response when the request got a 200; otherwise the error, `what` saying what failed.
  Result<s3::S3Response> SendFor200(const s3::S3Request& request, const std::string& what) const;
  Status PutWhole(const ObjectKey& key, const std::filesystem::path& source, const ObjectRef& expected);
  Status PutInParts(const ObjectKey& key, const std::filesystem::path& source, const ObjectRef& expected);
  // The key holds exactly `expected`: Ok; kNotFound when it holds nothing. When it holds other bytes:
  // kPermanent if `after_conflict` (before a put, or after one refused because the key was taken), else
  // kRetryable (the put's bytes did not arrive as sent).
  Status Verify(const ObjectKey& key, const ObjectRef& expected, bool after_conflict);

  Options options_;
  s3::S3Client client_;
  std::atomic<uint64_t> spool_sequence_{0};
};

}  // namespace dimstream

#include "object_store/s3/s3_object_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "common/byte_stream.h"
#include "common/checksum.h"
#include "object_store/resolve_key.h"

namespace dimstream {
namespace fs = std::filesystem;
using s3::S3Client;
using s3::S3Request;
using s3::S3Response;

namespace {

constexpr const char* kShaHeader = "x-amz-meta-sha256";

std::string Unquote(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

// The SHA-256 of `length` bytes of a file from `offset`, lower-case hex.
Result<std::string> Sha256Range(const fs::path& path, uint64_t offset, uint64_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error::Retryable(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  Sha256Hasher hasher;
  std::string buffer(1 << 20, '\0');
  uint64_t done = 0;
  while (done < length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length - done));
    ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset + done));
    if (got <= 0) {
      int err = got < 0 ? errno : EIO;
      ::close(fd);
      return Error::Retryable(fmt::format("cannot read {}: {}", path.string(), std::strerror(err)));
    }
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(got)));
    done += static_cast<uint64_t>(got);
  }
  ::close(fd);
  return hasher.Finish().get();
}

}  // namespace

S3ObjectStore::S3ObjectStore(Options options) : options_(std::move(options)), client_(options_.location) {
  if (!options_.prefix.empty() && options_.prefix.back() != '/') {
    options_.prefix += '/';
  }
}

std::string S3ObjectStore::PathOf(const ObjectKey& key) const {
  return S3Client::EscapeKey(options_.prefix + key.get());
}

std::string S3ObjectStore::Describe() const {
  const s3::S3Location& l = client_.location();
  return fmt::format("s3://{}/{} ({})", l.bucket, options_.prefix,
                     l.endpoint.empty() ? "AWS, " + l.region : l.endpoint);
}

Error S3ObjectStore::Failure(const std::string& what, const S3Response& response) const {
  std::string message = fmt::format("{} in {}: {}", what, Describe(), response.ErrorText());
  if (response.status == 404) {
    return Error::NotFound(message);
  }
  if (response.status == 401 || response.status == 403) {
    return Error::Permanent(message + " (check the access key and secret key, and the bucket's policy)");
  }
  // The body did not hash to what was sent with it (the file changed under the put, or the bytes were
  // damaged on the way): the same put may well succeed next time.
  const std::string code = response.ErrorCode();
  const bool damaged = code == "XAmzContentSHA256Mismatch" || code == "BadDigest";
  if (response.status >= 500 || response.status == 429 || damaged) {
    return Error::Retryable(message);
  }
  return Error::Permanent(message);
}

Result<S3Response> S3ObjectStore::SendFor200(const S3Request& request, const std::string& what) const {
  auto r = client_.Send(request);
  if (!r.ok()) {
    return r.error();
  }
  if (r->status != 200) {
    return Failure(what, *r);
  }
  return r;
}

Status S3ObjectStore::CreateBucket() {
  S3Request request;
  request.method = "PUT";
  auto r = client_.Send(request);
  if (!r.ok()) {
    return r.error();
  }
  // 409 BucketAlreadyOwnedByYou: it is there.
  if (r->status == 200 || r->status == 409) {
    return Ok();
  }
  return Failure("cannot create the bucket", *r);
}

Result<ObjectInfo> S3ObjectStore::Stat(const ObjectKey& key) {
  DIMSTREAM_TRY(CheckKey(key));
  S3Request request;
  request.method = "HEAD";
  request.path = PathOf(key);
  auto r = SendFor200(request, fmt::format("cannot stat {}", key.get()));
  if (!r.ok()) {
    return r.error();
  }
  ObjectInfo info;
  info.key = key;
  info.size = std::strtoull(r->Header("content-length").c_str(), nullptr, 10);
  info.version_tag = Unquote(r->Header("etag"));
  return info;
}

Result<std::vector<ObjectInfo>> S3ObjectStore::List() {
  std::vector<ObjectInfo> out;
  std::string token;
  while (true) {
    S3Request request;
    // Sorted by name, as SigV4 wants them.
    request.query = fmt::format("{}list-type=2&max-keys={}&prefix={}",
                                token.empty() ? "" : "continuation-token=" + S3Client::Escape(token) + "&",
                                options_.list_page, S3Client::Escape(options_.prefix));
    auto r = SendFor200(request, "cannot list the bucket");
    if (!r.ok()) {
      return r.error();
    }
    pugi::xml_document doc;
    if (!doc.load_string(r->body.c_str())) {
      return Error::Retryable(fmt::format("cannot list {}: the listing is not XML", Describe()));
    }
    pugi::xml_node result = doc.child("ListBucketResult");
    for (pugi::xml_node c : result.children("Contents")) {
      std::string full = c.child_value("Key");
      if (full.size() <= options_.prefix.size() ||
          full.compare(0, options_.prefix.size(), options_.prefix) != 0) {
        continue;
      }
      ObjectKey key(full.substr(options_.prefix.size()));
      // A folder marker ("dir/") or a name the local bucket would not show either is not an object.
      if (!CheckKey(key).ok()) {
        continue;
      }
      ObjectInfo info;
      info.key = key;
      info.size = std::strtoull(c.child_value("Size"), nullptr, 10);
      info.version_tag = Unquote(c.child_value("ETag"));
      out.push_back(std::move(info));
    }
    if (std::string(result.child_value("IsTruncated")) != "true") {
      break;
    }
    token = result.child_value("NextContinuationToken");
    if (token.empty()) {
      return Error::Retryable(
          fmt::format("cannot list {}: a truncated page without a continuation token", Describe()));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key.get() < b.key.get(); });
  return out;
}

Result<std::string> S3ObjectStore::Get(const ObjectKey& key) {
  DIMSTREAM_TRY(CheckKey(key));
  S3Request request;
  request.path = PathOf(key);
  auto r = SendFor200(request, fmt::format("cannot get {}", key.get()));
  if (!r.ok()) {
    return r.error();
  }
  return std::move(r->body);
}

Result<std::unique_ptr<ByteStream>> S3ObjectStore::Open(const ObjectKey& key) {
  DIMSTREAM_TRY(CheckKey(key));
  S3Request request;
  request.path = PathOf(key);
  request.download_file =
      options_.spool_dir / fmt::format(".dimstream-s3-{}-{}", ::getpid(), ++spool_sequence_);
  struct Unlink {
    const fs::path& path;
    ~Unlink() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } unlink{request.download_file};
  auto r = SendFor200(request, fmt::format("cannot get {}", key.get()));
  if (!r.ok()) {
    return r.error();
  }
  // Open before the file's name goes: the stream holds the only reference then.
  int fd = ::open(request.download_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error::Retryable(
        fmt::format("cannot open {}: {}", request.download_file.string(), std::strerror(errno)));
  }
  return std::unique_ptr<ByteStream>(
      std::make_unique<FileStream>(fd, fmt::format("{} from {}", key.get(), Describe())));
}

Status S3ObjectStore::Verify(const ObjectKey& key, const ObjectRef& expected, bool after_conflict) {
  S3Request request;
  request.method = "HEAD";
  request.path = PathOf(key);
  auto r = SendFor200(request, fmt::format("cannot check {}", key.get()));
  if (!r.ok()) {
    return r.error();
  }
  const uint64_t size = std::strtoull(r->Header("content-length").c_str(), nullptr, 10);
  const std::string sha = r->Header(kShaHeader);
  if (size == expected.size && sha == expected.checksum.get()) {
    return Ok();
  }
  if (after_conflict) {
    // Another put won the key with other bytes: never overwritten, so this file cannot go there.
    return Error::Permanent(
        fmt::format("cannot put {} into {}: the key already holds another object ({} bytes, SHA-256 {})",
                    key.get(), Describe(), size, sha.empty() ? "unknown" : sha));
  }
  return Error::Retryable(fmt::format("put {} into {}, but it reads back as {} bytes with SHA-256 {}",
                                      key.get(), Describe(), size, sha.empty() ? "unknown" : sha));
}

Status S3ObjectStore::Put(const ObjectKey& key, const fs::path& source, const ObjectRef& expected) {
  DIMSTREAM_TRY(CheckKey(key));
  std::error_code ec;
  const uint64_t size = fs::file_size(source, ec);
  if (ec) {
    std::string what = fmt::format("cannot put {}: {}: {}", key.get(), source.string(), ec.message());
    return ec == std::errc::no_such_file_or_directory ? Error::NotFound(what) : Error::Retryable(what);
  }
  if (size != expected.size) {
    return Error::Retryable(fmt::format("cannot put {}: {} holds {} bytes, not the {} expected", key.get(),
                                        source.string(), size, expected.size));
  }
  // Already there (a put repeated after a crash or a lost notification): nothing to send when it holds
  // these bytes, refused when it holds others. Not only a saving: radosgw 16 does not honour If-None-Match
  // on CompleteMultipartUpload, so for large files this check is what keeps an object from being replaced.
  Status there = Verify(key, expected, true);
  if (there.ok() || there.error().kind != ErrorKind::kNotFound) {
    return there;
  }
  return size >= options_.multipart_from ? PutInParts(key, source, expected)
                                         : PutWhole(key, source, expected);
}

Status S3ObjectStore::PutWhole(const ObjectKey& key, const fs::path& source, const ObjectRef& expected) {
  S3Request request;
  request.method = "PUT";
  request.path = PathOf(key);
  request.upload_file = source;
  request.upload_length = expected.size;
  // The server refuses the body unless it has this SHA-256: what the mover hashed is what is stored.
  request.payload_sha256 = expected.checksum.get();
  request.headers = {"If-None-Match: *", fmt::format("{}: {}", kShaHeader, expected.checksum.get()),
                     "Content-Type: application/octet-stream"};
  auto r = client_.Send(request);
  if (!r.ok()) {
    return r.error();
  }
  if (r->status == 412 || r->status == 409) {
    return Verify(key, expected, true);
  }
  if (r->status != 200) {
    return Failure(fmt::format("cannot put {}", key.get()), *r);
  }
  return Verify(key, expected, false);
}

Status S3ObjectStore::PutInParts(const ObjectKey& key, const fs::path& source, const ObjectRef& expected) {
  const std::string what = fmt::format("cannot put {} in parts", key.get());
  S3Request create;
  create.method = "POST";
  create.path = PathOf(key);
  create.query = "uploads=";  // libcurl's SigV4 wants a bare sub-resource with its '='
  create.headers = {fmt::format("{}: {}", kShaHeader, expected.checksum.get()),
                    "Content-Type: application/octet-stream"};
  auto created = client_.Send(create);
  if (!created.ok()) {
    return created.error();
  }
  if (created->status != 200) {
    return Failure(what, *created);
  }
  pugi::xml_document doc;
  doc.load_string(created->body.c_str());
  const std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (upload_id.empty()) {
    return Error::Retryable(fmt::format("{} in {}: no upload id in the answer", what, Describe()));
  }
  const std::string id_query = "uploadId=" + S3Client::Escape(upload_id);
  auto abort = [&](const Error& error) {
    S3Request request;
    request.method = "DELETE";
    request.path = PathOf(key);
    request.query = id_query;
    (void)client_.Send(request);  // best effort: a bucket lifecycle rule cleans what is left
    return error;
  };
  std::string complete = "<CompleteMultipartUpload>";
  const uint64_t part_size = std::max<uint64_t>(options_.part_size, 5ull << 20);
  int number = 0;
  for (uint64_t offset = 0; offset < expected.size || number == 0; offset += part_size) {
    ++number;
    S3Request part;
    part.method = "PUT";
    part.path = PathOf(key);
    part.query = fmt::format("partNumber={}&{}", number, id_query);
    part.upload_file = source;
    part.upload_offset = offset;
    part.upload_length = std::min(part_size, expected.size - offset);
    auto sha = Sha256Range(source, offset, part.upload_length);
    if (!sha.ok()) {
      return abort(sha.error());
    }
    part.payload_sha256 = *sha;
    auto sent = client_.Send(part);
    if (!sent.ok()) {
      return abort(sent.error());
    }
    if (sent->status != 200) {
      return abort(Failure(fmt::format("{} (part {})", what, number), *sent));
    }
    complete +=
        fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", number, sent->Header("etag"));
  }
  complete += "</CompleteMultipartUpload>";
  // The key may have been taken while the parts went up: the check before the put cannot see that, and
  // not every S3 store takes If-None-Match on this request, so the object is read back either way.
  S3Request finish;
  finish.method = "POST";
  finish.path = PathOf(key);
  finish.query = id_query;
  finish.body = complete;
  finish.payload_sha256 = Sha256(complete).get();
  finish.headers = {"If-None-Match: *", "Content-Type: application/xml"};
  auto done = client_.Send(finish);
  if (!done.ok()) {
    return abort(done.error());
  }
  if (done->status == 412 || done->status == 409) {
    Status there = Verify(key, expected, true);
    (void)abort(Error::Permanent("the key was taken while the parts went up"));
    return there;
  }
  // CompleteMultipartUpload may answer 200 with an error in its body.
  if (done->status != 200 || done->body.find("<Error>") != std::string::npos) {
    return abort(Failure(what, *done));
  }
  return Verify(key, expected, false);
}

}  // namespace dimstream

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/types.h"

namespace dimstream {

// One record of an S3 event notification: the message body S3 itself sends (and radosgw, which calls the
// source "ceph:s3"), and the one dimstream's mover publishes, so that a queue fed by the bucket and one fed
// by the mover read alike. `key` is the object's whole key in its bucket.
struct ObjectEvent {
  std::string source;  // eventSource: "aws:s3", "ceph:s3", "dimstream:mover"
  std::string name;    // eventName without "s3:": "ObjectCreated:Put", "ObjectRemoved:Delete", ...
  std::string bucket;
  std::string key;
  uint64_t size = 0;

  bool Created() const { return name.starts_with("ObjectCreated:"); }
};

// {"Records":[{...}]} with one record for `event`.
std::string EncodeObjectEvent(const ObjectEvent& event);

// Every record of a notification body. AWS form-encodes the key (' ' as '+', others as %XX); it is decoded
// for "aws:s3" records. A body with no "Records" array (S3's "s3:TestEvent", say) has no records.
// kInvalidInput when the body is not JSON or a record has no object key.
Result<std::vector<ObjectEvent>> DecodeObjectEvents(std::string_view body);

}  // namespace dimstream

#include "queue/object_event.h"

#include <gtest/gtest.h>

namespace dimstream {
namespace {

TEST(queue_object_event, RoundTripsWhatTheMoverPublishes) {
  ObjectEvent event{"dimstream:mover", "ObjectCreated:Put", "bucket", "incoming/a b+c.csv", 42};
  auto decoded = DecodeObjectEvents(EncodeObjectEvent(event));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  const ObjectEvent& got = decoded->front();
  EXPECT_EQ(got.source, "dimstream:mover");
  EXPECT_EQ(got.name, "ObjectCreated:Put");
  EXPECT_TRUE(got.Created());
  EXPECT_EQ(got.bucket, "bucket");
  EXPECT_EQ(got.key, "incoming/a b+c.csv");  // not form-decoded: only AWS's own records are
  EXPECT_EQ(got.size, 42u);
}

TEST(queue_object_event, ReadsRadosgwAndAwsRecords) {
  // The shapes radosgw 16 and S3 send (trimmed to what is read); AWS form-encodes the key.
  const char* body = R"({"Records":[
    {"eventVersion":"2.2","eventSource":"ceph:s3","eventName":"ObjectCreated:Put",
     "s3":{"bucket":{"name":"b1"},"object":{"key":"incoming/x.csv","size":7,"eTag":"abc"}}},
    {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"s3:ObjectRemoved:Delete",
     "s3":{"bucket":{"name":"b2"},"object":{"key":"in/a+b%2Bc%20d.csv"}}}]})";
  auto decoded = DecodeObjectEvents(body);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0].key, "incoming/x.csv");
  EXPECT_EQ((*decoded)[0].size, 7u);
  EXPECT_TRUE((*decoded)[0].Created());
  EXPECT_EQ((*decoded)[1].key, "in/a b+c d.csv");
  EXPECT_EQ((*decoded)[1].name, "ObjectRemoved:Delete");
  EXPECT_FALSE((*decoded)[1].Created());
  EXPECT_EQ((*decoded)[1].bucket, "b2");
}

TEST(queue_object_event, AMessageWithoutRecordsHasNone) {
  auto decoded = DecodeObjectEvents(R"({"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"})");
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

TEST(queue_object_event, RefusesWhatIsNotANotification) {
  for (const char* body : {"", "not json", "[1,2]", R"({"Records":3})", R"({"Records":[{"s3":{}}]})",
                           R"({"Records":[{"s3":{"object":{"key":5}}}]})"}) {
    auto decoded = DecodeObjectEvents(body);
    ASSERT_FALSE(decoded.ok()) << body;
    EXPECT_EQ(decoded.error().kind, ErrorKind::kInvalidInput) << body;
  }
}

}  // namespace
}  // namespace dimstream

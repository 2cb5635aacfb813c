// S3ObjectStore::NotifyNewObjects: the bucket's own notifications of new objects, through a topic of the
// S3 server to an AMQP exchange (radosgw's bucket notifications, with its SNS-like topic API).
#include <sstream>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "common/checksum.h"
#include "object_store/s3/s3_object_store.h"

namespace dimstream {
namespace {

using s3::S3Client;
using s3::S3Request;

// The form of a CreateTopic request: its attributes as Attributes.entry.N.key/value pairs.
std::string CreateTopicForm(const BucketNotification& to) {
  const std::pair<const char*, std::string> attributes[] = {
      {"push-endpoint", to.push_endpoint},
      {"amqp-exchange", to.exchange},
      {"amqp-ack-level", "broker"},
      {"persistent", "false"},
  };
  std::string form = "Action=CreateTopic&Name=" + S3Client::Escape(to.topic);
  int n = 0;
  for (const auto& [key, value] : attributes) {
    ++n;
    form += fmt::format("&Attributes.entry.{0}.key={1}&Attributes.entry.{0}.value={2}", n, key,
                        S3Client::Escape(value));
  }
  return form;
}

std::string NotificationXml(const std::string& id, const std::string& topic_arn, const std::string& prefix) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("NotificationConfiguration");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  pugi::xml_node topic = root.append_child("TopicConfiguration");
  topic.append_child("Id").text() = id.c_str();
  topic.append_child("Topic").text() = topic_arn.c_str();
  topic.append_child("Event").text() = "s3:ObjectCreated:*";
  if (!prefix.empty()) {
    pugi::xml_node rule = topic.append_child("Filter").append_child("S3Key").append_child("FilterRule");
    rule.append_child("Name").text() = "prefix";
    rule.append_child("Value").text() = prefix.c_str();
  }
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

}  // namespace

Status S3ObjectStore::NotifyNewObjects(const BucketNotification& to) {
  S3Request topic;
  topic.method = "POST";
  topic.to_service = true;
  topic.body = CreateTopicForm(to);
  topic.payload_sha256 = Sha256(topic.body).get();  // radosgw's topic API checks the body's hash
  topic.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  auto created = SendFor200(topic, fmt::format("cannot create the topic {}", to.topic));
  if (!created.ok()) {
    return created.error();
  }
  pugi::xml_document reply;
  std::string arn;
  if (reply.load_string(created->body.c_str())) {
    arn = reply.select_node("//TopicArn").node().text().as_string();
  }
  if (arn.empty()) {
    return Error::Permanent(
        fmt::format("the server of {} created the topic {} but named no TopicArn", Describe(), to.topic));
  }
  S3Request config;
  config.method = "PUT";
  config.query = "notification=";
  config.body = NotificationXml("dimstream-" + to.topic, arn, options_.prefix);
  config.payload_sha256 = Sha256(config.body).get();
  auto set =
      SendFor200(config, fmt::format("cannot set the bucket's notification to the topic {}", to.topic));
  if (!set.ok()) {
    return set.error();
  }
  return Ok();
}

}  // namespace dimstream

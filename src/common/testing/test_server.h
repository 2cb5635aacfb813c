#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace dimstream::test_support {

// A line a private test server wrote into its directory (scripts/servers/<server>.sh start DIR), for
// example rgw's "endpoint": the CTest fixture that started the server sets DIMSTREAM_TEST_SERVERS to the
// directory above DIR (cmake/Testing.cmake). Empty, with `why` saying why, when there is no such server:
// the test then fails, since a test that needs a server and runs without one proves nothing.
inline std::string TestServerValue(const std::string& server, const std::string& file, std::string* why) {
  const char* root = std::getenv("DIMSTREAM_TEST_SERVERS");
  if (root == nullptr || *root == '\0') {
    *why = "DIMSTREAM_TEST_SERVERS is not set: run this test through ctest, which starts the " + server +
           " server (scripts/servers/" + server + ".sh)";
    return {};
  }
  const std::filesystem::path path = std::filesystem::path(root) / server / file;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    *why =
        "no " + path.string() + ": did scripts/servers/" + server + ".sh start fail? (its log is beside it)";
    return {};
  }
  return line;
}

// The path of a file in a private test server's directory (its CA certificate, say); empty without
// DIMSTREAM_TEST_SERVERS.
inline std::filesystem::path TestServerFile(const std::string& server, const std::string& file) {
  const char* root = std::getenv("DIMSTREAM_TEST_SERVERS");
  if (root == nullptr || *root == '\0') {
    return {};
  }
  return std::filesystem::path(root) / server / file;
}

}  // namespace dimstream::test_support

#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

namespace dimstream::test_support {

// A fresh, empty directory for the running test under the system's temporary directory, named after the
// test and the run's random seed (two runs of one test never share it); removed when it goes. For tests
// only (it asks GoogleTest which test runs).
class TestDir {
 public:
  explicit TestDir(const std::string& prefix) {
    const auto* unit = ::testing::UnitTest::GetInstance();
    std::string name = unit->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');  // a parameterised test's name: "Test/Param"
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "_" + std::to_string(unit->random_seed()) + "_" + name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace dimstream::test_support

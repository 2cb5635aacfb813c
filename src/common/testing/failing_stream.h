#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "common/byte_stream.h"

namespace dimstream::test_support {

// Gives its bytes (at most `max_read` a Read), then fails every Read with `error`: an object store's
// connection that drops, a decompressor that finds corrupt data. For tests.
class FailingStream : public ByteStream {
 public:
  FailingStream(std::string bytes, Error error, size_t max_read = SIZE_MAX)
      : bytes_(std::move(bytes)), inner_(bytes_, max_read), error_(std::move(error)) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    if (inner_.consumed() == bytes_.size()) {
      return error_;
    }
    return inner_.Read(buffer, size);
  }
  uint64_t consumed() const override { return inner_.consumed(); }

 private:
  std::string bytes_;
  MemoryStream inner_;  // over bytes_, declared after it
  Error error_;
};

}  // namespace dimstream::test_support

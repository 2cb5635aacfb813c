#include "common/error.h"

namespace dimstream {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kRetryable:
      return "retryable";
    case ErrorKind::kPermanent:
      return "permanent";
    case ErrorKind::kInvalidInput:
      return "invalid input";
    case ErrorKind::kNotFound:
      return "not found";
  }
  return "unknown";
}

}  // namespace dimstream

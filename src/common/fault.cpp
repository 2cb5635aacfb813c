#include "common/fault.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace dimstream {
namespace {

struct FaultSpec {
  std::string name;
  long hit_at = 1;
  std::atomic<long> hits{0};
};

FaultSpec* Spec() {
  static FaultSpec* spec = []() -> FaultSpec* {
    const char* env = std::getenv("DIMSTREAM_FAULT");
    if (env == nullptr || *env == '\0') {
      return nullptr;
    }
    auto* s = new FaultSpec;  // lives for the whole process, by design
    std::string text(env);
    auto colon = text.find(':');
    s->name = text.substr(0, colon);
    if (colon != std::string::npos) {
      s->hit_at = std::max(1L, std::strtol(text.c_str() + colon + 1, nullptr, 10));
    }
    return s;
  }();
  return spec;
}

}  // namespace

void FaultPoint(const char* name) {
  FaultSpec* spec = Spec();
  if (spec == nullptr || spec->name != name) {
    return;
  }
  if (++spec->hits == spec->hit_at) {
    ::kill(::getpid(), SIGKILL);
    ::pause();
  }
}

}  // namespace dimstream

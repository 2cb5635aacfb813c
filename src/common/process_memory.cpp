#include "common/process_memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dimstream {

void ReturnFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

ProcessMemory ReadProcessMemory() {
  ProcessMemory m;
  uint64_t pages = 0;
  uint64_t resident = 0;
  // statm rather than status: it reads counters, without the lock that a process busy mapping memory holds.
  if (std::ifstream("/proc/self/statm") >> pages >> resident) {
    m.resident = resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    m.peak = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
  }
  return m;
}

}  // namespace dimstream

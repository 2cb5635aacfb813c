#pragma once

#include <cstdint>

namespace dimstream {

// Gives the memory that the C library's allocator holds free back to the system. A large load or merge
// transaction allocates hundreds of MB in bursts; glibc keeps what was freed in its arenas, so that the
// process's resident size would stay at the largest burst's. Called between transactions (a few ms).
void ReturnFreeMemory();

// The process's resident memory now and its peak so far, in bytes (0 where the system does not say).
struct ProcessMemory {
  uint64_t resident = 0;
  uint64_t peak = 0;
};
ProcessMemory ReadProcessMemory();

}  // namespace dimstream

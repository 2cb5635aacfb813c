#pragma once

namespace dimstream {

// Named fault points for crash tests. With DIMSTREAM_FAULT=<name>[:<n>] in the environment, the n-th time
// (default the first) the process passes the point named <name>, it kills itself with SIGKILL on the spot:
// no destructor, no flush, no commit, as a power cut would. Without the variable this is one branch on a
// cached flag. Points are listed in README.md ("Crash testing").
void FaultPoint(const char* name);

}  // namespace dimstream

#include "cli/signals.h"

#include <signal.h>
#include <unistd.h>

#include <thread>

namespace dimstream {

void InstallStopSignals(StopSignal& stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &stop] {
    int count = 0;
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) {
        continue;
      }
      if (++count == 1) {
        static const char kMsg[] = "\ndimstream: stopping (press Ctrl-C again to quit at once)\n";
        (void)!::write(2, kMsg, sizeof(kMsg) - 1);
        stop.Request();
      } else {
        _exit(130);
      }
    }
  }).detach();
}

}  // namespace dimstream

#pragma once

#include "common/stop.h"

namespace dimstream {

// Turns the first SIGINT or SIGTERM into a stop request (the roles finish or roll back the work in
// hand), and a second one into an immediate exit. Call once from main before starting any thread: it
// blocks the signals in every thread and waits for them on its own.
void InstallStopSignals(StopSignal& stop);

}  // namespace dimstream

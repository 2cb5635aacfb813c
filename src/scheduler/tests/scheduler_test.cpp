#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace dimstream {
namespace {

// Waits up to 30 s for `done`, so that a slow machine does not fail the test.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 3000 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(SchedulerTest, TriggerRunsWithoutWaitingForTheInterval) {
  std::atomic<int> runs{0};
  Scheduler s("t", std::chrono::hours(1), [&] {
    runs++;
    return Ok();
  });
  StopSignal stop;
  std::thread t([&] { s.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return runs >= 1; }));  // the first run happens at start
  s.Trigger();
  EXPECT_TRUE(Eventually([&] { return runs >= 2; }));
  stop.Request();
  t.join();
}

TEST(SchedulerTest, NeverTwoAtOnceAndFailuresAreRetried) {
  std::atomic<int> running{0}, max_running{0}, runs{0};
  Scheduler s("t", std::chrono::milliseconds(1), [&]() -> Status {
    int now = ++running;
    max_running = std::max(max_running.load(), now);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --running;
    return ++runs % 2 == 0 ? Ok() : Status(Error::Retryable("boom"));
  });
  StopSignal stop;
  std::thread t([&] { s.Run(stop); });
  std::thread triggers([&] {
    for (int i = 0; i < 50; ++i) {
      s.Trigger();
    }
  });
  triggers.join();
  ASSERT_TRUE(Eventually([&] { return s.runs() >= 10; }));
  stop.Request();
  t.join();
  EXPECT_EQ(max_running.load(), 1);
  EXPECT_GE(s.failures(), 4u);
}

}  // namespace
}  // namespace dimstream

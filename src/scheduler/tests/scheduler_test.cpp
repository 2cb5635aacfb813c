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

// Pending: a trigger during a run is work for the next one (what the merge's compaction yields to).
TEST(SchedulerTest, PendingSaysATriggerCameDuringTheRun) {
  std::atomic<int> runs{0};
  std::atomic<bool> before{true}, after{false};
  Scheduler* self = nullptr;
  Scheduler s("t", std::chrono::hours(1), [&] {
    if (++runs == 2) {
      before = self->Pending();
      self->Trigger();
      after = self->Pending();
    }
    return Ok();
  });
  self = &s;
  StopSignal stop;
  std::thread t([&] { s.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return runs >= 1; }));
  s.Trigger();
  ASSERT_TRUE(Eventually([&] { return runs >= 3; })) << "the trigger during run 2 runs the job again";
  stop.Request();
  t.join();
  EXPECT_FALSE(before.load()) << "the trigger that started run 2 is not pending during it";
  EXPECT_TRUE(after.load());
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

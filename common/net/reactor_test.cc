// Reactor: timers run in order and can be cancelled and repeat; plain fds report readiness; a
// ZeroMQ socket with many queued messages is drained completely (none lost, none stuck, also
// when every message is answered on the same sockets); the stop signals arrive through the
// signalfd; Stop() from a handler or another thread ends Run().
#include "common/net/reactor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "common/net/reactor_test_util.h"
#include "common/net/zmq_util.h"

namespace ringkv::net {
namespace {

// Every Run() in these tests is bounded: the guard stops the reactor and marks the test failed.
struct Guard {
  bool fired = false;
  uint64_t id;
  Guard(Reactor& r, int64_t ms) {
    id = r.AddTimer(ms, [this, &r] {
      fired = true;
      r.Stop();
    });
  }
};

TEST(ReactorTest, TimersRunInDueOrderAndOnceEach) {
  Reactor r;
  ASSERT_TRUE(r.status().ok());
  std::vector<int> order;
  r.AddTimer(30, [&] { order.push_back(3); });
  r.AddTimer(10, [&] { order.push_back(1); });
  r.AddTimer(20, [&] { order.push_back(2); });
  r.AddTimer(20, [&] { order.push_back(22); });  // same due time: order of adding
  r.AddTimer(40, [&] { r.Stop(); });
  Guard g(r, 5000);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_FALSE(g.fired);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 22, 3}));
}

TEST(ReactorTest, CancelledTimerNeverRuns) {
  Reactor r;
  bool ran = false;
  const uint64_t id = r.AddTimer(10, [&] { ran = true; });
  EXPECT_TRUE(r.CancelTimer(id));
  EXPECT_FALSE(r.CancelTimer(id)) << "cancelled twice";
  r.AddTimer(50, [&] { r.Stop(); });
  Guard g(r, 5000);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_FALSE(ran);
  EXPECT_FALSE(g.fired);
}

TEST(ReactorTest, RepeatingTimerRepeatsUntilItCancelsItself) {
  Reactor r;
  int runs = 0;
  uint64_t id = 0;
  const int64_t start = NowMs();
  id = r.AddTimer(5, [&] {
    if (++runs == 5) {
      EXPECT_TRUE(r.CancelTimer(id));  // from inside itself
      r.AddTimer(30, [&] { r.Stop(); });
    }
  }, 5);
  Guard g(r, 5000);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_FALSE(g.fired);
  EXPECT_EQ(runs, 5);
  EXPECT_GE(NowMs() - start, 25) << "five periods of 5 ms, then 30 ms";
}

TEST(ReactorTest, TimerAddedDueNowWaitsForTheNextPass) {
  Reactor r;
  int chain = 0;
  std::function<void()> again = [&] {
    if (++chain < 100) r.AddTimer(0, again);
  };
  r.AddTimer(0, again);
  ASSERT_TRUE(r.RunOnce(0).ok());
  EXPECT_EQ(chain, 1) << "a timer added due now by a timer runs in a later pass";
  for (int i = 0; i < 200 && chain < 100; ++i) ASSERT_TRUE(r.RunOnce(100).ok());
  EXPECT_EQ(chain, 100);
}

TEST(ReactorTest, PlainFdReadinessAndRemoval) {
  Reactor r;
  SocketPair s;
  std::string got;
  int calls = 0;
  ASSERT_TRUE(r.AddFd(s.a, EPOLLIN, [&](uint32_t ev) {
    ++calls;
    EXPECT_TRUE(ev & EPOLLIN);
    char buf[16];
    const ssize_t n = read(s.a, buf, sizeof(buf));
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (got == "hello") r.Stop();
  }).ok());
  EXPECT_FALSE(r.AddFd(s.a, EPOLLIN, [](uint32_t) {}).ok()) << "registered twice";
  ASSERT_TRUE(r.RunOnce(0).ok());
  EXPECT_EQ(calls, 0) << "nothing to read yet";
  ASSERT_EQ(write(s.b, "hello", 5), 5);
  Guard g(r, 5000);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_FALSE(g.fired);
  EXPECT_EQ(got, "hello");

  // Writable interest, then parked (0), then removed: no more calls.
  bool writable = false;
  ASSERT_TRUE(r.AddFd(s.b, EPOLLOUT, [&](uint32_t ev) { writable = (ev & EPOLLOUT) != 0; }).ok());
  ASSERT_TRUE(r.RunOnce(1000).ok());
  EXPECT_TRUE(writable);
  writable = false;
  ASSERT_TRUE(r.SetFdEvents(s.b, 0).ok());
  ASSERT_TRUE(r.RunOnce(0).ok());
  EXPECT_FALSE(writable);
  r.RemoveFd(s.b);
  r.RemoveFd(s.a);
  ASSERT_EQ(write(s.b, "x", 1), 1);
  const int before = calls;
  ASSERT_TRUE(r.RunOnce(0).ok());
  EXPECT_EQ(calls, before);
  EXPECT_FALSE(r.SetFdEvents(s.a, EPOLLIN).ok());
}

TEST(ReactorTest, HandlerMayRemoveItselfAndAnotherReadyFd) {
  Reactor r;
  SocketPair p1, p2;
  int calls = 0;
  // Both are readable in the same pass; whichever runs first removes both.
  auto h = [&](uint32_t) {
    ++calls;
    r.RemoveFd(p1.a);
    r.RemoveFd(p2.a);
  };
  ASSERT_TRUE(r.AddFd(p1.a, EPOLLIN, h).ok());
  ASSERT_TRUE(r.AddFd(p2.a, EPOLLIN, h).ok());
  ASSERT_EQ(write(p1.b, "x", 1), 1);
  ASSERT_EQ(write(p2.b, "x", 1), 1);
  ASSERT_TRUE(r.RunOnce(1000).ok());
  EXPECT_EQ(calls, 1);
}

// A handler whose closure is small enough to live inside its std::function (one pointer) and
// that uses its capture after removing itself: the reactor must keep the closure alive until
// the end of the pass (AddressSanitizer reports it otherwise).
TEST(ReactorTest, HandlerUsesItsCaptureAfterRemovingItself) {
  struct Ctx {
    Reactor r;
    SocketPair s;
    uint64_t timer = 0;
    int fd_calls = 0;
    int timer_calls = 0;
  };
  auto c = std::make_unique<Ctx>();
  Ctx* p = c.get();
  ASSERT_TRUE(c->r.AddFd(c->s.a, EPOLLIN, [p](uint32_t) {
    p->r.RemoveFd(p->s.a);
    ++p->fd_calls;
  }).ok());
  c->timer = c->r.AddTimer(0, [p] {
    p->r.CancelTimer(p->timer);
    ++p->timer_calls;
  }, 1);
  ASSERT_EQ(write(c->s.b, "x", 1), 1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c->r.RunOnce(100).ok());
  EXPECT_EQ(c->fd_calls, 1);
  EXPECT_EQ(c->timer_calls, 1);
}

// Receives without waiting until EAGAIN or the budget (THE ZEROMQ RULE); counts messages.
bool Drain(zmq::socket_t& s, int budget, std::vector<int>* got) {
  for (int i = 0; i < budget; ++i) {
    zmq::message_t m;
    if (!s.recv(m, zmq::recv_flags::dontwait)) return false;
    got->push_back(std::stoi(m.to_string()));
  }
  return true;
}

TEST(ReactorTest, ZeroMQPairWithManyQueuedMessagesLosesNoneAndLeavesNoneStuck) {
  zmq::context_t ctx(1);
  SocketOptions o;
  o.send_hwm = 0;
  o.recv_hwm = 0;
  auto a = MakeSocket(ctx, zmq::socket_type::pair, o);
  auto b = MakeSocket(ctx, zmq::socket_type::pair, o);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(Bind(*a, "inproc://reactor-test").ok());
  ASSERT_TRUE(Connect(*b, "inproc://reactor-test").ok());
  constexpr int kQueued = 5000;
  for (int i = 0; i < kQueued; ++i) {
    ASSERT_TRUE(b->send(zmq::buffer(std::to_string(i)), zmq::send_flags::dontwait));
  }
  Reactor r;
  std::vector<int> got;
  int calls = 0;
  ASSERT_TRUE(r.AddZmq(*a, [&](int budget) {
    ++calls;
    EXPECT_EQ(budget, Reactor::kBatch);
    const bool more = Drain(*a, budget, &got);
    if (got.size() == kQueued) r.Stop();
    return more;
  }).ok());
  Guard g(r, 10000);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_FALSE(g.fired) << "stuck after " << got.size() << " messages";
  ASSERT_EQ(got.size(), static_cast<size_t>(kQueued));
  for (int i = 0; i < kQueued; ++i) ASSERT_EQ(got[i], i);
  EXPECT_GE(calls, kQueued / Reactor::kBatch) << "a bounded batch per call";
  r.CancelTimer(g.id);

  // Ping-pong on the same two sockets: every receive is answered by a send on the receiving
  // socket (rule 2: Kick after it): message v is answered by v + kWindow until kTotal
  // messages went round, so kWindow messages are in flight all along.
  constexpr int kTotal = 20000;
  constexpr int kWindow = 32;
  std::vector<int> at_a, at_b;
  auto bounce = [&](zmq::socket_t& s, std::vector<int>* seen, int budget) {
    std::vector<int> batch;
    const bool more = Drain(s, budget, &batch);
    for (int v : batch) {
      seen->push_back(v);
      if (v + kWindow < kTotal) {
        EXPECT_TRUE(s.send(zmq::buffer(std::to_string(v + kWindow)), zmq::send_flags::dontwait));
      }
    }
    if (!batch.empty()) r.Kick(s);
    if (at_a.size() + at_b.size() == static_cast<size_t>(kTotal)) r.Stop();
    return more;
  };
  r.RemoveZmq(*a);
  ASSERT_TRUE(r.AddZmq(*a, [&](int budget) { return bounce(*a, &at_a, budget); }).ok());
  ASSERT_TRUE(r.AddZmq(*b, [&](int budget) { return bounce(*b, &at_b, budget); }).ok());
  for (int i = 0; i < kWindow; ++i) {
    ASSERT_TRUE(b->send(zmq::buffer(std::to_string(i)), zmq::send_flags::dontwait));
  }
  Guard g2(r, 20000);
  const int64_t start = NowMs();
  ASSERT_TRUE(r.Run().ok());
  EXPECT_FALSE(g2.fired) << "stuck after " << at_a.size() << " + " << at_b.size() << " messages";
  EXPECT_EQ(at_a.size() + at_b.size(), static_cast<size_t>(kTotal));
  std::printf("ping-pong: %zu messages in %lld ms\n", at_a.size() + at_b.size(),
              static_cast<long long>(NowMs() - start));
  // Nothing is left in either socket.
  std::vector<int> rest;
  r.RemoveZmq(*a);
  r.RemoveZmq(*b);
  EXPECT_FALSE(Drain(*a, 1000, &rest));
  EXPECT_FALSE(Drain(*b, 1000, &rest));
}

// Rule 2 made visible: a send processes the socket's pending commands (once libzmq's throttle
// of about a millisecond has passed), which clears ZMQ_FD while a message it announced is now
// readable. Only the Kick after the send gets that message read.
TEST(ReactorTest, KickAfterSendFindsAMessageZmqFdNoLongerSignals) {
  zmq::context_t ctx(1);
  auto a = MakeSocket(ctx, zmq::socket_type::pair);
  auto b = MakeSocket(ctx, zmq::socket_type::pair);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(Bind(*a, "inproc://reactor-kick").ok());
  ASSERT_TRUE(Connect(*b, "inproc://reactor-kick").ok());
  Reactor r;
  std::vector<int> got;
  ASSERT_TRUE(r.AddZmq(*a, [&](int budget) { return Drain(*a, budget, &got); }).ok());
  ASSERT_TRUE(r.RunOnce(0).ok());  // drained: a's reader is asleep, ZMQ_FD quiet
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(b->send(zmq::buffer(std::to_string(round)), zmq::send_flags::dontwait));
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past the throttle
    ASSERT_TRUE(a->send(zmq::buffer(std::string("x")), zmq::send_flags::dontwait));
    r.Kick(*a);
    ASSERT_TRUE(r.RunOnce(200).ok());
    ASSERT_EQ(got.size(), static_cast<size_t>(round + 1)) << "message " << round << " stuck";
    zmq::message_t m;
    ASSERT_TRUE(b->recv(m, zmq::recv_flags::dontwait));
  }
}

TEST(ReactorTest, StopSignalArrivesThroughTheSignalfd) {
  // Blocked in this thread (gtest runs tests on the main thread, with no other threads), so
  // raise() leaves SIGTERM pending for the signalfd instead of killing the test.
  sigset_t old;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &old), 0);
  ASSERT_TRUE(Reactor::BlockStopSignals().ok());
  {
    Reactor r;
    std::vector<int> got;
    ASSERT_TRUE(r.WatchStopSignals([&](int signo) {
      got.push_back(signo);
      if (got.size() == 2) r.Stop();
    }).ok());
    EXPECT_FALSE(r.WatchStopSignals([](int) {}).ok()) << "watched twice";
    r.AddTimer(10, [] { ASSERT_EQ(raise(SIGTERM), 0); });
    r.AddTimer(20, [] { ASSERT_EQ(raise(SIGINT), 0); });
    Guard g(r, 5000);
    ASSERT_TRUE(r.Run().ok());
    EXPECT_FALSE(g.fired);
    EXPECT_EQ(got, (std::vector<int>{SIGTERM, SIGINT}));
  }
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
}

TEST(ReactorTest, StopFromAHandlerEndsRunAfterThePass) {
  Reactor r;
  SocketPair s;
  int hooks = 0;
  r.AddPassHook([&] { ++hooks; });
  ASSERT_TRUE(r.AddFd(s.a, EPOLLIN, [&](uint32_t) { r.Stop(); }).ok());
  ASSERT_EQ(write(s.b, "x", 1), 1);
  Guard g(r, 5000);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_FALSE(g.fired);
  EXPECT_GE(hooks, 1) << "the pass that stopped ran its hooks";
  EXPECT_FALSE(r.stop_requested()) << "Run() clears the request";
}

TEST(ReactorTest, StopFromAnotherThreadWakesAnIdleReactor) {
  Reactor r;
  Guard g(r, 5000);
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r.Stop();
  });
  const int64_t start = NowMs();
  ASSERT_TRUE(r.Run().ok());
  t.join();
  EXPECT_FALSE(g.fired);
  EXPECT_LT(NowMs() - start, 4000);
}

}  // namespace
}  // namespace ringkv::net

// Poller: readiness comes back under the registered tag, interest changes take effect, a
// forgotten fd (and a new fd that reuses its number) behaves as expected.
#include "common/net/poller.h"
#include "common/net/reactor_test_util.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

namespace ringkv::net {
namespace {

TEST(PollerTest, ReadableAndWritableComeBackWithTheirTags) {
  Poller p;
  ASSERT_TRUE(p.ok());
  SocketPair s;
  ASSERT_TRUE(p.Watch(s.a, EPOLLIN, 7).ok());
  std::vector<Poller::Event> ev;
  ASSERT_TRUE(p.Wait(0, &ev).ok());
  EXPECT_TRUE(ev.empty()) << "nothing to read yet";
  ASSERT_EQ(write(s.b, "x", 1), 1);
  ASSERT_TRUE(p.Wait(1000, &ev).ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].tag, 7u);
  EXPECT_TRUE(ev[0].events & EPOLLIN);
  // Level-triggered: still readable until read.
  ASSERT_TRUE(p.Wait(0, &ev).ok());
  ASSERT_EQ(ev.size(), 1u);
  char c;
  ASSERT_EQ(read(s.a, &c, 1), 1);
  ASSERT_TRUE(p.Wait(0, &ev).ok());
  EXPECT_TRUE(ev.empty());

  // Asking for EPOLLOUT under a new tag: an idle socket is writable at once.
  ASSERT_TRUE(p.Watch(s.a, EPOLLIN | EPOLLOUT, 9).ok());
  ASSERT_TRUE(p.Wait(1000, &ev).ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].tag, 9u);
  EXPECT_TRUE(ev[0].events & EPOLLOUT);
  EXPECT_FALSE(ev[0].events & EPOLLIN);
}

TEST(PollerTest, ForgottenFdIsSilentAndItsNumberCanBeWatchedAgain) {
  Poller p;
  auto s = std::make_unique<SocketPair>();
  ASSERT_TRUE(p.Watch(s->a, EPOLLIN, 1).ok());
  ASSERT_EQ(write(s->b, "x", 1), 1);
  p.Forget(s->a);
  EXPECT_FALSE(p.Watched(s->a));
  std::vector<Poller::Event> ev;
  ASSERT_TRUE(p.Wait(0, &ev).ok());
  EXPECT_TRUE(ev.empty());
  const int old = s->a;
  s.reset();  // closes both
  SocketPair t;     // lowest free numbers again: t.a is very likely `old`
  ASSERT_TRUE(p.Watch(t.a, EPOLLIN, 2).ok()) << "fd " << t.a << " (was " << old << ")";
  ASSERT_EQ(write(t.b, "y", 1), 1);
  ASSERT_TRUE(p.Wait(1000, &ev).ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].tag, 2u);
}

TEST(PollerTest, PeerCloseIsReported) {
  Poller p;
  SocketPair s;
  ASSERT_TRUE(p.Watch(s.a, EPOLLIN, 3).ok());
  close(s.b);
  s.b = -1;
  std::vector<Poller::Event> ev;
  ASSERT_TRUE(p.Wait(1000, &ev).ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP));
}

TEST(PollerTest, WatchingAClosedFdFails) {
  Poller p;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_FALSE(p.Watch(fds[0], EPOLLIN, 1).ok());
  EXPECT_FALSE(p.Watched(fds[0]));
}

}  // namespace
}  // namespace ringkv::net

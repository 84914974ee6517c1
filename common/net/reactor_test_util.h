// Helpers for tests that drive a Poller or a Reactor by hand: a connected pair of non-blocking
// Unix stream sockets, and a bounded loop of reactor passes.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include "common/net/reactor.h"
#include "common/net/zmq_util.h"

namespace ringkv::net {

struct SocketPair {
  int a = -1, b = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    if (a >= 0) close(a);
    if (b >= 0) close(b);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

// Runs passes of at most 10 ms, calling after_pass() after each, until done() or timeout_ms;
// false on timeout.
template <typename Done, typename AfterPass>
bool RunUntil(Reactor& reactor, Done done, AfterPass after_pass, int64_t timeout_ms = 3000) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (!done()) {
    if (NowMs() > deadline) return false;
    EXPECT_TRUE(reactor.RunOnce(10).ok());
    after_pass();
  }
  return true;
}

template <typename Done>
bool RunUntil(Reactor& reactor, Done done, int64_t timeout_ms = 3000) {
  return RunUntil(reactor, done, [] {}, timeout_ms);
}

}  // namespace ringkv::net

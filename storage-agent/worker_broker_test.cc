// WorkerBroker with workers played by DEALER sockets in the test thread: a request goes only to
// a worker that announced itself idle, one at a time; requests wait in a bounded queue and
// Submit refuses beyond it; a worker's reply comes back with its route and the worker's
// identity removed, and frees the worker for the next queued request.
#include "storage-agent/worker_broker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/net/reactor_test_util.h"

namespace ringkv::storage {
namespace {

constexpr char kEndpoint[] = "inproc://worker-broker-test";

struct Fixture {
  zmq::context_t ctx{1};
  net::Reactor reactor;
  ServerCounters counters;
  std::vector<std::vector<std::string>> replies;
  std::vector<net::Frames> failed;
  WorkerBroker broker{ctx, &reactor, &counters, /*max_queue=*/2,
                      [this](std::span<std::string> msg) {
                        replies.emplace_back(msg.begin(), msg.end());
                      },
                      [this](const net::Frames& route, std::string_view) {
                        failed.push_back(route);
                      }};
  template <typename Pred>
  bool Pump(Pred done) {
    return net::RunUntil(reactor, done);
  }
  zmq::socket_t Worker() {
    auto w = net::MakeSocket(ctx, zmq::socket_type::dealer);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE(net::Connect(*w, kEndpoint).ok());
    EXPECT_TRUE(net::SendFrames(*w, net::Frames{WorkerBroker::kReady}, 1000).ok());
    return std::move(*w);
  }
};

net::Frames Request(const std::string& route, const std::string& body) {
  return net::Frames{route, "", body};
}

TEST(WorkerBrokerTest, OneRequestPerIdleWorkerAndABoundedQueue) {
  Fixture f;
  ASSERT_TRUE(f.broker.Bind(kEndpoint).ok());
  EXPECT_TRUE(f.broker.Idle());
  // No worker yet: requests queue, up to max_queue.
  net::Frames r1 = Request("client-1", "one"), r2 = Request("client-2", "two");
  net::Frames r3 = Request("client-3", "three");
  ASSERT_TRUE(f.broker.Submit(r1));
  ASSERT_TRUE(f.broker.Submit(r2));
  EXPECT_FALSE(f.broker.Submit(r3)) << "queue of 2 is full";
  EXPECT_EQ(r3, Request("client-3", "three")) << "a refused request is left to the caller";
  EXPECT_EQ(f.broker.queued(), 2u);

  zmq::socket_t w = f.Worker();
  // The worker gets exactly one request: the first.
  Result<net::Frames> got = Status::Timeout("none");
  ASSERT_TRUE(f.Pump([&] {
    got = net::RecvFrames(w, 0);
    return got.ok();
  }));
  EXPECT_EQ(*got, Request("client-1", "one"));
  EXPECT_EQ(f.broker.in_flight(), 1u);
  EXPECT_EQ(f.broker.queued(), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.reactor.RunOnce(5).ok());
  EXPECT_FALSE(net::RecvFrames(w, 0).ok()) << "a busy worker got a second request";

  // Its reply comes back without the worker's identity; the worker then takes the next one.
  ASSERT_TRUE(net::SendFrames(w, Request("client-1", "reply-one"), 1000).ok());
  ASSERT_TRUE(f.Pump([&] { return f.replies.size() == 1; }));
  EXPECT_EQ(f.replies[0], (std::vector<std::string>{"client-1", "", "reply-one"}));
  ASSERT_TRUE(f.Pump([&] {
    got = net::RecvFrames(w, 0);
    return got.ok();
  }));
  EXPECT_EQ(*got, Request("client-2", "two"));
  ASSERT_TRUE(net::SendFrames(w, Request("client-2", "reply-two"), 1000).ok());
  ASSERT_TRUE(f.Pump([&] { return f.replies.size() == 2; }));
  EXPECT_TRUE(f.broker.Idle());
  EXPECT_EQ(f.counters.queued.load(), 0u);
  EXPECT_EQ(f.counters.in_flight.load(), 0u);
  EXPECT_TRUE(f.failed.empty());

  // An idle worker takes a new request at once (no queueing).
  net::Frames r4 = Request("client-4", "four");
  ASSERT_TRUE(f.broker.Submit(r4));
  EXPECT_EQ(f.broker.queued(), 0u);
  EXPECT_EQ(f.broker.in_flight(), 1u);
}

}  // namespace
}  // namespace ringkv::storage

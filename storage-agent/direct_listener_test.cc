// DirectListener on a real loopback socket (ports 29010-29019): routes name their connection
// and survive the round trip; requests arrive under their connection and replies go back on
// it; a peer that sends a frame over the limit loses only its own connection; a reply for a
// connection closed meanwhile is dropped; after StopReading nothing more is read while queued
// replies are still written.
#include "storage-agent/direct_listener.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/net/reactor_test_util.h"
#include "common/net/stream_conn.h"
#include "common/net/zmq_util.h"
#include "common/protocol/storage_protocol.h"

namespace ringkv::storage {
namespace {

TEST(DirectRouteTest, RoundTripAndZeroMQIdsAreNotDirect) {
  for (uint64_t id : {uint64_t{1}, uint64_t{255}, uint64_t{1} << 40, ~uint64_t{0}}) {
    EXPECT_EQ(DirectConnOf(DirectRoute(id)), id);
  }
  EXPECT_EQ(DirectConnOf(std::string("\0abcd", 5)), 0u) << "a ZeroMQ routing id";
  EXPECT_EQ(DirectConnOf(std::string("\0X23456789", 10)), 0u);
  EXPECT_EQ(DirectConnOf("peer-chosen"), 0u);
}

// A test peer: connects, sends frames, reads replies; every wait is bounded.
class Peer {
 public:
  explicit Peer(int port) {
    auto fd = net::ConnectTcp("127.0.0.1", port);
    EXPECT_TRUE(fd.ok()) << fd.status().ToString();
    conn_ = std::make_unique<net::FrameConn>(fd.ok() ? *fd : -1, true);
    pollfd p{conn_->fd(), POLLOUT, 0};
    EXPECT_EQ(::poll(&p, 1, 3000), 1);
    EXPECT_TRUE(conn_->FinishConnect().ok());
  }
  void Send(std::string_view body) {
    ASSERT_TRUE(conn_->Queue(body));
    ASSERT_TRUE(conn_->Flush().ok());
    ASSERT_FALSE(conn_->WantsWrite());
  }
  void SendRaw(std::string_view bytes) {
    ASSERT_EQ(::send(conn_->fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Reads what is there; false once the listener closed the connection.
  bool Poll(std::vector<std::string>* got) {
    pollfd p{conn_->fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return true;
    return conn_->Read([&](std::string_view b) { got->emplace_back(b); }).ok();
  }

 private:
  std::unique_ptr<net::FrameConn> conn_;
};

struct Fixture {
  net::Reactor reactor;
  ServerCounters counters;
  std::map<uint64_t, std::vector<std::string>> requests;  // by connection
  DirectListener listener{&reactor, &counters,
                          [this](uint64_t id, std::string_view body) {
                            requests[id].emplace_back(body);
                          }};
  size_t count() const {
    size_t n = 0;
    for (const auto& [id, v] : requests) n += v.size();
    return n;
  }
  // Runs passes (each ending like the frontend's) until `done` or 3 s.
  template <typename Pred>
  bool Pump(Pred done) {
    return net::RunUntil(reactor, done, [this] { listener.EndPass(); });
  }
};

TEST(DirectListenerTest, RequestsArriveUnderTheirConnectionAndRepliesGoBackOnIt) {
  Fixture f;
  ASSERT_TRUE(f.listener.Listen("tcp://127.0.0.1:29010").ok());
  EXPECT_EQ(f.listener.port(), 29010u);
  Peer a(29010), b(29010);
  a.Send("from-a");
  b.Send("from-b-1");
  b.Send("from-b-2");
  ASSERT_TRUE(f.Pump([&] { return f.count() == 3; }));
  ASSERT_EQ(f.requests.size(), 2u);
  EXPECT_EQ(f.counters.direct_connections.load(), 2u);
  for (const auto& [id, bodies] : f.requests) {
    for (const std::string& body : bodies) f.listener.Reply(id, "re:" + body);
  }
  std::vector<std::string> at_a, at_b;
  ASSERT_TRUE(f.Pump([&] {
    EXPECT_TRUE(a.Poll(&at_a));
    EXPECT_TRUE(b.Poll(&at_b));
    return at_a.size() + at_b.size() == 3;
  }));
  EXPECT_EQ(at_a, (std::vector<std::string>{"re:from-a"}));
  EXPECT_EQ(at_b, (std::vector<std::string>{"re:from-b-1", "re:from-b-2"}));
}

TEST(DirectListenerTest, OversizedFrameClosesOnlyItsConnection) {
  Fixture f;
  ASSERT_TRUE(f.listener.Listen("tcp://127.0.0.1:29011").ok());
  Peer bad(29011), good(29011);
  good.Send("hello");
  ASSERT_TRUE(f.Pump([&] { return f.count() == 1; }));
  const uint32_t huge = storage_protocol::kMaxFrameBytes + 1;
  const char header[4] = {static_cast<char>(huge >> 24), static_cast<char>(huge >> 16),
                          static_cast<char>(huge >> 8), static_cast<char>(huge)};
  bad.SendRaw(std::string_view(header, 4));
  std::vector<std::string> at_bad;
  ASSERT_TRUE(f.Pump([&] { return !bad.Poll(&at_bad); })) << "the bad peer was not dropped";
  EXPECT_EQ(f.counters.direct_connections.load(), 1u);
  good.Send("still here");
  ASSERT_TRUE(f.Pump([&] { return f.count() == 2; }));
  const uint64_t id = f.requests.begin()->first;
  f.listener.Reply(id, "yes");
  f.listener.Reply(id + 1000, "to nobody");  // a connection that does not exist: dropped
  std::vector<std::string> at_good;
  ASSERT_TRUE(f.Pump([&] {
    EXPECT_TRUE(good.Poll(&at_good));
    return !at_good.empty();
  }));
  EXPECT_EQ(at_good, (std::vector<std::string>{"yes"}));
}

TEST(DirectListenerTest, AfterStopReadingOnlyQueuedRepliesMove) {
  Fixture f;
  ASSERT_TRUE(f.listener.Listen("tcp://127.0.0.1:29012").ok());
  Peer p(29012);
  p.Send("before");
  ASSERT_TRUE(f.Pump([&] { return f.count() == 1; }));
  const uint64_t id = f.requests.begin()->first;
  f.listener.StopReading();
  p.Send("after");
  f.listener.Reply(id, "answer");
  std::vector<std::string> got;
  ASSERT_TRUE(f.Pump([&] {
    EXPECT_TRUE(p.Poll(&got));
    return !got.empty();
  }));
  EXPECT_EQ(got, (std::vector<std::string>{"answer"}));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(f.reactor.RunOnce(5).ok());
    f.listener.EndPass();
  }
  EXPECT_EQ(f.count(), 1u) << "a request read after StopReading";
}

}  // namespace
}  // namespace ringkv::storage

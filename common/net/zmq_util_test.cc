// Tests of the ZeroMQ helpers over inproc and loopback TCP: envelopes, timeouts, frame limits.
#include "common/net/zmq_util.h"

#include <gtest/gtest.h>

namespace ringkv::net {
namespace {

TEST(ZmqUtil, DealerRouterRoundTrip) {
  zmq::context_t ctx;
  auto router = MakeSocket(ctx, zmq::socket_type::router);
  ASSERT_TRUE(router.ok());
  ASSERT_TRUE(Bind(*router, "tcp://127.0.0.1:*").ok());
  std::string ep = LastEndpoint(*router);
  ASSERT_NE(ep.find("tcp://127.0.0.1:"), std::string::npos);

  SocketOptions dopts;
  dopts.immediate = true;
  dopts.heartbeat_ivl_ms = 500;
  auto dealer = MakeSocket(ctx, zmq::socket_type::dealer, dopts);
  ASSERT_TRUE(dealer.ok());
  ASSERT_TRUE(Connect(*dealer, ep).ok());
  ASSERT_TRUE(SendDealer(*dealer, "hello", 2000).ok());

  auto frames = RecvFrames(*router, 2000);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  Envelope env = SplitEnvelope(*frames);
  EXPECT_TRUE(env.has_delimiter);
  ASSERT_EQ(env.route.size(), 1u);
  ASSERT_EQ(env.body.size(), 1u);
  EXPECT_EQ(env.body[0], "hello");

  ASSERT_TRUE(SendRouted(*router, env.route, "world", 1000).ok());
  auto reply = RecvDealer(*dealer, 2000);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(*reply, "world");
}

TEST(ZmqUtil, ReqPeerWorksToo) {
  zmq::context_t ctx;
  auto router = MakeSocket(ctx, zmq::socket_type::router);
  ASSERT_TRUE(Bind(*router, "inproc://req").ok());
  auto req = MakeSocket(ctx, zmq::socket_type::req);
  ASSERT_TRUE(Connect(*req, "inproc://req").ok());
  ASSERT_TRUE(SendFrames(*req, Frames{"ping"}, 1000).ok());
  auto frames = RecvFrames(*router, 2000);
  ASSERT_TRUE(frames.ok());
  Envelope env = SplitEnvelope(*frames);
  ASSERT_EQ(env.body, Frames{"ping"});
  ASSERT_TRUE(SendRouted(*router, env.route, "pong", 1000).ok());
  auto reply = RecvFrames(*req, 2000);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, Frames{"pong"});
}

TEST(ZmqUtil, RecvTimesOut) {
  zmq::context_t ctx;
  auto pull = MakeSocket(ctx, zmq::socket_type::pull);
  ASSERT_TRUE(Bind(*pull, "inproc://nothing").ok());
  int64_t start = NowMs();
  auto r = RecvFrames(*pull, 50);
  EXPECT_EQ(r.status().code(), Status::Code::kTimeout);
  EXPECT_GE(NowMs() - start, 40);
  EXPECT_EQ(RecvFrames(*pull, 0).status().code(), Status::Code::kTimeout);
}

TEST(ZmqUtil, SendTimesOutWithoutPeer) {
  zmq::context_t ctx;
  SocketOptions o;
  o.immediate = true;
  auto dealer = MakeSocket(ctx, zmq::socket_type::dealer, o);
  ASSERT_TRUE(Connect(*dealer, "tcp://127.0.0.1:20999").ok());
  auto s = SendDealer(*dealer, "x", 50);
  EXPECT_EQ(s.code(), Status::Code::kTimeout);
}

TEST(ZmqUtil, TooManyFramesAreTruncatedButConsumed) {
  zmq::context_t ctx;
  auto pull = MakeSocket(ctx, zmq::socket_type::pull);
  ASSERT_TRUE(Bind(*pull, "inproc://many").ok());
  auto push = MakeSocket(ctx, zmq::socket_type::push);
  ASSERT_TRUE(Connect(*push, "inproc://many").ok());
  Frames many(10, "f");
  ASSERT_TRUE(SendFrames(*push, many, 1000).ok());
  ASSERT_TRUE(SendFrames(*push, Frames{"next"}, 1000).ok());
  bool truncated = false;
  auto r = RecvFrames(*pull, 1000, 3, &truncated);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 3u);
  EXPECT_TRUE(truncated);
  auto next = RecvFrames(*pull, 1000, 3, &truncated);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, Frames{"next"});
  EXPECT_FALSE(truncated);
}

TEST(ZmqUtil, SplitEnvelopeShapes) {
  Envelope a = SplitEnvelope(Frames{"id", "", "body"});
  EXPECT_TRUE(a.has_delimiter);
  EXPECT_EQ(a.route, Frames{"id"});
  EXPECT_EQ(a.body, Frames{"body"});
  Envelope b = SplitEnvelope(Frames{"id", "body"});
  EXPECT_FALSE(b.has_delimiter);
  EXPECT_EQ(b.route, Frames{"id"});
  EXPECT_EQ(b.body, Frames{"body"});
  Envelope c = SplitEnvelope(Frames{"id", ""});
  EXPECT_TRUE(c.has_delimiter);
  EXPECT_TRUE(c.body.empty());
  Envelope d = SplitEnvelope(Frames{});
  EXPECT_TRUE(d.route.empty());
}

TEST(ZmqUtil, MaxMsgSizeDropsGiantFrames) {
  zmq::context_t ctx;
  SocketOptions ro;
  ro.max_msg_size = 1000;
  auto router = MakeSocket(ctx, zmq::socket_type::router, ro);
  ASSERT_TRUE(Bind(*router, "tcp://127.0.0.1:*").ok());
  std::string ep = LastEndpoint(*router);
  auto big = MakeSocket(ctx, zmq::socket_type::dealer);
  ASSERT_TRUE(Connect(*big, ep).ok());
  ASSERT_TRUE(SendDealer(*big, std::string(5000, 'x'), 1000).ok());
  EXPECT_EQ(RecvFrames(*router, 300).status().code(), Status::Code::kTimeout);
  auto small = MakeSocket(ctx, zmq::socket_type::dealer);
  ASSERT_TRUE(Connect(*small, ep).ok());
  ASSERT_TRUE(SendDealer(*small, "ok", 1000).ok());
  auto r = RecvFrames(*router, 2000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(SplitEnvelope(*r).body, Frames{"ok"});
}

}  // namespace
}  // namespace ringkv::net

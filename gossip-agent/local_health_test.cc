// LocalHealth against stand-ins for the node's storage agent and coordinator (ROUTERs on
// 127.0.0.1, ports 27800-27899): up with the incarnation and direct port their pings report,
// down after the timeout without answers, a new incarnation after a "restart", replies to
// older pings ignored.
#include "gossip-agent/local_health.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/msgpack_util.h"
#include "common/net/zmq_util.h"
#include "common/protocol/storage_protocol.h"

namespace ringkv::gossip {
namespace {

namespace sp = storage_protocol;

// Answers every ping queued on `router` (storage or client protocol); returns how many.
int Answer(zmq::socket_t& router, bool storage, uint64_t incarnation) {
  int n = 0;
  for (;;) {
    auto f = net::RecvFrames(router, 0);
    if (!f.ok()) return n;
    if (f->size() != 3) continue;
    std::string body;
    if (storage) {
      uint64_t rid = 0;
      auto req = sp::DecodeRequest((*f)[2], &rid);
      if (!req.ok()) continue;
      sp::Reply r;
      r.rid = rid;
      r.actor = incarnation;
      r.node = "n1";
      r.direct_port = 27850;
      body = sp::EncodeReply(r);
    } else {
      auto d = mp::Decode((*f)[2]);
      auto m = mp::MapView::Of(d->root());
      mp::Buffer buf;
      mp::Packer p(buf);
      p.pack_map(4);
      mp::PackStr(p, "v"); p.pack_uint64(1);
      mp::PackStr(p, "ok"); p.pack_true();
      mp::PackStr(p, "id"); p.pack_uint64(m->Uint("id")->value_or(0));
      mp::PackStr(p, "incarnation"); p.pack_uint64(incarnation);
      body.assign(buf.data(), buf.size());
    }
    EXPECT_TRUE(net::SendRouted(router, {(*f)[0]}, body, 1000).ok());
    ++n;
  }
}

// Runs the health's socket handlers until `done` or 2 s.
void Drain(LocalHealth& h, int64_t now, const std::function<bool()>& done) {
  for (int i = 0; i < 200 && !done(); ++i) {
    h.OnStorageReadable(now, 64);
    h.OnCoordinatorReadable(now, 64);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST(LocalHealth, UpWithIncarnationThenDownAfterTheTimeout) {
  zmq::context_t ctx(1);
  auto storage = net::MakeSocket(ctx, zmq::socket_type::router);
  auto coord = net::MakeSocket(ctx, zmq::socket_type::router);
  ASSERT_TRUE(storage.ok() && coord.ok());
  ASSERT_TRUE(net::Bind(*storage, "tcp://127.0.0.1:27801").ok());
  ASSERT_TRUE(net::Bind(*coord, "tcp://127.0.0.1:27800").ok());
  LocalHealth h(ctx, "tcp://127.0.0.1:27801", "tcp://127.0.0.1:27800", {1000});
  EXPECT_FALSE(h.storage(0).up);  // never answered
  EXPECT_FALSE(h.coordinator(0).up);

  // ZMQ_IMMEDIATE: pings go once the connections are up.
  int64_t now = 0;
  for (int i = 0; i < 200 && !(h.storage(now).up && h.coordinator(now).up); ++i) {
    now += 1001;  // a ping unanswered past the timeout is sent again
    h.Ping(now);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    Answer(*storage, true, 111);
    Answer(*coord, false, 222);
    Drain(h, now, [&] { return h.storage(now).up && h.coordinator(now).up; });
  }
  ASSERT_TRUE(h.storage(now).up);
  ASSERT_TRUE(h.coordinator(now).up);
  EXPECT_EQ(h.storage(now).incarnation, 111u);
  EXPECT_EQ(h.coordinator(now).incarnation, 222u);
  EXPECT_EQ(h.storage_direct_port(), 27850u);

  // No answers: down after the timeout, keeping the last incarnation.
  h.Ping(now + 10);
  EXPECT_TRUE(h.storage(now + 1000).up);
  EXPECT_FALSE(h.storage(now + 1001).up);
  EXPECT_EQ(h.storage(now + 1001).incarnation, 111u);

  // A late answer to that ping still counts (it is the one outstanding); a "restarted"
  // storage agent answers with a new incarnation.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Answer(*storage, true, 333);
  Drain(h, now + 2000, [&] { return h.storage(now + 2000).incarnation == 333u; });
  EXPECT_TRUE(h.storage(now + 2000).up);
  EXPECT_EQ(h.storage(now + 2000).incarnation, 333u);
}

TEST(LocalHealth, NoEndpointsAreAlwaysDown) {
  zmq::context_t ctx(1);
  LocalHealth h(ctx, "", "", {1000});
  h.Ping(0);
  EXPECT_FALSE(h.OnStorageReadable(0, 64));
  EXPECT_FALSE(h.storage(0).up);
  EXPECT_FALSE(h.coordinator(0).up);
}

TEST(LocalHealth, NeverAnsweredIsUncheckedForOneTimeoutThenDown) {
  // Nothing listens on the endpoints: a starting node's agents, or a storage agent paused before
  // its first answer. Unchecked (unknown to coordinators) only within the first timeout.
  zmq::context_t ctx(1);
  LocalHealth h(ctx, "tcp://127.0.0.1:27811", "tcp://127.0.0.1:27810", {1000});
  h.Ping(5000);
  EXPECT_FALSE(h.storage(5000).up);
  EXPECT_EQ(h.storage(5000).incarnation, gp::kIncarnationUnchecked);
  EXPECT_EQ(h.coordinator(6000).incarnation, gp::kIncarnationUnchecked);
  EXPECT_EQ(h.storage(6001).incarnation, gp::kIncarnationNeverAnswered);
  EXPECT_FALSE(h.storage(6001).up);
  EXPECT_EQ(h.coordinator(6001).incarnation, gp::kIncarnationNeverAnswered);
}

}  // namespace
}  // namespace ringkv::gossip

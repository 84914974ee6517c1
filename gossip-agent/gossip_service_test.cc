// Tests of the gossip agent's request handling without sockets: ping, ring, bad input, and the
// summary of a request the slow-request log names.
#include "gossip-agent/gossip_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/msgpack_util.h"
#include "common/version/key_state.h"

namespace ringkv::gossip {
namespace {

class GossipServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv_gossip_service_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = RingStore::Open(dir_ + "/ring.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    std::vector<NodeInfo> nodes;
    for (const char* id : {"a", "b"}) {
      NodeInfo n;
      n.id = id;
      n.vnodes = 4;
      n.client_endpoint = std::string("tcp://127.0.0.1:1/") + id;
      nodes.push_back(n);
    }
    ASSERT_TRUE(store_->Seed(nodes, *Replication::Parse("2")).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs one request body through a fresh service and decodes the reply.
  mp::Decoded Call(const std::string& body) {
    GossipService service("a", store_.get());
    auto d = mp::Decode(service.Handle(body));
    EXPECT_TRUE(d.ok()) << "reply is MessagePack";
    return std::move(*d);
  }
  static std::string Map(std::initializer_list<std::pair<const char*, const char*>> fields) {
    mp::Buffer buf;
    mp::Packer p(buf);
    p.pack_map(static_cast<uint32_t>(fields.size()));
    for (const auto& [k, v] : fields) {
      mp::PackStr(p, k);
      mp::PackStr(p, v);
    }
    return std::string(buf.data(), buf.size());
  }
  static std::string ErrorCode(const mp::Decoded& d) {
    auto m = mp::MapView::Of(d.root());
    const msgpack::object* e = m->Find("error");
    if (!e) return "";
    return **mp::MapView::Of(*e)->Str("code");
  }

  std::string dir_;
  std::unique_ptr<RingStore> store_;
};

TEST_F(GossipServiceTest, Ping) {
  auto d = Call(Map({{"op", "ping"}, {"id", "req-1"}}));
  auto m = mp::MapView::Of(d.root());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(**m->Bool("ok"), true);
  EXPECT_EQ(**m->Str("node"), "a");
  EXPECT_EQ(**m->Str("id"), "req-1");
  EXPECT_EQ(**m->Int("v"), 1);
}

// A coordinator decides from the ping whether this agent has room for a hint.
TEST_F(GossipServiceTest, PingReportsHintRoom) {
  auto hints = HintStore::Open(dir_ + "/hints.db", 1000);
  ASSERT_TRUE(hints.ok()) << hints.status().ToString();
  version::KeyState st;
  st.Update(version::CausalContext(), "value", 7);
  ASSERT_TRUE((*hints)->Add("b", "key", st.Encode(), 1).ok());
  GossipService service("a", store_.get(), hints->get());
  auto d = mp::Decode(service.Handle(Map({{"op", "ping"}})));
  ASSERT_TRUE(d.ok());
  auto m = mp::MapView::Of(d->root());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(**m->Uint("hint_room"), 1000 - (*hints)->bytes());
  EXPECT_LT((*hints)->bytes(), 1000u);
  EXPECT_GT((*hints)->bytes(), 0u);
  // Without a hint store there is no room to report.
  auto plain = Call(Map({{"op", "ping"}}));
  EXPECT_EQ(mp::MapView::Of(plain.root())->Find("hint_room"), nullptr);

  // A hint's reply says the room left after it (the coordinator's own encoder and decoder).
  const uint64_t before = (*hints)->bytes();
  const std::string reply = service.Handle(
      gossip_protocol::EncodeHint({9, "c", "other key", st.Encode()}));
  auto r = gossip_protocol::DecodeReply(reply);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->rid, 9u);
  ASSERT_TRUE(r->has_hint_room);
  EXPECT_GT((*hints)->bytes(), before);
  EXPECT_EQ(r->hint_room, 1000 - (*hints)->bytes());
  // Full: busy, and no room figure from an error.
  const std::string full = service.Handle(
      gossip_protocol::EncodeHint({10, "c", std::string(2000, 'k'), st.Encode()}));
  auto f = gossip_protocol::DecodeReply(full);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->ok);
  EXPECT_EQ(f->code, gossip_protocol::kErrBusy);
  EXPECT_FALSE(f->has_hint_room);
}

// Hints queued in one pass are stored together and answered in queue order, each with its own
// outcome; other requests are not queued.
TEST_F(GossipServiceTest, QueuedHintsAreStoredAsOneGroupAndAnsweredInOrder) {
  auto hints = HintStore::Open(dir_ + "/hints.db", 1000);
  ASSERT_TRUE(hints.ok()) << hints.status().ToString();
  GossipService service("a", store_.get(), hints->get());
  version::KeyState st;
  st.Update(version::CausalContext(), "value", 7);
  EXPECT_FALSE(service.QueueHint(Map({{"op", "ping"}})));
  EXPECT_FALSE(service.QueueHint(Map({{"op", "hint"}})));  // malformed: Handle answers it
  EXPECT_TRUE(service.QueueHint(gossip_protocol::EncodeHint({1, "b", "k1", st.Encode()})));
  EXPECT_TRUE(service.QueueHint(gossip_protocol::EncodeHint({2, "b", "k2", "not a state"})));
  EXPECT_TRUE(service.QueueHint(
      gossip_protocol::EncodeHint({3, "b", std::string(2000, 'k'), st.Encode()})));
  EXPECT_TRUE(service.QueueHint(gossip_protocol::EncodeHint({4, "c", "k1", st.Encode()})));
  EXPECT_EQ((*hints)->count(), 0u) << "nothing is stored before the flush";
  const std::vector<std::string> replies = service.FlushHints();
  ASSERT_EQ(replies.size(), 4u);
  std::vector<gossip_protocol::Reply> r;
  for (const std::string& body : replies) {
    auto d = gossip_protocol::DecodeReply(body);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    r.push_back(*d);
  }
  for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(r[i].rid, i + 1);
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[1].code, gossip_protocol::kErrBadRequest);
  EXPECT_EQ(r[2].code, gossip_protocol::kErrBusy);
  EXPECT_TRUE(r[3].ok);
  ASSERT_TRUE(r[3].has_hint_room);
  EXPECT_EQ(r[3].hint_room, 1000 - (*hints)->bytes());
  EXPECT_EQ((*hints)->count(), 2u);
  EXPECT_EQ(service.bad_requests(), 1u);
  EXPECT_TRUE(service.FlushHints().empty()) << "the queue is emptied by a flush";
}

TEST_F(GossipServiceTest, ViewWatchAndStatsGoToTheHooks) {
  GossipService service("a", store_.get());
  // Without hooks (no running agent) they are unknown.
  EXPECT_EQ(ErrorCode(Call(Map({{"op", "view"}}))), "unknown_op");
  uint64_t watched = 0;
  service.set_hooks({[](uint64_t rid) {
                       return gossip_protocol::EncodeView({"a", 5, {}}, rid);
                     },
                     [&](uint64_t rid) { watched = rid; },
                     [] { return std::vector<std::pair<std::string, uint64_t>>{{"rounds", 3}}; }});
  auto v = gossip_protocol::DecodeView(service.Handle(Map({{"op", "view"}})));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->view_version, 5u);
  EXPECT_EQ(watched, 0u);
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(2);
  mp::PackStr(p, "op"); mp::PackStr(p, "watch");
  mp::PackStr(p, "rid"); p.pack_uint64(44);
  EXPECT_TRUE(gossip_protocol::DecodeView(service.Handle(std::string(buf.data(), buf.size()))).ok());
  EXPECT_EQ(watched, 44u);
  auto stats = mp::Decode(service.Handle(Map({{"op", "stats"}})));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(**mp::MapView::Of(stats->root())->Uint("rounds"), 3u);
  EXPECT_EQ(service.bad_requests(), 0u);
  service.Handle("\xc1");
  service.Handle(Map({{"op", "view"}, {"rid", "x"}}));
  EXPECT_EQ(service.bad_requests(), 2u);
}

TEST_F(GossipServiceTest, Ring) {
  auto d = Call(Map({{"op", "ring"}}));
  auto m = mp::MapView::Of(d.root());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(**m->Bool("ok"), true);
  EXPECT_EQ(**m->Uint("version"), 1u);
  const msgpack::object* nodes = m->Find("nodes");
  ASSERT_NE(nodes, nullptr);
  ASSERT_EQ(nodes->type, msgpack::type::ARRAY);
  ASSERT_EQ(nodes->via.array.size, 2u);
  auto b = mp::MapView::Of(nodes->via.array.ptr[1]);
  EXPECT_EQ(**b->Str("id"), "b");
  EXPECT_EQ(**b->Str("client"), "tcp://127.0.0.1:1/b");
  EXPECT_EQ(**b->Str("state"), "normal");
  EXPECT_EQ(**b->Uint("vnodes"), 4u);
  auto rep = mp::MapView::Of(*m->Find("replication"));
  EXPECT_EQ(**rep->Int("dc1"), 2);

  ASSERT_TRUE(store_->SetState("b", NodeState::kDown).ok());
  auto after = Call(Map({{"op", "ring"}}));
  auto m2 = mp::MapView::Of(after.root());
  EXPECT_EQ(**m2->Uint("version"), 2u);
  auto b2 = mp::MapView::Of(m2->Find("nodes")->via.array.ptr[1]);
  EXPECT_EQ(**b2->Str("state"), "down");
}

TEST_F(GossipServiceTest, BadInput) {
  EXPECT_EQ(ErrorCode(Call("\xc1")), "bad_request");
  EXPECT_EQ(ErrorCode(Call("")), "bad_request");
  EXPECT_EQ(ErrorCode(Call("\x93\x01\x02\x03")), "bad_request");  // an array
  EXPECT_EQ(ErrorCode(Call(Map({{"opx", "ping"}}))), "bad_request");
  EXPECT_EQ(ErrorCode(Call(Map({{"op", "ring"}, {"tokens", "yes"}}))), "bad_request");
  EXPECT_EQ(ErrorCode(Call(Map({{"op", "join"}}))), "unknown_op");
  EXPECT_EQ(ErrorCode(Call(Map({{"op", "ping"}}) + "x")), "bad_request");  // trailing bytes
}

// What the slow-request log names: op, request id (rid or id) and the reply's code.
TEST_F(GossipServiceTest, SummaryNamesOpIdAndCode) {
  GossipService service("a", store_.get());
  RequestSummary s;
  service.Handle(Map({{"op", "ping"}, {"id", "req\n1"}}), &s);
  EXPECT_EQ(s.op, "ping");
  EXPECT_EQ(s.id, "req\\n1");  // made printable: one log line
  EXPECT_EQ(s.rid, "");
  EXPECT_EQ(s.code, "ok");
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(2);
  mp::PackStr(p, "op");
  mp::PackStr(p, "frobnicate");
  mp::PackStr(p, "rid");
  p.pack_uint64(42);
  s = RequestSummary{};
  service.Handle(std::string(buf.data(), buf.size()), &s);
  EXPECT_EQ(s.op, "frobnicate");
  EXPECT_EQ(s.rid, "42");
  EXPECT_EQ(s.code, "unknown_op");
  s = RequestSummary{};
  service.Handle("\xc1", &s);
  EXPECT_EQ(s.op, "");
  EXPECT_EQ(s.code, "bad_request");
  EXPECT_EQ(service.bad_requests(), 1u);
}

}  // namespace
}  // namespace ringkv::gossip

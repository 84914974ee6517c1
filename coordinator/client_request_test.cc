// Client protocol parsing: every malformed case gets the code client-protocol.md names.
#include "coordinator/client_request.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>

namespace ringkv::coordinator {
namespace {

// A tiny MessagePack map builder for the tests.
class Map {
 public:
  Map& Int(const std::string& k, int64_t v) { return Add(k, [v](mp::Packer& p) { p.pack_int64(v); }); }
  Map& Str(const std::string& k, const std::string& v) { return Add(k, [v](mp::Packer& p) { mp::PackStr(p, v); }); }
  Map& Bin(const std::string& k, const std::string& v) { return Add(k, [v](mp::Packer& p) { mp::PackBin(p, v); }); }
  // Raw float64: msgpack-c's pack_double writes integral values (2.0) as integers.
  Map& Float(const std::string& k, double v) {
    return Add(k, [this, v](mp::Packer& p) {
      (void)p;
      uint64_t bits;
      std::memcpy(&bits, &v, 8);
      char b[9] = {static_cast<char>(0xcb)};
      for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
      raw_->write(b, 9);
    });
  }
  Map& Bool(const std::string& k, bool v) { return Add(k, [v](mp::Packer& p) { if (v) p.pack_true(); else p.pack_false(); }); }
  Map& Nil(const std::string& k) { return Add(k, [](mp::Packer& p) { p.pack_nil(); }); }
  std::string Bytes() const {
    mp::Buffer b;
    mp::Packer p(b);
    raw_ = &b;
    p.pack_map(static_cast<uint32_t>(fields_.size()));
    for (const auto& [k, f] : fields_) {
      mp::PackStr(p, k);
      f(p);
    }
    return std::string(b.data(), b.size());
  }

 private:
  Map& Add(const std::string& k, std::function<void(mp::Packer&)> f) {
    fields_.emplace_back(k, std::move(f));
    return *this;
  }
  std::vector<std::pair<std::string, std::function<void(mp::Packer&)>>> fields_;
  mutable mp::Buffer* raw_ = nullptr;
};

Map Put() { return Map().Int("v", 1).Str("op", "put").Bin("key", "k").Bin("value", "x"); }
Map Get() { return Map().Int("v", 1).Str("op", "get").Bin("key", "k"); }

std::optional<ErrorCode> ErrorOf(const std::string& body, ClientRequest* out = nullptr) {
  ClientRequest req;
  ClientError err;
  RequestLimits limits;
  if (ParseRequest(body, limits, out ? out : &req, &err)) return std::nullopt;
  return err.code;
}

TEST(ClientRequestTest, AcceptsWellFormedRequests) {
  ClientRequest req;
  EXPECT_EQ(ErrorOf(Put().Bytes(), &req), std::nullopt);
  EXPECT_EQ(req.op, ClientOp::kPut);
  EXPECT_EQ(req.key, "k");
  EXPECT_EQ(req.value, "x");
  EXPECT_EQ(req.timeout_ms, 2000u);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "ping").Bytes()), std::nullopt);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "status").Bytes()), std::nullopt);
  EXPECT_EQ(ErrorOf(Get().Str("r", "one").Int("timeout_ms", 60000).Bytes()), std::nullopt);
  EXPECT_EQ(ErrorOf(Put().Int("w", 3).Str("consistency", "strong").Bytes()), std::nullopt);
  EXPECT_EQ(ErrorOf(Put().Str("w", "each_quorum").Bytes()), std::nullopt);
  EXPECT_EQ(ErrorOf(Put().Str("unknown_field", "ignored").Bytes()), std::nullopt);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "put").Str("key", "k").Str("value", "").Bytes()),
            std::nullopt);
  // An empty ctx is the empty context.
  EXPECT_EQ(ErrorOf(Put().Bin("ctx", "").Bytes()), std::nullopt);
}

TEST(ClientRequestTest, EnvelopeAndVersionErrors) {
  EXPECT_EQ(ErrorOf("\xc1garbage"), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(""), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf("\x93\x01\x02\x03"), ErrorCode::kBadRequest);   // an array
  EXPECT_EQ(ErrorOf("\xdd\xff\xff\xff\xff"), ErrorCode::kBadRequest);  // huge array header
  EXPECT_EQ(ErrorOf(Put().Bytes() + "x"), ErrorCode::kBadRequest);  // trailing bytes
  EXPECT_EQ(ErrorOf(Map().Str("op", "get").Bin("key", "k").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Str("v", "1").Str("op", "get").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Float("v", 1.0).Str("op", "get").Bytes()), ErrorCode::kBadRequest);
  {  // an integral float id is echoed as a float
    ClientRequest req;
    ClientError err;
    EXPECT_TRUE(ParseRequest(Map().Int("v", 1).Str("op", "ping").Float("id", 2.0).Bytes(),
                             RequestLimits(), &req, &err));
    EXPECT_EQ(req.id, std::string("\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 9));
  }
  EXPECT_EQ(ErrorOf(Map().Bool("v", true).Str("op", "get").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 2).Str("op", "get").Bytes()), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(ErrorOf(Map().Int("v", -1).Str("op", "get").Bytes()), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Int("op", 3).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "frobnicate").Bytes()), ErrorCode::kUnknownOp);
}

TEST(ClientRequestTest, FieldErrors) {
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "get").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "get").Bin("key", "").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "get").Bin("key", std::string(1025, 'k')).Bytes()),
            ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "get").Bin("key", std::string(1024, 'k')).Bytes()),
            std::nullopt);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "get").Int("key", 5).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "put").Bin("key", "k").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "put").Bin("key", "k").Int("value", 1).Bytes()),
            ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "put").Bin("key", "k").Bin("value", std::string(10240, 'v')).Bytes()),
            ErrorCode::kTooLarge);
  EXPECT_EQ(ErrorOf(Map().Int("v", 1).Str("op", "put").Bin("key", "k").Bin("value", std::string(10239, 'v')).Bytes()),
            std::nullopt);
  EXPECT_EQ(ErrorOf(Put().Bin("ctx", "not a context").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Put().Int("ctx", 1).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Put().Nil("ctx").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Str("r", "two").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Str("r", "2").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Int("r", 0).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Int("r", 4).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Int("r", -1).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Str("r", "each_quorum").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Put().Float("w", 2.0).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Put().Bool("w", true).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Int("timeout_ms", 0).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Int("timeout_ms", 60001).Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Str("timeout_ms", "100").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Str("consistency", "x").Bytes()), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorOf(Get().Int("consistency", 1).Bytes()), ErrorCode::kBadRequest);
}

TEST(ClientRequestTest, IdIsCapturedEvenOnErrors) {
  ClientRequest req;
  ClientError err;
  RequestLimits limits;
  std::string body = Map().Int("v", 2).Str("op", "get").Str("id", "abc").Bytes();
  EXPECT_FALSE(ParseRequest(body, limits, &req, &err));
  EXPECT_EQ(err.code, ErrorCode::kUnsupportedVersion);
  mp::Buffer b;
  mp::Packer p(b);
  mp::PackStr(p, "abc");
  EXPECT_EQ(req.id, std::string(b.data(), b.size()));
}

TEST(ClientRequestTest, RepliesAreMapsWithVAndOk) {
  const std::string reply = EncodeError("\x07", ErrorCode::kTimeout, "late");
  auto d = mp::Decode(reply);
  ASSERT_TRUE(d.ok());
  auto m = mp::MapView::Of(d->root());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m->Int("v").value(), 1);
  EXPECT_EQ(*m->Bool("ok").value(), false);
  EXPECT_EQ(*m->Int("id").value(), 7);
  const msgpack::object* e = m->Find("error");
  ASSERT_NE(e, nullptr);
  auto em = mp::MapView::Of(*e);
  EXPECT_EQ(*em->Str("code").value(), "timeout");
  EXPECT_EQ(std::string(ErrorCodeName(ErrorCode::kTooManySiblings)), "too_many_siblings");
}

// `acks` counts preference-list replicas only; stand-ins' hints are `hinted` (an extension).
TEST(ClientRequestTest, WriteOkSeparatesAcksFromHints) {
  auto d = mp::Decode(EncodeWriteOk("", "ctx", 2, 1));
  ASSERT_TRUE(d.ok());
  auto m = mp::MapView::Of(d->root());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m->Bool("ok").value(), true);
  EXPECT_EQ(*m->Int("acks").value(), 2);
  EXPECT_EQ(*m->Int("hinted").value(), 1);
}

TEST(ClientRequestTest, StatusCarriesStats) {
  StatusReply s;
  s.node = "n1";
  s.stats = {{"hints_unplaced", 3}, {"requests", 9}};
  auto d = mp::Decode(EncodeStatus("", s));
  ASSERT_TRUE(d.ok());
  auto m = mp::MapView::Of(d->root());
  ASSERT_TRUE(m.ok());
  const msgpack::object* stats = m->Find("stats");
  ASSERT_NE(stats, nullptr);
  auto sm = mp::MapView::Of(*stats);
  ASSERT_TRUE(sm.ok());
  EXPECT_EQ(*sm->Uint("hints_unplaced").value(), 3u);
  EXPECT_EQ(*sm->Uint("requests").value(), 9u);
  // Without counters the reply keeps the spec's fields only.
  s.stats.clear();
  auto plain = mp::Decode(EncodeStatus("", s));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(mp::MapView::Of(plain->root())->Find("stats"), nullptr);
}

TEST(ClientRequestTest, StatusCarriesGossipsView) {
  StatusReply s;
  s.node = "n1";
  MemberStatus m;
  m.node = "n2";
  m.state = "down";
  MemberGossip g;
  g.up = false;
  g.state = "normal";
  g.storage_up = true;
  g.storage_incarnation = 7;
  g.generation = 3;
  g.heartbeat_age_ms = 4200;
  g.phi = 9.5;
  m.gossip = g;
  s.members.push_back(m);
  s.members.push_back(MemberStatus{"n3", "dc1", "normal", "tcp://x", std::nullopt});
  s.gossip = GossipStatus{"tcp://127.0.0.1:7402", true, 12, 300, 40};
  auto d = mp::Decode(EncodeStatus("", s));
  ASSERT_TRUE(d.ok());
  auto top = mp::MapView::Of(d->root());
  ASSERT_TRUE(top.ok());
  auto gs = mp::MapView::Of(*top->Find("gossip"));
  ASSERT_TRUE(gs.ok());
  EXPECT_EQ(*gs->Bool("view").value(), true);
  EXPECT_EQ(*gs->Uint("view_version").value(), 12u);
  EXPECT_EQ(*gs->Int("view_age_ms").value(), 300);
  const msgpack::object* members = top->Find("members");
  ASSERT_NE(members, nullptr);
  ASSERT_EQ(members->via.array.size, 2u);
  auto m0 = mp::MapView::Of(members->via.array.ptr[0]);
  ASSERT_TRUE(m0.ok());
  EXPECT_EQ(*m0->Str("state").value(), "down");  // the spec's field keeps its values
  auto mg = mp::MapView::Of(*m0->Find("gossip"));
  ASSERT_TRUE(mg.ok());
  EXPECT_EQ(*mg->Bool("up").value(), false);
  EXPECT_EQ(*mg->Str("state").value(), "normal");
  EXPECT_EQ(*mg->Uint("generation").value(), 3u);
  EXPECT_EQ(*mg->Int("heartbeat_age_ms").value(), 4200);
  EXPECT_DOUBLE_EQ(mg->Find("phi")->as<double>(), 9.5);
  auto storage = mp::MapView::Of(*mg->Find("storage"));
  EXPECT_EQ(*storage->Bool("up").value(), true);
  EXPECT_EQ(*storage->Uint("incarnation").value(), 7u);
  // A member without a view entry has no `gossip` field.
  EXPECT_EQ(mp::MapView::Of(members->via.array.ptr[1])->Find("gossip"), nullptr);
}

// `ringkv top` finds each node's storage and gossip agents in the status (extension fields,
// left out when empty).
TEST(ClientRequestTest, StatusMembersCarryAgentEndpoints) {
  StatusReply s;
  s.node = "n1";
  MemberStatus with{"n1", "dc1", "normal", "tcp://c", std::nullopt, "tcp://s", "tcp://g"};
  MemberStatus without{"n2", "dc1", "normal", "tcp://c2", std::nullopt};
  s.members = {with, without};
  auto d = mp::Decode(EncodeStatus("", s));
  ASSERT_TRUE(d.ok());
  const msgpack::object* members = mp::MapView::Of(d->root())->Find("members");
  ASSERT_NE(members, nullptr);
  auto m0 = mp::MapView::Of(members->via.array.ptr[0]);
  EXPECT_EQ(*m0->Str("storage_endpoint").value(), "tcp://s");
  EXPECT_EQ(*m0->Str("gossip_endpoint").value(), "tcp://g");
  EXPECT_EQ(*m0->Str("client_endpoint").value(), "tcp://c");
  auto m1 = mp::MapView::Of(members->via.array.ptr[1]);
  EXPECT_EQ(m1->Find("storage_endpoint"), nullptr);
  EXPECT_EQ(*m1->Str("node").value(), "n2");
}

}  // namespace
}  // namespace ringkv::coordinator

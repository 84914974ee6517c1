// The anti-entropy ops of the storage protocol (aae_tree, aae_keys, aae_states, repair_mark):
// round trips of every request and reply shape, and the malformed requests the decoder must
// refuse with bad_request and a message naming the problem.
#include <gtest/gtest.h>

#include <functional>

#include "common/msgpack_util.h"
#include "common/protocol/storage_protocol_test_util.h"
#include "common/protocol/storage_protocol.h"

namespace ringkv::storage_protocol {
namespace {

using testing::RoundTrip;

Reply RoundTrip(const Reply& r) {
  auto d = DecodeReply(EncodeReply(r));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : Reply{};
}

// A request body {rid: 1, op: `op`, <whatever `fields` packs>} with `n` extra fields.
std::string Body(std::string_view op, uint32_t n, const std::function<void(mp::Packer&)>& fields) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(2 + n);
  mp::PackStr(p, "rid");
  p.pack_uint64(1);
  mp::PackStr(p, "op");
  mp::PackStr(p, op);
  fields(p);
  return std::string(buf.data(), buf.size());
}

void PackRanges(mp::Packer& p, std::vector<std::pair<uint64_t, uint64_t>> ranges) {
  mp::PackStr(p, "ranges");
  p.pack_array(static_cast<uint32_t>(ranges.size()));
  for (auto [a, b] : ranges) {
    p.pack_array(2);
    p.pack_uint64(a);
    p.pack_uint64(b);
  }
}

void ExpectBad(const std::string& body, std::string_view needle) {
  uint64_t rid = 0;
  std::string code;
  auto d = DecodeRequest(body, &rid, &code);
  ASSERT_FALSE(d.ok()) << "accepted, expected an error naming " << needle;
  EXPECT_EQ(code, kErrBadRequest);
  EXPECT_EQ(rid, 1u);
  EXPECT_NE(d.status().message().find(needle), std::string::npos) << d.status().message();
}

TEST(StorageProtocolAae, OpsAreKnown) {
  for (auto op : {kAaeTree, kAaeKeys, kAaeStates, kRepairMark}) EXPECT_TRUE(IsKnownOp(op));
}

TEST(StorageProtocolAae, RequestRoundTrips) {
  Request tree;
  tree.op = kAaeTree;
  tree.rid = 3;
  tree.ranges = {{0, UINT64_MAX}, {5, 9}};
  tree.parts = 4;
  Request t = RoundTrip(tree);
  EXPECT_EQ(t.ranges, tree.ranges);
  EXPECT_EQ(t.parts, 4u);

  tree.parts = 1;
  EXPECT_EQ(RoundTrip(tree).parts, 1u);

  Request keys;
  keys.op = kAaeKeys;
  keys.first = 100;
  keys.last = 200;
  keys.limit = kMaxAaeKeysLimit;
  Request k = RoundTrip(keys);
  EXPECT_EQ(k.first, 100u);
  EXPECT_EQ(k.last, 200u);
  EXPECT_EQ(k.limit, kMaxAaeKeysLimit);
  EXPECT_FALSE(k.after_token);
  keys.after_token = 150;
  keys.after_key = std::string("a\0b", 3);
  k = RoundTrip(keys);
  EXPECT_EQ(k.after_token, 150u);
  EXPECT_EQ(k.after_key, keys.after_key);

  Request states;
  states.op = kAaeStates;
  states.keys = {"a", std::string(kMaxKeyBytes, 'k'), std::string("\0", 1)};
  EXPECT_EQ(RoundTrip(states).keys, states.keys);

  Request mark;
  mark.op = kRepairMark;
  mark.ranges = {{1, 2}};
  mark.as_of_ms = 1700000000123;
  Request m = RoundTrip(mark);
  EXPECT_EQ(m.ranges, mark.ranges);
  EXPECT_EQ(m.as_of_ms, mark.as_of_ms);
}

TEST(StorageProtocolAae, Defaults) {
  uint64_t rid;
  auto keys = DecodeRequest(Body(kAaeKeys, 0, [](mp::Packer&) {}), &rid);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->limit, kDefaultAaeKeysLimit);
  EXPECT_EQ(keys->first, 0u);
  EXPECT_EQ(keys->last, UINT64_MAX);
  auto tree = DecodeRequest(Body(kAaeTree, 1, [](mp::Packer& p) { PackRanges(p, {{0, 9}}); }),
                            &rid);
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ(tree->parts, 1u);
}

TEST(StorageProtocolAae, MalformedRequests) {
  // aae_tree and repair_mark: ranges.
  ExpectBad(Body(kAaeTree, 0, [](mp::Packer&) {}), "'ranges'");
  ExpectBad(Body(kAaeTree, 1, [](mp::Packer& p) { PackRanges(p, {}); }), "1..1024");
  ExpectBad(Body(kAaeTree, 1,
                 [](mp::Packer& p) {
                   PackRanges(p, std::vector<std::pair<uint64_t, uint64_t>>(1025, {0, 1}));
                 }),
            "1..1024");
  ExpectBad(Body(kAaeTree, 1, [](mp::Packer& p) { PackRanges(p, {{5, 4}}); }), "after");
  ExpectBad(Body(kAaeTree, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "ranges");
                   p.pack_uint64(3);
                 }),
            "'ranges'");
  ExpectBad(Body(kAaeTree, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "ranges");
                   p.pack_array(1);
                   p.pack_array(3);
                   p.pack_uint64(1);
                   p.pack_uint64(2);
                   p.pack_uint64(3);
                 }),
            "[first, last]");
  ExpectBad(Body(kAaeTree, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "ranges");
                   p.pack_array(1);
                   p.pack_array(2);
                   p.pack_int64(-1);
                   p.pack_uint64(2);
                 }),
            "[first, last]");
  // parts.
  auto with_parts = [](uint64_t parts, std::vector<std::pair<uint64_t, uint64_t>> ranges) {
    return Body(kAaeTree, 2, [=](mp::Packer& p) {
      PackRanges(p, ranges);
      mp::PackStr(p, "parts");
      p.pack_uint64(parts);
    });
  };
  ExpectBad(with_parts(0, {{0, 100}}), "'parts'");
  ExpectBad(with_parts(kMaxAaeParts + 1, {{0, UINT64_MAX}}), "'parts'");
  ExpectBad(with_parts(11, {{0, 9}}), "tokens of a range");
  ExpectBad(with_parts(4096, std::vector<std::pair<uint64_t, uint64_t>>(17, {0, UINT64_MAX})),
            "exceeds");
  uint64_t rid;
  EXPECT_TRUE(DecodeRequest(with_parts(10, {{0, 9}}), &rid).ok()) << "one token per part";
  EXPECT_TRUE(
      DecodeRequest(with_parts(4096, std::vector<std::pair<uint64_t, uint64_t>>(16, {0, UINT64_MAX})),
                    &rid)
          .ok());
  // repair_mark needs asof.
  ExpectBad(Body(kRepairMark, 1, [](mp::Packer& p) { PackRanges(p, {{0, 9}}); }), "'asof'");
  ExpectBad(Body(kRepairMark, 2,
                 [](mp::Packer& p) {
                   PackRanges(p, {{0, 9}});
                   mp::PackStr(p, "asof");
                   mp::PackStr(p, "now");
                 }),
            "'asof'");
  ExpectBad(Body(kRepairMark, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "asof");
                   p.pack_uint64(5);
                 }),
            "'ranges'");
  // aae_keys.
  ExpectBad(Body(kAaeKeys, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "lim");
                   p.pack_uint64(kMaxAaeKeysLimit + 1);
                 }),
            "'lim'");
  ExpectBad(Body(kAaeKeys, 2,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "first");
                   p.pack_uint64(9);
                   mp::PackStr(p, "last");
                   p.pack_uint64(8);
                 }),
            "after 'last'");
  ExpectBad(Body(kAaeKeys, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "ak");
                   mp::PackBin(p, "x");
                 }),
            "'at'");
  // aae_states.
  ExpectBad(Body(kAaeStates, 0, [](mp::Packer&) {}), "'keys'");
  ExpectBad(Body(kAaeStates, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "keys");
                   p.pack_array(0);
                 }),
            "1..1000");
  ExpectBad(Body(kAaeStates, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "keys");
                   p.pack_array(kMaxAaeStatesKeys + 1);
                   for (uint32_t i = 0; i <= kMaxAaeStatesKeys; ++i) mp::PackBin(p, "k");
                 }),
            "1..1000");
  ExpectBad(Body(kAaeStates, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "keys");
                   p.pack_array(1);
                   mp::PackBin(p, "");
                 }),
            "bytes");
  ExpectBad(Body(kAaeStates, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "keys");
                   p.pack_array(1);
                   mp::PackBin(p, std::string(kMaxKeyBytes + 1, 'k'));
                 }),
            "bytes");
  ExpectBad(Body(kAaeStates, 1,
                 [](mp::Packer& p) {
                   mp::PackStr(p, "keys");
                   p.pack_array(1);
                   p.pack_uint64(7);
                 }),
            "byte string");
}

TEST(StorageProtocolAae, ReplyRoundTrips) {
  Reply tree;
  tree.ready = true;
  tree.now_ms = 1700000000000;
  tree.trees = {{{1, 2}, {UINT64_MAX, 0}}, {{0, 0}}};
  Reply t = RoundTrip(tree);
  EXPECT_EQ(t.ready, true);
  EXPECT_EQ(t.now_ms, tree.now_ms);
  EXPECT_EQ(t.trees, tree.trees);

  Reply not_ready;
  not_ready.ready = false;
  not_ready.now_ms = 5;
  Reply n = RoundTrip(not_ready);
  EXPECT_EQ(n.ready, false);
  EXPECT_TRUE(n.trees.empty());
  EXPECT_FALSE(RoundTrip(Reply()).ready.has_value()) << "absent on other replies";

  Reply keys;
  keys.key_hashes = {{"a", 1}, {std::string("\0b", 2), UINT64_MAX}};
  keys.more = true;
  Reply k = RoundTrip(keys);
  EXPECT_EQ(k.key_hashes, keys.key_hashes);
  EXPECT_TRUE(k.items.empty());
  EXPECT_TRUE(k.more);

  Reply states;
  states.states = {std::string("st"), std::nullopt, std::string()};
  states.more = true;
  Reply s = RoundTrip(states);
  EXPECT_EQ(s.states, states.states);
  EXPECT_TRUE(s.more);
}

TEST(StorageProtocolAae, MalformedReplies) {
  auto reply = [](const std::function<void(mp::Packer&)>& field) {
    mp::Buffer buf;
    mp::Packer p(buf);
    p.pack_map(2);
    mp::PackStr(p, "ok");
    p.pack_true();
    field(p);
    return DecodeReply(std::string_view(buf.data(), buf.size()));
  };
  EXPECT_FALSE(reply([](mp::Packer& p) {
                 mp::PackStr(p, "trees");
                 p.pack_uint64(1);
               }).ok());
  EXPECT_FALSE(reply([](mp::Packer& p) {
                 mp::PackStr(p, "trees");
                 p.pack_array(1);
                 p.pack_array(1);
                 p.pack_array(2);
                 p.pack_uint64(1);
                 mp::PackBin(p, "x");
               }).ok());
  EXPECT_FALSE(reply([](mp::Packer& p) {
                 mp::PackStr(p, "states");
                 p.pack_array(1);
                 p.pack_uint64(1);
               }).ok());
  // Items mixing [key, hash] and [key, state].
  EXPECT_FALSE(reply([](mp::Packer& p) {
                 mp::PackStr(p, "items");
                 p.pack_array(2);
                 p.pack_array(2);
                 mp::PackBin(p, "a");
                 p.pack_uint64(1);
                 p.pack_array(2);
                 mp::PackBin(p, "b");
                 mp::PackBin(p, "s");
               }).ok());
  EXPECT_FALSE(reply([](mp::Packer& p) {
                 mp::PackStr(p, "ready");
                 p.pack_uint64(1);
               }).ok());
}

}  // namespace
}  // namespace ringkv::storage_protocol

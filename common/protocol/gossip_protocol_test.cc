// Round trips of every gossip message shape, and the garbage, oversized and wrong-typed inputs
// the decoder must refuse with InvalidArgument (never a crash, never a huge allocation).
#include "common/protocol/gossip_protocol.h"

#include <gtest/gtest.h>

#include <random>

#include "common/msgpack_util.h"

namespace ringkv::gossip_protocol {
namespace {

NodeEntry SampleEntry(const std::string& id) {
  NodeEntry e;
  e.id = id;
  e.dc = "dc2";
  e.rack = "r7";
  e.client_endpoint = "tcp://127.0.0.1:7400";
  e.storage_endpoint = "tcp://127.0.0.1:7401";
  e.gossip_endpoint = "tcp://127.0.0.1:7402";
  e.vnodes = 4;
  e.tokens = {1, UINT64_MAX, 0x0102030405060708ull, 0};
  e.state = MemberState::kLeaving;
  e.heartbeat = {1733400000, 42};
  e.storage = {true, 99};
  e.coordinator = {false, 7};
  return e;
}

Message RoundTrip(const Message& m) {
  auto d = Decode(Encode(m));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : Message{};
}

TEST(GossipProtocol, CompactSynRoundTrips) {
  Message m;
  m.kind = Kind::kSyn;
  m.from = "n1";
  m.view_hash = 0xdeadbeefcafef00dull;
  m.view_size = 5;
  m.has_heartbeats = true;
  m.heartbeats = {0, 1, 127, 128, UINT64_MAX};
  Message r = RoundTrip(m);
  EXPECT_EQ(r.kind, Kind::kSyn);
  EXPECT_EQ(r.from, "n1");
  EXPECT_EQ(r.view_hash, m.view_hash);
  EXPECT_EQ(r.view_size, 5u);
  EXPECT_TRUE(r.has_heartbeats);
  EXPECT_EQ(r.heartbeats, m.heartbeats);
  EXPECT_FALSE(r.has_digests);
  // Varints: a small version costs one byte, so a compact SYN is tiny.
  EXPECT_LT(Encode(m).size(), 64u);
}

TEST(GossipProtocol, AckWithEntriesAndRequestsRoundTrips) {
  Message m;
  m.kind = Kind::kAck;
  m.from = "n2";
  m.has_digests = true;
  m.digests = {{"n1", {3, 4}}, {"n9", {0, 0}}};
  m.entries = {SampleEntry("a"), SampleEntry("b")};
  m.entries[1].tokens.clear();
  m.entries[1].state = MemberState::kRemoved;
  m.requests = {{"n3", {1, 2}}};
  m.buckets = {0, 5, 31};
  m.bucket_hashes.assign(kBuckets, 0x0102030405060708ull);
  m.bucket_hashes[31] = UINT64_MAX;
  Message r = RoundTrip(m);
  EXPECT_EQ(r.buckets, m.buckets);
  EXPECT_EQ(r.bucket_hashes, m.bucket_hashes);
  EXPECT_EQ(r.kind, Kind::kAck);
  EXPECT_TRUE(r.has_digests);
  EXPECT_EQ(r.digests, m.digests);
  EXPECT_EQ(r.entries, m.entries);
  EXPECT_EQ(r.requests, m.requests);
  EXPECT_FALSE(r.has_heartbeats);

  Message empty_digests;
  empty_digests.kind = Kind::kSyn;
  empty_digests.from = "x";
  empty_digests.has_digests = true;
  EXPECT_TRUE(RoundTrip(empty_digests).has_digests);
}

TEST(GossipProtocol, Ack2RoundTrips) {
  Message m;
  m.kind = Kind::kAck2;
  m.from = "n3";
  m.entries = {SampleEntry("z")};
  Message r = RoundTrip(m);
  EXPECT_EQ(r.kind, Kind::kAck2);
  EXPECT_EQ(r.entries, m.entries);
}

TEST(GossipProtocol, SameFactsIgnoresOnlyTheVersion) {
  NodeEntry a = SampleEntry("a");
  NodeEntry b = a;
  b.heartbeat.version += 10;
  EXPECT_TRUE(a.SameFacts(b));
  b.heartbeat.generation += 1;
  EXPECT_FALSE(a.SameFacts(b));
  b = a;
  b.storage.incarnation += 1;
  EXPECT_FALSE(a.SameFacts(b));
}

std::string Packed(const std::function<void(mp::Packer&)>& f) {
  mp::Buffer buf;
  mp::Packer p(buf);
  f(p);
  return std::string(buf.data(), buf.size());
}

// A message of kind `kind` with the fields every kind needs, plus `field` packed by `value`.
std::string MessageWith(const char* kind, const char* field,
                        const std::function<void(mp::Packer&)>& value) {
  return Packed([&](mp::Packer& p) {
    p.pack_map(6);
    mp::PackStr(p, "t"); mp::PackStr(p, kind);
    mp::PackStr(p, "v"); p.pack_uint64(1);
    mp::PackStr(p, "from"); mp::PackStr(p, "n1");
    mp::PackStr(p, "vh"); p.pack_uint64(1);
    mp::PackStr(p, "vn"); p.pack_uint64(1);
    mp::PackStr(p, field); value(p);
  });
}

void ExpectInvalid(std::string_view bytes, const std::string& needle) {
  auto d = Decode(bytes);
  ASSERT_FALSE(d.ok()) << "accepted: " << needle;
  EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(d.status().message().find(needle), std::string::npos) << d.status().message();
}

// A valid message's map with one field replaced by `patch`.
std::string SynWith(const std::string& field, const std::function<void(mp::Packer&)>& patch) {
  return Packed([&](mp::Packer& p) {
    const char* fields[] = {"t", "v", "from", "vh", "vn", "hb"};
    p.pack_map(6);
    for (const char* f : fields) {
      mp::PackStr(p, f);
      if (field == f) { patch(p); continue; }
      std::string_view n = f;
      if (n == "t") mp::PackStr(p, "syn");
      else if (n == "v") p.pack_uint64(1);
      else if (n == "from") mp::PackStr(p, "n1");
      else if (n == "hb") mp::PackBin(p, std::string("\x01\x02", 2));
      else p.pack_uint64(3);
    }
  });
}

TEST(GossipProtocol, RejectsGarbageAndWrongTypes) {
  ExpectInvalid("", "not MessagePack");
  ExpectInvalid("\xc1", "not MessagePack");
  ExpectInvalid(Packed([](mp::Packer& p) { p.pack_array(0); }), "not a map");
  ExpectInvalid(Packed([](mp::Packer& p) { p.pack_map(0); }), "missing field 't'");
  ExpectInvalid(SynWith("t", [](mp::Packer& p) { mp::PackStr(p, "gossip"); }), "unknown message kind");
  ExpectInvalid(SynWith("v", [](mp::Packer& p) { p.pack_uint64(2); }), "protocol version");
  ExpectInvalid(SynWith("v", [](mp::Packer& p) { p.pack_double(1.5); }), "'v'");
  ExpectInvalid(SynWith("from", [](mp::Packer& p) { p.pack_uint64(1); }), "'from'");
  ExpectInvalid(SynWith("vh", [](mp::Packer& p) { mp::PackStr(p, "1"); }), "'vh'");
  ExpectInvalid(SynWith("vh", [](mp::Packer& p) { p.pack_int64(-1); }), "'vh'");
  ExpectInvalid(SynWith("hb", [](mp::Packer& p) { mp::PackBin(p, std::string("\x80", 1)); }),
                "varints");
  ExpectInvalid(SynWith("hb", [](mp::Packer& p) { p.pack_true(); }), "'hb'");
  auto ack_with = [](const char* field, const std::string& bin) {
    return MessageWith("ack", field, [&](mp::Packer& p) { mp::PackBin(p, bin); });
  };
  EXPECT_TRUE(Decode(ack_with("bh", std::string(8 * kBuckets, 'h'))).ok());
  ExpectInvalid(ack_with("bh", std::string(8 * kBuckets - 1, 'h')), "bucket hashes");
  EXPECT_TRUE(Decode(ack_with("bk", std::string(1, char(kBuckets - 1)))).ok());
  ExpectInvalid(ack_with("bk", std::string(1, char(kBuckets))), "out of range");
  std::string good = SynWith("", [](mp::Packer&) {});
  EXPECT_TRUE(Decode(good).ok());
  ExpectInvalid(good + "x", "trailing bytes");
}

TEST(GossipProtocol, SparseSynWithRumoursRoundTrips) {
  Message m;
  m.kind = Kind::kSyn;
  m.from = "n1";
  m.view_hash = 7;
  m.view_size = 5000;
  m.has_self_heartbeat = true;
  m.self_heartbeat = {1733400000, 300};
  m.has_sparse = true;
  m.sparse = {{17, 300}, {4999, 1}, {0, UINT64_MAX}};
  m.suspects = {{"n9", {3, 4}}};
  m.suspect_health = {6};
  m.alive = {{"n8", {1, 2}}, {"n7", {5, 6}}};
  m.local_health = 2;
  Message r = RoundTrip(m);
  EXPECT_TRUE(r.has_self_heartbeat);
  EXPECT_EQ(r.self_heartbeat, m.self_heartbeat);
  EXPECT_TRUE(r.has_sparse);
  EXPECT_FALSE(r.has_heartbeats);
  EXPECT_EQ(r.sparse, m.sparse);
  EXPECT_EQ(r.suspects, m.suspects);
  EXPECT_EQ(r.suspect_health, m.suspect_health);
  EXPECT_EQ(r.alive, m.alive);
  EXPECT_EQ(r.local_health, 2u);
  // Absent fields take their defaults (an older sender).
  Message plain = RoundTrip(Message{.kind = Kind::kSyn, .from = "n2", .has_heartbeats = true});
  EXPECT_FALSE(plain.has_self_heartbeat);
  EXPECT_FALSE(plain.has_sparse);
  EXPECT_TRUE(plain.suspects.empty());
  EXPECT_EQ(plain.local_health, 0u);
  // What a node sends every round with views agreeing: own heartbeat and 4 others, whatever N.
  Message agree;
  agree.kind = Kind::kSyn;
  agree.from = "node-0042";
  agree.view_hash = UINT64_MAX;
  agree.view_size = 5000;
  agree.has_self_heartbeat = true;
  agree.self_heartbeat = {1733400000, 100000};
  agree.has_sparse = true;
  for (uint32_t i = 0; i < 5; ++i) agree.sparse.push_back({4000 + i, 100000});
  EXPECT_LT(Encode(agree).size(), 100u);
}

TEST(GossipProtocol, RejectsBadSparseHeartbeatsAndRumours) {
  auto syn_plus = [](const char* field, const std::function<void(mp::Packer&)>& value) {
    return MessageWith("syn", field, value);
  };
  EXPECT_TRUE(Decode(syn_plus("hs", [](mp::Packer& p) { mp::PackBin(p, std::string("\x01\x02", 2)); })).ok());
  ExpectInvalid(syn_plus("hs", [](mp::Packer& p) { mp::PackBin(p, std::string("\x01", 1)); }), "pairs");
  ExpectInvalid(syn_plus("hs", [](mp::Packer& p) { mp::PackBin(p, std::string("\x80\x80\x01\x01", 4)); }),
                "position over the limit");
  ExpectInvalid(syn_plus("me", [](mp::Packer& p) { p.pack_array(1); p.pack_uint64(1); }), "'me'");
  ExpectInvalid(syn_plus("lh", [](mp::Packer& p) { mp::PackStr(p, "x"); }), "'lh'");
  ExpectInvalid(syn_plus("su", [](mp::Packer& p) {
                  p.pack_array(kMaxRumors + 1);
                  for (size_t i = 0; i <= kMaxRumors; ++i) {
                    p.pack_array(3); mp::PackStr(p, "n"); p.pack_uint64(1); p.pack_uint64(1);
                  }
                }),
                "rumours");
  ExpectInvalid(syn_plus("al", [](mp::Packer& p) {
                  p.pack_array(1); p.pack_array(2); p.pack_uint64(1); p.pack_uint64(1);
                }),
                "digest");
  // "sl" needs one health per suspect (here: no suspects). A SYN with only "me" and no
  // heartbeats of any kind is not a SYN.
  ExpectInvalid(syn_plus("sl", [](mp::Packer& p) { mp::PackBin(p, std::string("\x01", 1)); }),
                "one health per suspect");
}

TEST(GossipProtocol, RejectsBadEntriesAndDigests) {
  auto with_entry = [](const std::function<void(mp::Packer&)>& entry) {
    return Packed([&](mp::Packer& p) {
      p.pack_map(4);
      mp::PackStr(p, "t"); mp::PackStr(p, "ack2");
      mp::PackStr(p, "v"); p.pack_uint64(1);
      mp::PackStr(p, "from"); mp::PackStr(p, "n1");
      mp::PackStr(p, "en"); p.pack_array(1);
      entry(p);
    });
  };
  // An entry with id, g, ver and st (`id` and `state` given) and one more field.
  auto entry = [&](const std::string& id, const char* state,
                   const std::function<void(mp::Packer&)>& extra) {
    return with_entry([&](mp::Packer& p) {
      p.pack_map(extra ? 5 : 4);
      mp::PackStr(p, "id"); mp::PackStr(p, id);
      mp::PackStr(p, "g"); p.pack_uint64(1);
      mp::PackStr(p, "ver"); p.pack_uint64(1);
      mp::PackStr(p, "st"); mp::PackStr(p, state);
      if (extra) extra(p);
    });
  };
  EXPECT_TRUE(Decode(entry("n2", "normal", nullptr)).ok());
  ExpectInvalid(entry("n2", "down", nullptr), "never gossiped");
  ExpectInvalid(entry("n2", "sleepy", nullptr), "unknown state");
  ExpectInvalid(with_entry([](mp::Packer& p) { p.pack_uint64(3); }), "not a map");
  ExpectInvalid(with_entry([](mp::Packer& p) {
    p.pack_map(1);
    mp::PackStr(p, "id"); mp::PackStr(p, "n2");
  }), "missing field 'g'");
  ExpectInvalid(entry(std::string(300, 'x'), "normal", nullptr), "longer than");
  ExpectInvalid(entry("n2", "normal", [](mp::Packer& p) {
    mp::PackStr(p, "dc"); mp::PackStr(p, std::string(257, 'd'));
  }), "longer than");
  ExpectInvalid(entry("n2", "normal", [](mp::Packer& p) {
    mp::PackStr(p, "tk"); mp::PackBin(p, "1234567");
  }), "8-byte tokens");
  ExpectInvalid(entry("n2", "normal", [](mp::Packer& p) {
    mp::PackStr(p, "sh"); p.pack_array(2); p.pack_uint64(1); p.pack_uint64(1);
  }), "'sh'");
  ExpectInvalid(entry("n2", "normal", [](mp::Packer& p) {
    mp::PackStr(p, "vn"); p.pack_uint64(kMaxTokensPerNode + 1);
  }), "too many vnodes");
  ExpectInvalid(SynWith("hb", [](mp::Packer& p) {
    p.pack_array(1);
    p.pack_array(3); mp::PackStr(p, "n1"); p.pack_uint64(1); mp::PackStr(p, "2");
  }), "'hb'");
  auto with_digest = [](const std::function<void(mp::Packer&)>& d) {
    return Packed([&](mp::Packer& p) {
      p.pack_map(6);
      mp::PackStr(p, "t"); mp::PackStr(p, "syn");
      mp::PackStr(p, "v"); p.pack_uint64(1);
      mp::PackStr(p, "from"); mp::PackStr(p, "n1");
      mp::PackStr(p, "vh"); p.pack_uint64(1);
      mp::PackStr(p, "vn"); p.pack_uint64(1);
      mp::PackStr(p, "dg"); p.pack_array(1);
      d(p);
    });
  };
  ExpectInvalid(with_digest([](mp::Packer& p) {
    p.pack_array(3); mp::PackStr(p, "n1"); p.pack_uint64(1); mp::PackStr(p, "2");
  }), "[str, uint, uint]");
  ExpectInvalid(with_digest([](mp::Packer& p) { p.pack_array(2); p.pack_uint64(1); p.pack_uint64(1); }),
                "digest");
}

TEST(GossipProtocol, RejectsOversizedInputWithoutAllocatingIt) {
  ExpectInvalid(std::string(kMaxMessageBytes + 1, '\0'), "exceeds");
  // A few bytes claiming a list of 2^32-1 items: refused by the parser's limits.
  ExpectInvalid(std::string("\xdd\xff\xff\xff\xff", 5), "not MessagePack");
  std::string big_list = Packed([](mp::Packer& p) {
    p.pack_map(1);
    mp::PackStr(p, "dg");
    p.pack_array(kMaxMembers + 1);
    for (size_t i = 0; i <= kMaxMembers; ++i) p.pack_nil();
  });
  ExpectInvalid(big_list, "not MessagePack");
  // Too many heartbeats in the varint blob.
  ExpectInvalid(SynWith("hb", [](mp::Packer& p) { mp::PackBin(p, std::string(kMaxMembers + 1, '\x01')); }),
                "heartbeats");
}

TEST(GossipProtocol, RandomBytesNeverCrash) {
  std::mt19937_64 rng(12);
  Message m;
  m.kind = Kind::kAck;
  m.from = "n1";
  m.has_digests = true;
  m.digests = {{"n1", {3, 4}}};
  m.entries = {SampleEntry("a")};
  const std::string good = Encode(m);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<char>(rng());
    if (rng() % 8 == 0) b.resize(rng() % b.size());
    if (Decode(b).ok()) ++decoded;
  }
  // Most mutations hit a string body and still decode; the rest must fail cleanly.
  EXPECT_GT(decoded, 0);
}


TEST(GossipProtocol, DirectPortIsAFactWithADefault) {
  NodeEntry a = SampleEntry("a");
  NodeEntry b = a;
  b.storage_direct_port = 7405;
  EXPECT_FALSE(a.SameFacts(b));
  Message m;
  m.kind = Kind::kAck2;
  m.from = "n1";
  m.entries = {a, b};
  Message r = RoundTrip(m);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].storage_direct_port, 0u);  // absent: 0
  EXPECT_EQ(r.entries[1].storage_direct_port, 7405u);
  EXPECT_EQ(r.entries, m.entries);
}

TEST(GossipProtocol, ExchangeMessagesAreToldFromRequests) {
  Message m;
  m.kind = Kind::kSyn;
  m.from = "n1";
  m.has_heartbeats = true;
  EXPECT_TRUE(IsExchangeMessage(Encode(m)));
  m.kind = Kind::kAck2;
  m.entries = {SampleEntry("a")};
  EXPECT_TRUE(IsExchangeMessage(Encode(m)));
  EXPECT_FALSE(IsExchangeMessage(EncodeHint({1, "b", "k", "s"})));
  EXPECT_FALSE(IsExchangeMessage(""));
  EXPECT_FALSE(IsExchangeMessage("\x81"));
  EXPECT_FALSE(IsExchangeMessage(Packed([](mp::Packer& p) {
    p.pack_map(1);
    mp::PackStr(p, "op");
    mp::PackStr(p, "t");
  })));
  // map16 and map32 headers too.
  EXPECT_TRUE(IsExchangeMessage(std::string("\xde\x00\x01\xa1t", 5)));
  EXPECT_TRUE(IsExchangeMessage(std::string("\xdf\x00\x00\x00\x01\xa1t", 7)));
}

TEST(GossipProtocol, HintRoundTripsAndRejectsBadHints) {
  HintRequest h{42, "n3", std::string("k\0y", 3), std::string(1000, 's')};
  auto d = DecodeHint(EncodeHint(h));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->rid, 42u);
  EXPECT_EQ(d->target, "n3");
  EXPECT_EQ(d->key, h.key);
  EXPECT_EQ(d->state, h.state);
  auto hint = [](const std::function<void(mp::Packer&)>& fields, uint32_t n) {
    return Packed([&](mp::Packer& p) {
      p.pack_map(n + 1);
      mp::PackStr(p, "op");
      mp::PackStr(p, "hint");
      fields(p);
    });
  };
  auto bad = [](const std::string& bytes, const std::string& needle) {
    auto r = DecodeHint(bytes);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  bad("\xc1", "gossip:");
  bad(Packed([](mp::Packer& p) { p.pack_array(1); p.pack_true(); }), "not a map");
  bad(Packed([](mp::Packer& p) { p.pack_map(1); mp::PackStr(p, "op"); mp::PackStr(p, "ping"); }),
      "not a hint");
  bad(hint([](mp::Packer& p) { mp::PackStr(p, "target"); mp::PackStr(p, "b"); }, 1),
      "needs target, key and state");
  bad(hint([](mp::Packer& p) {
        mp::PackStr(p, "target"); mp::PackStr(p, "");
        mp::PackStr(p, "key"); mp::PackBin(p, "k");
        mp::PackStr(p, "state"); mp::PackBin(p, "s");
      }, 3), "target is empty");
  bad(hint([](mp::Packer& p) {
        mp::PackStr(p, "target"); p.pack_uint64(3);
        mp::PackStr(p, "key"); mp::PackBin(p, "k");
        mp::PackStr(p, "state"); mp::PackBin(p, "s");
      }, 3), "target");
  bad(hint([](mp::Packer& p) {
        mp::PackStr(p, "rid"); mp::PackStr(p, "1");
        mp::PackStr(p, "target"); mp::PackStr(p, "b");
        mp::PackStr(p, "key"); mp::PackBin(p, "k");
        mp::PackStr(p, "state"); mp::PackBin(p, "s");
      }, 4), "rid");
  bad(hint([](mp::Packer& p) {
        mp::PackStr(p, "target"); mp::PackStr(p, "b");
        mp::PackStr(p, "key"); p.pack_true();
        mp::PackStr(p, "state"); mp::PackBin(p, "s");
      }, 3), "key");
}

TEST(GossipProtocol, RepliesCarryHintRoomOnlyWhenOk) {
  auto ok = DecodeReply(Packed([](mp::Packer& p) {
    p.pack_map(4);
    mp::PackStr(p, "v"); p.pack_uint64(1);
    mp::PackStr(p, "ok"); p.pack_true();
    mp::PackStr(p, "rid"); p.pack_uint64(9);
    mp::PackStr(p, "hint_room"); p.pack_uint64(12345);
  }));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->rid, 9u);
  EXPECT_TRUE(ok->has_hint_room);
  EXPECT_EQ(ok->hint_room, 12345u);
  auto plain = DecodeReply(Packed([](mp::Packer& p) {
    p.pack_map(1);
    mp::PackStr(p, "ok"); p.pack_true();
  }));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->has_hint_room);
  EXPECT_EQ(plain->rid, 0u);
  auto err = DecodeReply(Packed([](mp::Packer& p) {
    p.pack_map(3);
    mp::PackStr(p, "ok"); p.pack_false();
    mp::PackStr(p, "hint_room"); p.pack_uint64(5);
    mp::PackStr(p, "error"); p.pack_map(2);
    mp::PackStr(p, "code"); mp::PackStr(p, "busy");
    mp::PackStr(p, "message"); mp::PackStr(p, "full");
  }));
  ASSERT_TRUE(err.ok());
  EXPECT_FALSE(err->ok);
  EXPECT_EQ(err->code, kErrBusy);
  EXPECT_EQ(err->message, "full");
  EXPECT_FALSE(err->has_hint_room);
  auto nameless = DecodeReply(Packed([](mp::Packer& p) {
    p.pack_map(1);
    mp::PackStr(p, "ok"); p.pack_false();
  }));
  ASSERT_TRUE(nameless.ok());
  EXPECT_EQ(nameless->code, kErrInternal);
  EXPECT_FALSE(DecodeReply("\xc1").ok());
  EXPECT_FALSE(DecodeReply(Packed([](mp::Packer& p) { p.pack_array(0); })).ok());
  EXPECT_FALSE(DecodeReply(Packed([](mp::Packer& p) { p.pack_map(0); })).ok());
  EXPECT_FALSE(DecodeReply(Packed([](mp::Packer& p) {
    p.pack_map(2);
    mp::PackStr(p, "ok"); p.pack_true();
    mp::PackStr(p, "rid"); p.pack_int64(-1);
  })).ok());
  EXPECT_FALSE(DecodeReply(Packed([](mp::Packer& p) {
    p.pack_map(2);
    mp::PackStr(p, "ok"); p.pack_true();
    mp::PackStr(p, "hint_room"); mp::PackStr(p, "lots");
  })).ok());
}

ViewPush SampleView() {
  ViewPush v;
  v.self = "b";
  v.view_version = 77;
  for (const char* id : {"a", "b", "c"}) {
    MemberView m;
    m.entry = SampleEntry(id);
    m.entry.storage_direct_port = id[0] == 'c' ? 0 : 7500;
    m.up = id[0] != 'c';
    m.phi = id[0] == 'c' ? 9.25 : 0.5;
    m.heartbeat_age_ms = id[0] == 'b' ? -1 : 1234;
    v.members.push_back(m);
  }
  v.members[0].entry.tokens.clear();  // derived tokens travel as an empty list
  v.members[0].entry.state = MemberState::kJoining;
  return v;
}

TEST(GossipProtocol, ViewRoundTrips) {
  ViewPush v = SampleView();
  const std::string bytes = EncodeView(v, 31);
  auto d = DecodeView(bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, v);
  // A generic reply decoder reads it as an ok reply with its rid.
  auto r = DecodeReply(bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->rid, 31u);
  EXPECT_FALSE(IsExchangeMessage(bytes));
  ViewPush empty;
  empty.self = "x";
  auto e = DecodeView(EncodeView(empty, 0));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e, empty);
}

// The view reply with `field` of the top map replaced by `patch` (nullptr: left out).
std::string ViewWith(const std::string& field, const std::function<void(mp::Packer&)>& patch,
                     const std::function<void(mp::Packer&)>& members = nullptr) {
  return Packed([&](mp::Packer& p) {
    const char* fields[] = {"v", "ok", "rid", "op", "self", "view_version", "members"};
    p.pack_map(field.empty() || patch ? 7 : 6);
    for (const char* f : fields) {
      std::string_view n = f;
      if (field == f) {
        if (!patch) continue;
        mp::PackStr(p, f);
        patch(p);
        continue;
      }
      mp::PackStr(p, f);
      if (n == "v") p.pack_uint64(1);
      else if (n == "ok") p.pack_true();
      else if (n == "rid") p.pack_uint64(5);
      else if (n == "op") mp::PackStr(p, "view");
      else if (n == "self") mp::PackStr(p, "a");
      else if (n == "view_version") p.pack_uint64(3);
      else if (members) members(p);
      else p.pack_array(0);
    }
  });
}

void PackMember(mp::Packer& p, const std::string& id, const std::string& skip,
                const std::function<void(mp::Packer&)>& patch = nullptr,
                const std::string& patched = "") {
  const char* fields[] = {"e", "up", "phi", "age"};
  p.pack_map(skip.empty() ? 4 : 3);
  for (const char* f : fields) {
    std::string_view n = f;
    if (skip == f) continue;
    mp::PackStr(p, f);
    if (patched == f && patch) { patch(p); continue; }
    if (n == "e") {
      p.pack_map(4);
      mp::PackStr(p, "id"); mp::PackStr(p, id);
      mp::PackStr(p, "g"); p.pack_uint64(1);
      mp::PackStr(p, "ver"); p.pack_uint64(1);
      mp::PackStr(p, "st"); mp::PackStr(p, "normal");
    } else if (n == "up") {
      p.pack_true();
    } else if (n == "phi") {
      p.pack_double(0.25);
    } else {
      p.pack_int64(100);
    }
  }
}

void ExpectBadView(const std::string& bytes, const std::string& needle) {
  auto d = DecodeView(bytes);
  ASSERT_FALSE(d.ok()) << "accepted: " << needle;
  EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(d.status().message().find(needle), std::string::npos) << d.status().message();
}

TEST(GossipProtocol, ViewRejectsEveryMalformedShape) {
  auto one = [](const std::string& skip, const std::function<void(mp::Packer&)>& patch = nullptr,
                const std::string& patched = "") {
    return ViewWith("members", [&](mp::Packer& p) {
      p.pack_array(1);
      PackMember(p, "a", skip, patch, patched);
    });
  };
  EXPECT_TRUE(DecodeView(ViewWith("", nullptr)).ok());
  EXPECT_TRUE(DecodeView(one("")).ok());
  ExpectBadView("", "not MessagePack");
  ExpectBadView("\x93\x01\x02", "not MessagePack");
  ExpectBadView(Packed([](mp::Packer& p) { p.pack_array(0); }), "not a map");
  ExpectBadView(ViewWith("", nullptr) + "x", "trailing");
  ExpectBadView(std::string(kMaxMessageBytes + 1, '\x90'), "exceeds");
  // An error reply is not a view.
  ExpectBadView(ViewWith("ok", [](mp::Packer& p) { p.pack_false(); }), "not ok");
  ExpectBadView(ViewWith("ok", nullptr), "not ok");
  ExpectBadView(ViewWith("ok", [](mp::Packer& p) { p.pack_uint64(1); }), "'ok'");
  ExpectBadView(ViewWith("v", [](mp::Packer& p) { p.pack_uint64(2); }), "protocol version");
  ExpectBadView(ViewWith("v", nullptr), "missing field 'v'");
  ExpectBadView(ViewWith("op", [](mp::Packer& p) { mp::PackStr(p, "ring"); }), "not 'view'");
  ExpectBadView(ViewWith("op", nullptr), "'op'");
  ExpectBadView(ViewWith("rid", [](mp::Packer& p) { mp::PackStr(p, "5"); }), "'rid'");
  ExpectBadView(ViewWith("self", nullptr), "'self'");
  ExpectBadView(ViewWith("self", [](mp::Packer& p) { mp::PackStr(p, ""); }), "empty 'self'");
  ExpectBadView(ViewWith("self", [](mp::Packer& p) { mp::PackStr(p, std::string(300, 'x')); }),
                "longer than");
  ExpectBadView(ViewWith("view_version", nullptr), "'view_version'");
  ExpectBadView(ViewWith("view_version", [](mp::Packer& p) { p.pack_int64(-3); }), "'view_version'");
  ExpectBadView(ViewWith("members", nullptr), "missing field 'members'");
  ExpectBadView(ViewWith("members", [](mp::Packer& p) { p.pack_map(0); }), "not a list");
  ExpectBadView(ViewWith("members", [](mp::Packer& p) { p.pack_array(1); p.pack_true(); }),
                "not a map");
  ExpectBadView(one("e"), "no entry");
  ExpectBadView(one("up"), "no 'up'");
  ExpectBadView(one("phi"), "no 'phi'");
  ExpectBadView(one("age"), "no 'age'");
  ExpectBadView(one("", [](mp::Packer& p) { p.pack_uint64(1); }, "up"), "'up'");
  ExpectBadView(one("", [](mp::Packer& p) { mp::PackStr(p, "1.0"); }, "phi"), "not a number");
  ExpectBadView(one("", [](mp::Packer& p) { p.pack_double(1.5); }, "age"), "'age'");
  ExpectBadView(one("", [](mp::Packer& p) { p.pack_int64(-2); }, "age"), "negative");
  ExpectBadView(one("", [](mp::Packer& p) { p.pack_array(0); }, "e"), "not a map");
  ExpectBadView(one("", [](mp::Packer& p) {
    p.pack_map(4);
    mp::PackStr(p, "id"); mp::PackStr(p, "a");
    mp::PackStr(p, "g"); p.pack_uint64(1);
    mp::PackStr(p, "ver"); p.pack_uint64(1);
    mp::PackStr(p, "st"); mp::PackStr(p, "down");
  }, "e"), "never gossiped");
  ExpectBadView(one("", [](mp::Packer& p) {
    p.pack_map(5);
    mp::PackStr(p, "id"); mp::PackStr(p, "a");
    mp::PackStr(p, "g"); p.pack_uint64(1);
    mp::PackStr(p, "ver"); p.pack_uint64(1);
    mp::PackStr(p, "st"); mp::PackStr(p, "normal");
    mp::PackStr(p, "dp"); p.pack_uint64(70000);
  }, "e"), "direct port");
  ExpectBadView(ViewWith("members", [](mp::Packer& p) {
    p.pack_array(2);
    PackMember(p, "b", "");
    PackMember(p, "a", "");
  }), "id order");
  ExpectBadView(ViewWith("members", [](mp::Packer& p) {
    p.pack_array(2);
    PackMember(p, "a", "");
    PackMember(p, "a", "");
  }), "repeat");
  // A list claiming more members than the limit allocates nothing and is refused.
  ExpectBadView(ViewWith("members", [](mp::Packer& p) { p.pack_array(kMaxMembers + 1); }),
                "not MessagePack");
}

TEST(GossipProtocol, ViewDecoderSurvivesRandomBytesAndTruncation) {
  const std::string good = EncodeView(SampleView(), 1);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeView(good.substr(0, n)).ok()) << n;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string b = good;
    b[rng() % b.size()] = static_cast<char>(rng());
    (void)DecodeView(b);  // must not crash; may or may not decode
  }
}
}  // namespace
}  // namespace ringkv::gossip_protocol

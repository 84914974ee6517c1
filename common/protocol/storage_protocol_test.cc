// Round trips of every request and reply shape, and every malformed request the decoder must
// refuse with the right error code (and the rid recovered when it can be).
#include "common/protocol/storage_protocol.h"

#include <gtest/gtest.h>

#include "common/msgpack_util.h"
#include "common/protocol/storage_protocol_test_util.h"

namespace ringkv::storage_protocol {
namespace {

bool SameRequest(const Request& a, const Request& b) {
  return a.op == b.op && a.rid == b.rid && a.key == b.key && a.ctx == b.ctx &&
         a.tombstone == b.tombstone && a.value == b.value && a.max_siblings == b.max_siblings &&
         a.early == b.early &&
         a.state == b.state && a.first == b.first && a.last == b.last &&
         a.after_token == b.after_token && a.after_key == b.after_key && a.limit == b.limit &&
         a.deadline_ms == b.deadline_ms;
}

using testing::RoundTrip;

TEST(StorageProtocol, RequestRoundTrips) {
  Request ping;
  ping.op = "ping";
  ping.rid = 7;
  EXPECT_TRUE(SameRequest(ping, RoundTrip(ping)));

  Request get;
  get.op = "get";
  get.rid = UINT64_MAX;
  get.key = std::string("k\0ey", 4);
  EXPECT_TRUE(SameRequest(get, RoundTrip(get)));

  Request put;
  put.op = "update";
  put.rid = 1;
  put.key = "a";
  put.ctx = std::string("\x01\x02\x00", 3);
  put.value = std::string(100000, 'v');
  put.max_siblings = 3;
  EXPECT_TRUE(SameRequest(put, RoundTrip(put)));

  Request del = put;
  del.tombstone = true;
  del.value.clear();
  del.ctx.clear();
  EXPECT_TRUE(SameRequest(del, RoundTrip(del)));

  Request empty_value = put;
  empty_value.value.clear();
  EXPECT_TRUE(SameRequest(empty_value, RoundTrip(empty_value)));

  Request early = put;
  early.early = true;
  EXPECT_TRUE(SameRequest(early, RoundTrip(early)));
  EXPECT_FALSE(RoundTrip(put).early);

  Request sync;
  sync.op = "sync";
  sync.key = "b";
  sync.state = "state-bytes";
  EXPECT_TRUE(SameRequest(sync, RoundTrip(sync)));

  Request scan;
  scan.op = "scan";
  scan.first = 10;
  scan.last = 20;
  scan.limit = kMaxScanLimit;
  EXPECT_TRUE(SameRequest(scan, RoundTrip(scan)));
  scan.after_token = 15;
  scan.after_key = "zz";
  EXPECT_TRUE(SameRequest(scan, RoundTrip(scan)));

  for (auto op : {kStats, kFlush, kCompact}) {
    Request r;
    r.op = std::string(op);
    EXPECT_TRUE(SameRequest(r, RoundTrip(r)));
  }
}

TEST(StorageProtocol, ReplyRoundTrips) {
  Reply r;
  r.rid = 9;
  r.state = std::string("\x00st", 3);
  r.dot = version::Dot{0xFFFFFFFFFFFFFFFFull, 3};
  auto d = DecodeReply(EncodeReply(r));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->rid, 9u);
  EXPECT_TRUE(d->ok);
  EXPECT_EQ(d->state, r.state);
  EXPECT_EQ(d->dot, r.dot);

  Reply absent;  // a get of a key with no state
  d = DecodeReply(EncodeReply(absent));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->state.has_value());
  EXPECT_FALSE(d->dot.has_value());

  Reply scan;
  scan.items = {{"a", "sa"}, {"b", ""}};
  scan.more = true;
  d = DecodeReply(EncodeReply(scan));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->items.size(), 2u);
  EXPECT_EQ(d->items[1].key, "b");
  EXPECT_EQ(d->items[0].state, "sa");
  EXPECT_TRUE(d->more);

  Reply ping;
  ping.actor = 42;
  ping.node = "n1";
  ping.direct_port = 40123;
  ping.durable = true;
  ping.stats = {{"keys", 5}, {"flushes", 0}};
  d = DecodeReply(EncodeReply(ping));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->actor, 42u);
  EXPECT_EQ(d->node, "n1");
  EXPECT_EQ(d->direct_port, 40123u);
  EXPECT_EQ(d->durable, std::optional<bool>(true));
  EXPECT_EQ(d->stats, ping.stats);

  Reply err = ErrorReply(5, kErrCorruption, "block checksum mismatch");
  d = DecodeReply(EncodeReply(err));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->ok);
  EXPECT_EQ(d->rid, 5u);
  EXPECT_EQ(d->code, "corruption");
  EXPECT_EQ(d->message, "block checksum mismatch");
}

// Builds a MessagePack map body by hand.
struct MapBuilder {
  mp::Buffer buf;
  mp::Packer p{buf};
  explicit MapBuilder(uint32_t n) { p.pack_map(n); }
  MapBuilder& Str(std::string_view k, std::string_view v) {
    mp::PackStr(p, k);
    mp::PackStr(p, v);
    return *this;
  }
  MapBuilder& Bin(std::string_view k, std::string_view v) {
    mp::PackStr(p, k);
    mp::PackBin(p, v);
    return *this;
  }
  MapBuilder& Uint(std::string_view k, uint64_t v) {
    mp::PackStr(p, k);
    p.pack_uint64(v);
    return *this;
  }
  MapBuilder& Int(std::string_view k, int64_t v) {
    mp::PackStr(p, k);
    p.pack_int64(v);
    return *this;
  }
  MapBuilder& Bool(std::string_view k, bool v) {
    mp::PackStr(p, k);
    if (v) p.pack_true(); else p.pack_false();
    return *this;
  }
  MapBuilder& Float(std::string_view k, double v) {
    mp::PackStr(p, k);
    p.pack_double(v);
    return *this;
  }
  std::string body() const { return std::string(buf.data(), buf.size()); }
};

#define ExpectError(...)          \
  do {                            \
    SCOPED_TRACE(__LINE__);       \
    ExpectErrorAt(__VA_ARGS__);   \
  } while (0)

void ExpectErrorAt(const std::string& body, std::string_view code, uint64_t want_rid,
                   std::string_view msg_part = "") {
  uint64_t rid = 12345;
  std::string got_code;
  auto d = DecodeRequest(body, &rid, &got_code);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(got_code, code) << d.status().ToString();
  EXPECT_EQ(rid, want_rid);
  if (!msg_part.empty()) {
    EXPECT_NE(d.status().message().find(msg_part), std::string::npos) << d.status().message();
  }
}

TEST(StorageProtocol, MalformedRequests) {
  ExpectError("", kErrBadRequest, 0, "not MessagePack");
  ExpectError("\xc1", kErrBadRequest, 0, "not MessagePack");  // reserved byte
  ExpectError("\x92\x01\x02", kErrBadRequest, 0, "not a MessagePack map");  // an array
  ExpectError("\x01", kErrBadRequest, 0, "not a MessagePack map");
  ExpectError(MapBuilder(1).Str("op", "ping").body() + "x", kErrBadRequest, 0, "trailing");
  ExpectError("\x82\xa2op", kErrBadRequest, 0);  // truncated map

  // rid recovered although the request is bad.
  ExpectError(MapBuilder(1).Uint("rid", 77).body(), kErrBadRequest, 77, "'op'");
  ExpectError(MapBuilder(2).Uint("rid", 3).Uint("op", 1).body(), kErrBadRequest, 3, "'op'");
  ExpectError(MapBuilder(2).Uint("rid", 4).Str("op", "frobnicate").body(), kErrUnknownOp, 4,
              "frobnicate");
  ExpectError(MapBuilder(2).Str("rid", "x").Str("op", "ping").body(), kErrBadRequest, 0, "'rid'");
  ExpectError(MapBuilder(2).Int("rid", -1).Str("op", "ping").body(), kErrBadRequest, 0, "'rid'");
  ExpectError(MapBuilder(2).Float("rid", 1.5).Str("op", "ping").body(), kErrBadRequest, 0);

  // Keys.
  ExpectError(MapBuilder(2).Uint("rid", 5).Str("op", "get").body(), kErrBadRequest, 5, "'k'");
  ExpectError(MapBuilder(3).Uint("rid", 5).Str("op", "get").Uint("k", 1).body(), kErrBadRequest, 5,
              "'k'");
  ExpectError(MapBuilder(3).Uint("rid", 5).Str("op", "get").Bin("k", "").body(), kErrBadRequest, 5,
              "empty key");
  ExpectError(MapBuilder(3).Uint("rid", 5).Str("op", "get").Bin("k", std::string(1025, 'k')).body(),
              kErrBadRequest, 5, "exceeds 1024");
  {
    uint64_t rid;
    auto ok = DecodeRequest(
        MapBuilder(2).Str("op", "get").Str("k", std::string(1024, 'k')).body(), &rid);
    EXPECT_TRUE(ok.ok()) << "a str key of exactly the limit is fine";
  }

  // Update.
  ExpectError(MapBuilder(3).Uint("rid", 6).Str("op", "update").Bin("k", "a").body(),
              kErrBadRequest, 6, "'v'");
  ExpectError(
      MapBuilder(4).Uint("rid", 6).Str("op", "update").Bin("k", "a").Uint("v", 1).body(),
      kErrBadRequest, 6, "'v'");
  ExpectError(MapBuilder(5).Uint("rid", 6).Str("op", "update").Bin("k", "a").Bin("v", "x")
                  .Bool("ts", true).body(),
              kErrBadRequest, 6, "both");
  ExpectError(MapBuilder(4).Uint("rid", 6).Str("op", "update").Bin("k", "a").Str("ts", "yes")
                  .body(),
              kErrBadRequest, 6, "'ts'");
  ExpectError(MapBuilder(5).Uint("rid", 6).Str("op", "update").Bin("k", "a").Bin("v", "x")
                  .Str("ms", "3").body(),
              kErrBadRequest, 6, "'ms'");
  ExpectError(MapBuilder(5).Uint("rid", 6).Str("op", "update").Bin("k", "a").Bin("v", "x")
                  .Uint("ms", 0).body(),
              kErrBadRequest, 6, "'ms'");
  ExpectError(MapBuilder(5).Uint("rid", 6).Str("op", "update").Bin("k", "a").Bin("v", "x")
                  .Uint("ctx", 0).body(),
              kErrBadRequest, 6, "'ctx'");

  // Sync.
  ExpectError(MapBuilder(3).Uint("rid", 8).Str("op", "sync").Bin("k", "a").body(), kErrBadRequest,
              8, "'st'");
  ExpectError(MapBuilder(4).Uint("rid", 8).Str("op", "sync").Bin("k", "a").Bool("st", true).body(),
              kErrBadRequest, 8, "'st'");

  // Scan.
  ExpectError(MapBuilder(3).Uint("rid", 9).Str("op", "scan").Uint("lim", 0).body(),
              kErrBadRequest, 9, "'lim'");
  ExpectError(MapBuilder(3).Uint("rid", 9).Str("op", "scan").Uint("lim", kMaxScanLimit + 1).body(),
              kErrBadRequest, 9, "'lim'");
  ExpectError(MapBuilder(4).Uint("rid", 9).Str("op", "scan").Uint("first", 5).Uint("last", 4)
                  .body(),
              kErrBadRequest, 9, "first");
  ExpectError(MapBuilder(3).Uint("rid", 9).Str("op", "scan").Bin("ak", "x").body(),
              kErrBadRequest, 9, "'at'");
  ExpectError(MapBuilder(3).Uint("rid", 9).Str("op", "scan").Int("first", -1).body(),
              kErrBadRequest, 9, "'first'");

  // Too large.
  std::string huge(kMaxBodyBytes + 1, '\0');
  ExpectError(huge, kErrTooLarge, 0, "exceeds");
}

TEST(StorageProtocol, UnknownFieldsAreIgnored) {
  uint64_t rid = 0;
  auto d = DecodeRequest(MapBuilder(3).Str("op", "ping").Uint("rid", 2).Str("future", "x").body(),
                         &rid);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->op, "ping");
  EXPECT_EQ(rid, 2u);
}

TEST(StorageProtocol, DeadlineRoundTripsOnGetUpdateSync) {
  for (const char* op : {"get", "update", "sync"}) {
    SCOPED_TRACE(op);
    Request r;
    r.op = op;
    r.rid = 11;
    r.key = "k";
    if (r.op == "update") r.value = "v";
    if (r.op == "sync") r.state = "s";
    r.deadline_ms = 1'780'000'000'123ull;
    Request back = RoundTrip(r);
    EXPECT_TRUE(SameRequest(r, back));
    EXPECT_EQ(back.deadline_ms, r.deadline_ms);
    // Without a deadline the field is not sent at all (the bytes of an older peer).
    r.deadline_ms = 0;
    EXPECT_EQ(EncodeRequest(r).find("\xa2" "dl"), std::string::npos);
    EXPECT_EQ(RoundTrip(r).deadline_ms, 0u);
  }
  // The ops it does not apply to neither send nor keep it.
  Request ping;
  ping.op = "ping";
  ping.deadline_ms = 5;
  EXPECT_EQ(EncodeRequest(ping).find("\xa2" "dl"), std::string::npos);
  uint64_t rid = 0;
  auto scan = DecodeRequest(MapBuilder(2).Str("op", "scan").Uint("dl", 5).body(), &rid);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->deadline_ms, 0u);
}

TEST(StorageProtocol, OldRequestsWithoutDeadlineAreAccepted) {
  // Bodies exactly as a peer from before `dl` sends them.
  uint64_t rid = 0;
  auto up = DecodeRequest(MapBuilder(6).Str("op", "update").Uint("rid", 3).Bin("k", "a")
                              .Bin("ctx", "").Bin("v", "x").Uint("ms", 64).body(),
                          &rid);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->deadline_ms, 0u);
  EXPECT_FALSE(Expired(*up, UINT64_MAX, 0));
  auto sync = DecodeRequest(MapBuilder(4).Str("op", "sync").Uint("rid", 4).Bin("k", "a")
                                .Bin("st", "s").body(),
                            &rid);
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->deadline_ms, 0u);
}

TEST(StorageProtocol, MalformedDeadline) {
  ExpectError(MapBuilder(4).Uint("rid", 9).Str("op", "get").Bin("k", "a").Str("dl", "soon").body(),
              kErrBadRequest, 9, "'dl'");
  ExpectError(MapBuilder(4).Uint("rid", 9).Str("op", "get").Bin("k", "a").Int("dl", -5).body(),
              kErrBadRequest, 9, "'dl'");
  ExpectError(MapBuilder(4).Uint("rid", 9).Str("op", "get").Bin("k", "a").Float("dl", 1.5).body(),
              kErrBadRequest, 9, "'dl'");
}

TEST(StorageProtocol, ExpiredOnlyPastTheTolerance) {
  Request r;
  r.op = "update";
  r.deadline_ms = 10'000;
  EXPECT_FALSE(Expired(r, 9'000, 0));
  EXPECT_FALSE(Expired(r, 10'000, 0));
  EXPECT_TRUE(Expired(r, 10'001, 0));
  EXPECT_FALSE(Expired(r, 11'000, 1'000));
  EXPECT_TRUE(Expired(r, 11'001, 1'000));
  r.deadline_ms = 0;  // none
  EXPECT_FALSE(Expired(r, UINT64_MAX, 0));
  r.deadline_ms = 10'000;
  r.op = "scan";  // not an op deadlines apply to
  EXPECT_FALSE(Expired(r, UINT64_MAX, 0));
  // The clock is the wall clock in ms (a sanity bound: after 2020, before 2100).
  const uint64_t now = DeadlineClockMs();
  EXPECT_GT(now, 1'577'836'800'000ull);
  EXPECT_LT(now, 4'102'444'800'000ull);
}

TEST(StorageProtocol, MalformedReplies) {
  EXPECT_FALSE(DecodeReply("garbage\xc1").ok());
  EXPECT_FALSE(DecodeReply(MapBuilder(1).Uint("rid", 1).body()).ok());  // no ok
  EXPECT_FALSE(DecodeReply(MapBuilder(1).Bool("ok", false).body()).ok());  // no code
  EXPECT_FALSE(DecodeReply(MapBuilder(2).Bool("ok", true).Uint("da", 1).body()).ok());
  EXPECT_FALSE(DecodeReply(MapBuilder(2).Bool("ok", true).Uint("st", 1).body()).ok());
  {
    MapBuilder b(2);
    b.Bool("ok", true);
    mp::PackStr(b.p, "items");
    b.p.pack_array(1);
    b.p.pack_uint64(3);
    EXPECT_FALSE(DecodeReply(b.body()).ok());
  }
  {
    MapBuilder b(2);
    b.Bool("ok", true);
    mp::PackStr(b.p, "stats");
    b.p.pack_map(1);
    mp::PackStr(b.p, "x");
    mp::PackStr(b.p, "y");
    EXPECT_FALSE(DecodeReply(b.body()).ok());
  }
}

TEST(StorageProtocol, ErrorCodes) {
  EXPECT_EQ(ErrorCodeOf(Status::Corruption("x")), kErrCorruption);
  EXPECT_EQ(ErrorCodeOf(Status::IOError("x")), kErrIo);
  EXPECT_EQ(ErrorCodeOf(Status::TooManySiblings("x")), kErrTooManySiblings);
  EXPECT_EQ(ErrorCodeOf(Status::InvalidArgument("x")), kErrBadRequest);
  EXPECT_EQ(ErrorCodeOf(Status::Busy("x")), kErrBusy);
  EXPECT_EQ(ErrorCodeOf(Status::Internal("x")), kErrInternal);
  EXPECT_EQ(DecodeReply(EncodeReply(ErrorReply(5, kErrExpired, "late")))->code, "expired");
  EXPECT_TRUE(IsKnownOp("flush"));
  EXPECT_FALSE(IsKnownOp("FLUSH"));
}

}  // namespace
}  // namespace ringkv::storage_protocol

// Tests of the repair requests' encoding: round trips, and clear refusals of malformed input.
#include "common/protocol/repair_protocol.h"

#include <gtest/gtest.h>

#include "common/msgpack_util.h"

namespace ringkv::gossip_protocol {
namespace {

TEST(RepairProtocol, StartRoundTrips) {
  RepairStartRequest r;
  r.rid = 5;
  r.req = 0xfeedfacecafebeefull;
  r.node = "n3";
  r.has_range = true;
  r.first = 10;
  r.last = UINT64_MAX;
  auto back = DecodeRepairStart(EncodeRepairStart(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  RepairStartRequest plain;
  plain.req = 1;
  auto b2 = DecodeRepairStart(EncodeRepairStart(plain));
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(*b2, plain);
}

std::string Map(std::initializer_list<std::pair<std::string, uint64_t>> uints) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(static_cast<uint32_t>(uints.size() + 1));
  mp::PackStr(p, "op");
  mp::PackStr(p, kOpRepairStart);
  for (const auto& [k, v] : uints) {
    mp::PackStr(p, k);
    p.pack_uint64(v);
  }
  return std::string(buf.data(), buf.size());
}

TEST(RepairProtocol, StartRefusesMalformedRequests) {
  EXPECT_FALSE(DecodeRepairStart("\xc1").ok());
  EXPECT_FALSE(DecodeRepairStart(Map({})).ok());                        // no req
  EXPECT_FALSE(DecodeRepairStart(Map({{"req", 0}})).ok());              // req 0
  EXPECT_FALSE(DecodeRepairStart(Map({{"req", 1}, {"first", 2}})).ok());  // first alone
  auto s = DecodeRepairStart(Map({{"req", 1}, {"first", 9}, {"last", 2}}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("after"), std::string::npos);
  EXPECT_FALSE(DecodeRepairStart(EncodeRepairStatus({})).ok());  // another op
}

TEST(RepairProtocol, StatusAndJobsRoundTrip) {
  auto st = DecodeRepairStatus(EncodeRepairStatus({7, 99}));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->rid, 7u);
  EXPECT_EQ(st->req, 99u);
  RepairJobStatus j{99, "manual", "all", "running", 10, 4, 1000, 3, 6, 4096, 1500, 1, "n2: timeout"};
  const std::string jobs = EncodeRepairJobs({j, j});
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(4);
  mp::PackStr(p, "v");
  p.pack_uint64(1);
  mp::PackStr(p, "ok");
  p.pack_true();
  mp::PackStr(p, "rid");
  p.pack_uint64(7);
  mp::PackStr(p, "jobs");
  buf.write(jobs.data(), jobs.size());
  auto r = DecodeRepairReply(std::string(buf.data(), buf.size()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->rid, 7u);
  ASSERT_EQ(r->jobs.size(), 2u);
  EXPECT_EQ(r->jobs[0], j);
  EXPECT_FALSE(r->jobs[0].finished());
}

}  // namespace
}  // namespace ringkv::gossip_protocol

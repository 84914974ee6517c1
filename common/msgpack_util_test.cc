// Tests of the strict MessagePack helpers: bounded decoding (sizes and nesting) and typed reads.
#include "common/msgpack_util.h"

#include <gtest/gtest.h>

#include <string>

namespace ringkv::mp {
namespace {

// A container header claiming far more elements than the body holds is refused at once, not
// allocated for (msgpack-c allocates the elements when it reads the header: 0xdddddddd array
// elements were ~90 GB; found by fuzz/storage_request_fuzz.cc, kept in fuzz/regressions/).
TEST(MsgpackDecode, ContainerLongerThanTheBodyIsRefused) {
  const std::string array32("\xdd\xff\xff\xff\xff\x01", 6);
  const std::string map32("\xdf\xff\xff\xff\xff\x01\x01", 7);
  const std::string bin32("\xc6\xff\xff\xff\xf0xy", 7);
  for (const std::string& body : {array32, map32, bin32}) {
    auto d = Decode(body);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(d.status().message().find("not MessagePack"), std::string::npos);
  }
  // The same header inside a map, as in a request body.
  const std::string nested = std::string("\x81\xa2op\xdd\xdd\xdd\xdd\xdd", 9);
  EXPECT_FALSE(Decode(nested).ok());
}

TEST(MsgpackDecode, NestingIsBounded) {
  // kMaxDepth nested arrays decode; one more is refused (deep nesting would make every
  // recursive walk of the object, such as re-packing an echoed id, use unbounded stack).
  auto nested = [](size_t depth) {
    std::string s(depth, '\x91');  // fixarray of one element
    return s + '\x01';
  };
  EXPECT_TRUE(Decode(nested(kMaxDepth)).ok());
  EXPECT_FALSE(Decode(nested(kMaxDepth + 1)).ok());
  EXPECT_FALSE(Decode(nested(100000)).ok());
}

TEST(MsgpackDecode, ValidBodiesStillDecode) {
  Buffer buf;
  Packer p(buf);
  p.pack_map(2);
  PackStr(p, "op");
  PackStr(p, "scan");
  PackStr(p, "items");
  p.pack_array(2);
  PackBin(p, "a");
  PackBin(p, std::string(1000, 'x'));
  auto d = Decode(std::string_view(buf.data(), buf.size()));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto m = MapView::Of(d->root());
  ASSERT_TRUE(m.ok());
  auto op = m->Str("op");
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->value_or(""), "scan");
  EXPECT_FALSE(Decode(std::string_view(buf.data(), buf.size() - 1)).ok());  // cut short
  EXPECT_FALSE(Decode(std::string(buf.data(), buf.size()) + '\x01').ok());  // trailing byte
}

}  // namespace
}  // namespace ringkv::mp

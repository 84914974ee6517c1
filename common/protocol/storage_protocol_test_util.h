// Test helper shared by the storage protocol's tests: a request through EncodeRequest and
// DecodeRequest, checked to decode (with its rid recovered).
#pragma once

#include <gtest/gtest.h>

#include "common/protocol/storage_protocol.h"

namespace ringkv::storage_protocol::testing {

inline Request RoundTrip(const Request& r) {
  uint64_t rid = 0;
  std::string code;
  auto d = DecodeRequest(EncodeRequest(r), &rid, &code);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(rid, r.rid);
  return d.ok() ? *d : Request{};
}

}  // namespace ringkv::storage_protocol::testing

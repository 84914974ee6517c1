// Tests of the control commands on the shared state (the socket and the FUSE side are tested
// through a real mount by test_lazyfs.py).
#include <gtest/gtest.h>

#include <string>

#include "tests/fault/lazyfs/lazyfs.h"

namespace ringkv::lazyfs {
namespace {

TEST(ControlTest, StatusHoldReleaseDrop) {
  State st;
  EXPECT_EQ(RunControlCommand(&st, "status"), "ok dirty_bytes=0 files=0 held=0");
  auto& open_file = st.files.emplace(1, FileEntry(4)).first->second;
  open_file.open = 1;
  open_file.data.Write(0, "abcdef", 6);
  auto& closed_file = st.files.emplace(2, FileEntry(0)).first->second;
  closed_file.data.Write(10, "xyz", 3);
  EXPECT_EQ(RunControlCommand(&st, "hold-syncs"), "ok held");
  EXPECT_TRUE(st.held);
  EXPECT_EQ(RunControlCommand(&st, "status"), "ok dirty_bytes=9 files=2 held=1");
  EXPECT_EQ(RunControlCommand(&st, "drop-unsynced"), "ok dropped 9");
  EXPECT_EQ(st.drops, 1u);
  // The open file keeps its (clean) entry at its synced size; the closed one is forgotten.
  ASSERT_EQ(st.files.size(), 1u);
  EXPECT_EQ(st.files.at(1).data.size(), 4u);
  EXPECT_FALSE(st.files.at(1).data.dirty());
  EXPECT_EQ(RunControlCommand(&st, "release-syncs"), "ok released");
  EXPECT_EQ(RunControlCommand(&st, "status"), "ok dirty_bytes=0 files=0 held=0");
}

TEST(ControlTest, UnknownCommandIsAnError) {
  State st;
  const std::string r = RunControlCommand(&st, "format-disk");
  EXPECT_EQ(r.rfind("error unknown command 'format-disk'", 0), 0u) << r;
}

}  // namespace
}  // namespace ringkv::lazyfs

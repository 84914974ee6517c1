// RunRepair: the report and exit code, and the clean-shutdown marker removed (so the next start
// takes a new actor id) while IDENTITY and DOT_FLOOR are left alone.
#include "storage-agent/data_repair.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::storage {
namespace {

using engine::testing::TempDir;

engine::Options OptionsFor(const std::string& dir) {
  engine::Options o;
  o.dir = dir;
  o.sync_mode = engine::SyncMode::kNone;
  return o;
}

TEST(DataRepair, RebuildsAndRemovesCleanShutdownMarker) {
  TempDir d;
  {
    auto e = engine::Engine::Open(OptionsFor(d.path()));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_TRUE((*e)->Put("k", "v").ok());
  }
  ASSERT_TRUE(engine::RemoveFile(d.File("MANIFEST")).ok());
  ASSERT_TRUE(engine::WriteFileSync(d.File(kCleanShutdownFile), "").ok());
  ASSERT_TRUE(engine::WriteFileSync(d.File("IDENTITY"), "id").ok());
  std::ostringstream out;
  EXPECT_EQ(RunRepair(OptionsFor(d.path()), out), 0) << out.str();
  EXPECT_NE(out.str().find("removed CLEAN_SHUTDOWN"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("replayed"), std::string::npos) << out.str();
  EXPECT_FALSE(engine::FileExists(d.File(kCleanShutdownFile)));
  EXPECT_TRUE(engine::FileExists(d.File("IDENTITY")));
  EXPECT_TRUE(engine::FileExists(d.File("MANIFEST")));
  engine::Options o = OptionsFor(d.path());
  o.prior_files = {"IDENTITY"};
  auto e = engine::Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto v = (*e)->Get("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "v");
}

TEST(DataRepair, FailureIsExit1WithOneLine) {
  TempDir d;
  std::ostringstream out;
  EXPECT_EQ(RunRepair(OptionsFor(d.File("nope")), out), 1);
  const std::string text = out.str();
  EXPECT_NE(text.find("repair of " + d.File("nope") + " failed"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

}  // namespace
}  // namespace ringkv::storage

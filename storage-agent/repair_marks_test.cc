// RepairMarks: merging keeps per token the latest mark; the file round-trips; a missing,
// truncated or damaged file loads as no marks (nothing dropped), never as marks.
#include "storage-agent/repair_marks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage-agent/engine/test_util.h"

namespace ringkv::storage {
namespace {

using IV = RepairMarks::Interval;

TEST(RepairMarks, MergeKeepsTheLatestPerToken) {
  std::vector<IV> v = RepairMarks::Merge({}, 10, 20, 100);
  EXPECT_EQ(v, (std::vector<IV>{{10, 20, 100}}));
  v = RepairMarks::Merge(v, 15, 30, 50);  // older inside, new outside
  EXPECT_EQ(v, (std::vector<IV>{{10, 20, 100}, {21, 30, 50}}));
  v = RepairMarks::Merge(v, 0, 12, 200);
  EXPECT_EQ(v, (std::vector<IV>{{0, 12, 200}, {13, 20, 100}, {21, 30, 50}}));
  v = RepairMarks::Merge(v, 40, UINT64_MAX, 7);
  v = RepairMarks::Merge(v, 0, UINT64_MAX, 60);
  EXPECT_EQ(v, (std::vector<IV>{{0, 12, 200}, {13, 20, 100}, {21, UINT64_MAX, 60}}));
  v = RepairMarks::Merge(v, 0, UINT64_MAX, 300);
  EXPECT_EQ(v, (std::vector<IV>{{0, UINT64_MAX, 300}}));
}

TEST(RepairMarks, CoversOnlyOlderWrites) {
  RepairMarks m;
  EXPECT_EQ(m.MarkAt(5), 0u);
  EXPECT_FALSE(m.Covers(5, 0));
  ASSERT_TRUE(m.Add({{0, 9}, {100, 100}}, 1000).ok());
  EXPECT_TRUE(m.Covers(5, 999));
  EXPECT_FALSE(m.Covers(5, 1000));
  EXPECT_FALSE(m.Covers(10, 1));
  EXPECT_TRUE(m.Covers(100, 1));
  EXPECT_FALSE(m.Covers(101, 1));
  ASSERT_TRUE(m.Add({{0, 9}}, 500).ok());  // never moves back
  EXPECT_EQ(m.MarkAt(3), 1000u);
}

TEST(RepairMarks, PersistsAndDamageMeansNoMarks) {
  engine::testing::TempDir dir;
  const std::string path = dir.path() + "/" + kRepairMarksFile;
  EXPECT_TRUE(RepairMarks::Load(dir.path())->Intervals().empty()) << "missing file";
  {
    auto m = RepairMarks::Load(dir.path());
    ASSERT_TRUE(m->Add({{1, 2}, {50, 60}}, 777).ok());
  }
  auto again = RepairMarks::Load(dir.path());
  EXPECT_EQ(again->Intervals(), (std::vector<IV>{{1, 2, 777}, {50, 60, 777}}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t cut : {size_t{0}, size_t{5}, bytes.size() - 1}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, cut);
    EXPECT_TRUE(RepairMarks::Load(dir.path())->Intervals().empty()) << "cut at " << cut;
  }
  std::string flipped = bytes;
  flipped[20] ^= 1;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  EXPECT_TRUE(RepairMarks::Load(dir.path())->Intervals().empty()) << "bit flip";
}

}  // namespace
}  // namespace ringkv::storage

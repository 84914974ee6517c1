// Tests of CURVE key files: keygen's files round-trip, the secret file's mode is 0600 and a
// looser one is refused, mismatched or malformed keys are refused with the file named, and
// authorized keys are read from a file or a directory of .pub files.
#include "common/net/curve_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ringkv::net {
namespace {

namespace fs = std::filesystem;

class CurveKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv-curve-keys-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text, fs::perms mode) {
    std::ofstream(dir_ + "/" + name) << text;
    fs::permissions(dir_ + "/" + name, mode);
  }
  std::string dir_;
};

TEST_F(CurveKeysTest, KeygenFilesRoundTrip) {
  ASSERT_TRUE(CurveAvailable());
  auto pair = GenerateCurveKeyPair();
  ASSERT_TRUE(pair.ok());
  EXPECT_TRUE(IsZ85Key(pair->public_key));
  EXPECT_TRUE(IsZ85Key(pair->secret_key));
  ASSERT_TRUE(WriteCurveKeyFiles(dir_ + "/a", *pair).ok());
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadCurveKeyFile(dir_ + "/a.key", true);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->public_key, pair->public_key);
  EXPECT_EQ(back->secret_key, pair->secret_key);
  auto pub = ReadCurveKeyFile(dir_ + "/a.pub", false);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->public_key, pair->public_key);
  EXPECT_TRUE(pub->secret_key.empty());
  // The public file holds no secret, and an existing pair is never overwritten.
  EXPECT_FALSE(ReadCurveKeyFile(dir_ + "/a.pub", true).ok());
  EXPECT_FALSE(WriteCurveKeyFiles(dir_ + "/a", *GenerateCurveKeyPair()).ok());
  EXPECT_EQ(ReadCurveKeyFile(dir_ + "/a.key", true)->secret_key, pair->secret_key);
}

TEST_F(CurveKeysTest, LooseModeMismatchAndGarbageAreRefused) {
  auto a = *GenerateCurveKeyPair();
  auto b = *GenerateCurveKeyPair();
  Write("loose.key", "secret-key = \"" + a.secret_key + "\"\n",
        fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  auto loose = ReadCurveKeyFile(dir_ + "/loose.key", true);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.status().message().find("chmod 600"), std::string::npos);

  Write("mixed.key", "public-key = " + b.public_key + "\nsecret-key = " + a.secret_key + "\n",
        fs::perms::owner_read | fs::perms::owner_write);
  auto mixed = ReadCurveKeyFile(dir_ + "/mixed.key", true);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("does not belong"), std::string::npos);

  // Only the secret: the public key is derived.
  Write("only.key", "secret-key = " + a.secret_key + "\n",
        fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(ReadCurveKeyFile(dir_ + "/only.key", true)->public_key, a.public_key);

  Write("bad.pub", "# c\npublic-key = \"short\"\n", fs::perms::owner_read);
  auto bad = ReadCurveKeyFile(dir_ + "/bad.pub", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.pub line 2"), std::string::npos);
  EXPECT_FALSE(ReadCurveKeyFile(dir_ + "/missing.pub", false).ok());
}

TEST_F(CurveKeysTest, AuthorizedKeysFromFileOrDirectory) {
  auto a = *GenerateCurveKeyPair();
  auto b = *GenerateCurveKeyPair();
  fs::create_directory(dir_ + "/auth");
  ASSERT_TRUE(WriteCurveKeyFiles(dir_ + "/auth/a", a).ok());  // .key and .pub: both read
  Write("auth/b.txt", "# client b\n\n" + b.public_key + "\n", fs::perms::owner_all);
  auto keys = ReadAuthorizedKeys(dir_ + "/auth");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, (std::set<std::string>{a.public_key, b.public_key}));

  Write("one", b.public_key + "\n", fs::perms::owner_all);
  EXPECT_EQ(*ReadAuthorizedKeys(dir_ + "/one"), std::set<std::string>{b.public_key});
  Write("empty", "# nobody yet\n", fs::perms::owner_all);
  EXPECT_TRUE(ReadAuthorizedKeys(dir_ + "/empty")->empty());
  Write("junk", "not a key\n", fs::perms::owner_all);
  auto junk = ReadAuthorizedKeys(dir_ + "/junk");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("junk line 1"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::net

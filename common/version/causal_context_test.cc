// Unit tests of CausalContext: each operation, the canonical encoding, and a decoder fuzz.
#include "common/version/causal_context.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace ringkv::version {
namespace {

CausalContext Of(std::initializer_list<Dot> dots) {
  CausalContext c;
  for (const Dot& d : dots) c.Add(d);
  return c;
}

std::string Hex(std::string_view s) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : s) {
    out.push_back(k[ch >> 4]);
    out.push_back(k[ch & 15]);
  }
  return out;
}

std::string Unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

TEST(CausalContextTest, EmptyCoversNothing) {
  CausalContext c;
  EXPECT_TRUE(c.empty());
  EXPECT_FALSE(c.Covers({1, 1}));
  EXPECT_EQ(c.MaxCounter(1), 0u);
}

TEST(CausalContextTest, AddContiguousGoesToVector) {
  CausalContext c = Of({{7, 1}, {7, 2}, {7, 3}});
  ASSERT_EQ(c.vector().size(), 1u);
  EXPECT_EQ(c.vector()[0], (Dot{7, 3}));
  EXPECT_TRUE(c.cloud().empty());
  EXPECT_TRUE(c.Covers({7, 1}));
  EXPECT_TRUE(c.Covers({7, 3}));
  EXPECT_FALSE(c.Covers({7, 4}));
  EXPECT_FALSE(c.Covers({8, 1}));
  EXPECT_EQ(c.MaxCounter(7), 3u);
}

TEST(CausalContextTest, GapGoesToCloudAndFoldsWhenFilled) {
  CausalContext c = Of({{1, 1}, {1, 3}, {1, 5}});
  EXPECT_EQ(c.vector(), (std::vector<Dot>{{1, 1}}));
  EXPECT_EQ(c.cloud(), (std::vector<Dot>{{1, 3}, {1, 5}}));
  EXPECT_FALSE(c.Covers({1, 2}));
  EXPECT_TRUE(c.Covers({1, 3}));
  EXPECT_FALSE(c.Covers({1, 4}));
  EXPECT_EQ(c.MaxCounter(1), 5u);
  c.Add({1, 2});
  EXPECT_EQ(c.vector(), (std::vector<Dot>{{1, 3}}));
  EXPECT_EQ(c.cloud(), (std::vector<Dot>{{1, 5}}));
  c.Add({1, 4});
  EXPECT_EQ(c.vector(), (std::vector<Dot>{{1, 5}}));
  EXPECT_TRUE(c.cloud().empty());
}

TEST(CausalContextTest, CloudOnlyActor) {
  CausalContext c = Of({{9, 4}});
  EXPECT_TRUE(c.vector().empty());
  EXPECT_EQ(c.cloud(), (std::vector<Dot>{{9, 4}}));
  EXPECT_EQ(c.MaxCounter(9), 4u);
  EXPECT_EQ(c.MaxCounter(8), 0u);
  EXPECT_EQ(c.MaxCounter(10), 0u);
  EXPECT_FALSE(c.empty());
}

TEST(CausalContextTest, MaxCounterOfLargestActor) {
  CausalContext c = Of({{UINT64_MAX, 3}, {UINT64_MAX, 1}});
  EXPECT_EQ(c.MaxCounter(UINT64_MAX), 3u);
  EXPECT_EQ(c.MaxCounter(0), 0u);
}

TEST(CausalContextTest, AddIsIdempotentAndIgnoresCounterZero) {
  CausalContext c = Of({{1, 1}, {1, 3}});
  CausalContext d = c;
  d.Add({1, 1});
  d.Add({1, 3});
  d.Add({1, 0});
  EXPECT_EQ(c, d);
}

TEST(CausalContextTest, MergeIsUnionAndCompacts) {
  CausalContext a = Of({{1, 1}, {1, 3}, {2, 1}});
  CausalContext b = Of({{1, 1}, {1, 2}, {3, 2}});
  CausalContext m = a;
  m.Merge(b);
  EXPECT_EQ(m.vector(), (std::vector<Dot>{{1, 3}, {2, 1}}));
  EXPECT_EQ(m.cloud(), (std::vector<Dot>{{3, 2}}));
  CausalContext n = b;
  n.Merge(a);
  EXPECT_EQ(m, n);
  CausalContext i = m;
  i.Merge(m);
  EXPECT_EQ(i, m);
  CausalContext e;
  e.Merge(m);
  EXPECT_EQ(e, m);
  m.Merge(CausalContext());
  EXPECT_EQ(e, m);
}

TEST(CausalContextTest, MergeFoldsCloudOfBothSides) {
  // a's vector reaches 2, b's cloud holds 3 and 5, a's cloud 4: all fold into 1..5.
  CausalContext a = Of({{1, 1}, {1, 2}, {1, 4}});
  CausalContext b = Of({{1, 3}, {1, 5}, {1, 7}});
  a.Merge(b);
  EXPECT_EQ(a.vector(), (std::vector<Dot>{{1, 5}}));
  EXPECT_EQ(a.cloud(), (std::vector<Dot>{{1, 7}}));
}

TEST(CausalContextTest, EncodingLayout) {
  EXPECT_EQ(Hex(CausalContext().Encode()), "019290" "90");
  CausalContext c = Of({{1, 1}, {1, 2}, {300, 1}, {1, 5}});
  // 01, [ [ [1,2], [300,1] ], [ [1,5] ] ]
  EXPECT_EQ(Hex(c.Encode()), "01" "92" "92" "920102" "92cd012c01" "91" "920105");
}

TEST(CausalContextTest, RoundTrip) {
  std::vector<CausalContext> cases = {
      CausalContext(), Of({{1, 1}}), Of({{0, 1}}), Of({{UINT64_MAX, 1}, {UINT64_MAX, 9}}),
      Of({{5, 200}, {6, 70000}, {7, 1}, {7, 2}, {8, kMaxContextCounter}}),
  };
  for (const auto& c : cases) {
    auto d = CausalContext::Decode(c.Encode());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, c);
    EXPECT_EQ(d->Encode(), c.Encode());
  }
}

TEST(CausalContextTest, EmptyStringIsEmptyContext) {
  auto d = CausalContext::Decode("");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
}

TEST(CausalContextTest, DecodeRejectsInvalid) {
  const char* bad[] = {
      "00929090",              // unknown format byte
      "02929090",              // unknown format byte
      "01",                    // nothing after the version byte
      "019290",                // truncated
      "01929090c0",            // trailing byte
      "0192909090",            // trailing byte
      "01939090",              // 3-element outer array (truncated too)
      "0191" "90",             // 1-element outer array
      "0192" "91920100" "90",  // vector counter 0
      "0192" "9192010190" "90",  // vector entry with a third element (malformed)
      "0192" "92920101920102" "90",  // duplicate actor
      "0192" "92920201920101" "90",  // vector not sorted
      "0192" "90" "91920100",        // cloud counter 0
      "0192" "90" "91920101",        // cloud dot 1 of a new actor: belongs in the vector
      "0192" "91920102" "91920103",  // cloud dot contiguous with the vector
      "0192" "91920103" "91920102",  // cloud dot covered by the vector
      "0192" "90" "92920105920105",  // duplicate cloud dot
      "0192" "90" "92920107920105",  // cloud not sorted
      "0192" "91d00101" "90",        // negative-int type for the actor
      "0192" "9192cc0101" "90",      // non-minimal uint (1 as uint8)
      "0192" "dc000190" "90",        // non-minimal array header
      "0192" "9192a10101" "90",      // string where an int belongs
      "0192" "91920101cb" "90",      // garbage
      "0192" "dd7fffffff" "90",      // array count larger than the input
      "0192" "91" "9201cf4000000000000001" "90",  // counter beyond kMaxContextCounter
  };
  for (const char* h : bad) {
    auto d = CausalContext::Decode(Unhex(h));
    EXPECT_FALSE(d.ok()) << h;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument) << h;
    }
  }
}

TEST(CausalContextTest, DecodeNeverCrashesOnRandomBytesOrMutations) {
  std::mt19937_64 rng(12345);
  std::vector<std::string> seeds;
  for (int i = 0; i < 50; ++i) {
    CausalContext c;
    int n = rng() % 12;
    for (int j = 0; j < n; ++j) {
      uint64_t actor = rng() % 4 == 0 ? rng() : rng() % 5;
      uint64_t counter = 1 + rng() % (rng() % 2 ? 3 : 100000);
      c.Add({actor, counter});
    }
    seeds.push_back(c.Encode());
  }
  int accepted = 0;
  for (int iter = 0; iter < 100000; ++iter) {
    std::string s;
    if (iter % 4 == 0) {
      s.resize(rng() % 40);
      for (char& ch : s) ch = static_cast<char>(rng());
      if (!s.empty() && rng() % 2) s[0] = kVersionFormat;
    } else {
      s = seeds[rng() % seeds.size()];
      int edits = 1 + rng() % 3;
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0: s[pos] = static_cast<char>(rng()); break;
          case 1: s.erase(pos, 1); break;
          case 2: s.insert(pos, 1, static_cast<char>(rng())); break;
          case 3: s.resize(pos); break;
        }
      }
    }
    auto d = CausalContext::Decode(s);
    if (d.ok()) {
      ++accepted;
      // Whatever is accepted is canonical: it re-encodes to the same bytes.
      if (!s.empty()) {
        ASSERT_EQ(Hex(d->Encode()), Hex(s));
      }
    } else {
      ASSERT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    }
  }
  EXPECT_GT(accepted, 0);
}

// A random context and the explicit set of dots it should hold; every operation must agree.
TEST(CausalContextTest, AgreesWithExplicitSet) {
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 2000; ++iter) {
    CausalContext a, b;
    std::set<Dot> sa, sb;
    int n = rng() % 30;
    for (int j = 0; j < n; ++j) {
      Dot d{rng() % 4, 1 + rng() % 12};
      if (rng() % 2) {
        a.Add(d);
        sa.insert(d);
      } else {
        b.Add(d);
        sb.insert(d);
      }
    }
    CausalContext m = a;
    m.Merge(b);
    std::set<Dot> sm = sa;
    sm.insert(sb.begin(), sb.end());
    for (uint64_t actor = 0; actor < 5; ++actor) {
      uint64_t max = 0;
      for (uint64_t c = 1; c <= 14; ++c) {
        ASSERT_EQ(a.Covers({actor, c}), sa.count({actor, c}) == 1);
        ASSERT_EQ(m.Covers({actor, c}), sm.count({actor, c}) == 1);
        if (sm.count({actor, c})) max = c;
      }
      ASSERT_EQ(m.MaxCounter(actor), max);
    }
    // Compacted: building the union dot by dot gives the same representation.
    CausalContext built;
    for (const Dot& d : sm) built.Add(d);
    ASSERT_EQ(built, m);
    ASSERT_EQ(built.Encode(), m.Encode());
    for (const Dot& d : m.cloud()) {
      uint64_t vn = 0;
      for (const Dot& e : m.vector()) {
        if (e.actor == d.actor) vn = e.counter;
      }
      ASSERT_GT(d.counter, vn + 1);
    }
    auto dec = CausalContext::Decode(m.Encode());
    ASSERT_TRUE(dec.ok());
    ASSERT_EQ(*dec, m);
    // AddUpTo is the union with the range (actor, 1..counter).
    const Dot up{rng() % 4, rng() % 14};
    CausalContext r = m;
    r.AddUpTo(up);
    std::set<Dot> sr = sm;
    for (uint64_t c = 1; c <= up.counter; ++c) sr.insert({up.actor, c});
    CausalContext rebuilt;
    for (const Dot& d : sr) rebuilt.Add(d);
    ASSERT_EQ(r, rebuilt);
  }
}

TEST(CausalContextTest, AddUpToClaimsTheRangeAndFoldsTheCloud) {
  CausalContext c = Of({{1, 1}, {1, 4}, {1, 6}, {1, 9}, {2, 3}});
  c.AddUpTo({1, 5});  // covers 4, then 6 is contiguous; 9 stays beyond the gap
  EXPECT_EQ(c.vector(), (std::vector<Dot>{{1, 6}}));
  EXPECT_EQ(c.cloud(), (std::vector<Dot>{{1, 9}, {2, 3}}));
  c.AddUpTo({1, 3});  // already covered: nothing changes
  EXPECT_EQ(c.vector(), (std::vector<Dot>{{1, 6}}));
  c.AddUpTo({2, 2});  // a new vector entry that folds (2, 3)
  EXPECT_EQ(c.vector(), (std::vector<Dot>{{1, 6}, {2, 3}}));
  EXPECT_EQ(c.cloud(), (std::vector<Dot>{{1, 9}}));
  c.AddUpTo({3, 0});  // counter 0: not a dot
  EXPECT_EQ(c.MaxCounter(3), 0u);
  c.AddUpTo({1, 1000000});
  EXPECT_EQ(c.vector(), (std::vector<Dot>{{1, 1000000}, {2, 3}}));
  EXPECT_TRUE(c.cloud().empty());
  EXPECT_TRUE(c.Covers({1, 777}));
}

}  // namespace
}  // namespace ringkv::version

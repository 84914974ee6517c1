// The detector under a virtual clock: suspicion and conviction times with regular arrivals, no
// conviction for a late arrival that answers the probe, verification of a peer someone else
// suspects, refutation, local health (a starved agent convicts nobody), and flap damping
// holding a flapping peer down for longer each time.
#include "gossip-agent/phi_detector.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ringkv::gossip {
namespace {

// Heartbeats of `id` every `every_ms` from `from_ms` up to `until_ms`, then silence; returns
// the time of the conviction (or, with `suspicion`, of the suspicion: phi at the threshold),
// or -1 by `end_ms`, evaluating every 10 ms.
int64_t ConvictionTime(PhiDetector& d, const std::string& id, int64_t from_ms, int64_t until_ms,
                       int64_t every_ms, int64_t end_ms, bool suspicion = false) {
  int64_t next = from_ms;
  for (int64_t t = from_ms; t <= end_ms; t += 10) {
    if (t >= next && t <= until_ms) {
      d.Heartbeat(id, t);
      next += every_ms;
    }
    for (const auto& tr : d.Evaluate(t)) {
      if (!suspicion && tr.id == id && !tr.up) return t;
    }
    for (const auto& s : d.TakeSuspects()) {
      if (suspicion && s == id) return t;
    }
  }
  return -1;
}

int64_t SuspicionTime(PhiDetector& d, const std::string& id, int64_t from_ms, int64_t until_ms,
                      int64_t every_ms, int64_t end_ms) {
  return ConvictionTime(d, id, from_ms, until_ms, every_ms, end_ms, /*suspicion=*/true);
}

bool AnyConviction(const std::vector<PhiDetector::Transition>& t) {
  for (const auto& tr : t) {
    if (!tr.up) return true;
  }
  return false;
}

// Evaluates every 10 ms from `from_ms` to `to_ms`: was anyone convicted?
bool AnyConvictionIn(PhiDetector& d, int64_t from_ms, int64_t to_ms) {
  bool any = false;
  for (int64_t t = from_ms; t <= to_ms; t += 10) any = AnyConviction(d.Evaluate(t)) || any;
  return any;
}

TEST(PhiDetector, SuspectsASilentPeerAfterOneAndAHalfSecondsThenConvictsAfterVerification) {
  PhiDetector d;
  int64_t suspected = SuspicionTime(d, "b", 0, 60000, 1000, 70000);
  ASSERT_GT(suspected, 60000);
  // Regular 1 s arrivals (direct answers): sigma hits the 100 ms floor, so phi 8 is at the
  // mean (1 s) plus 5.2 sigma, with no tolerated pause.
  EXPECT_GE(suspected - 60000, 1400);
  EXPECT_LE(suspected - 60000, 1700);
  EXPECT_TRUE(d.IsSuspected("b"));
  EXPECT_TRUE(d.IsUp("b"));  // suspected is not convicted
  // Nothing comes for verify_ms (400 ms): convicted.
  int64_t t = ConvictionTime(d, "b", suspected, 0, 1000, suspected + 2000);
  EXPECT_GE(t - suspected, 400);
  EXPECT_LE(t - suspected, 420);
  EXPECT_FALSE(d.IsUp("b"));
  EXPECT_EQ(d.counters().convictions, 1u);
  EXPECT_EQ(d.counters().suspicions, 1u);

  // One round late (a lost answer): suspected, probed, and the answer clears it.
  PhiDetector late;
  int64_t s2 = SuspicionTime(late, "b", 0, 60000, 1000, 70000);
  late.Heartbeat("b", s2 + 100);
  EXPECT_FALSE(late.IsSuspected("b"));
  EXPECT_FALSE(AnyConvictionIn(late, s2 + 100, s2 + 1000));
  EXPECT_TRUE(late.IsUp("b"));
  EXPECT_EQ(late.counters().refuted, 1u);

  // verify_ms 0: convicted as soon as phi reaches the threshold (the detector alone).
  DetectorOptions o;
  o.verify_ms = 0;
  PhiDetector alone(o);
  int64_t t3 = ConvictionTime(alone, "b", 0, 60000, 1000, 70000);
  EXPECT_GE(t3 - 60000, 1400);
  EXPECT_LE(t3 - 60000, 1700);
}

TEST(PhiDetector, VerifyConvictsAnUnwatchedPeerOnlyWithoutAnArrival) {
  PhiDetector d;
  d.Verify("x", 1000);
  EXPECT_TRUE(d.IsWatched("x"));
  EXPECT_TRUE(d.IsSuspected("x"));
  EXPECT_FALSE(AnyConvictionIn(d, 1000, 1390));
  auto tr = d.Evaluate(1400);
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_EQ(tr[0], (PhiDetector::Transition{"x", false}));
  // An answer within the time clears it, and a peer not judged by phi is then forgotten.
  d.Verify("y", 1000);
  d.Heartbeat("y", 1050);
  EXPECT_FALSE(AnyConvictionIn(d, 1050, 3000));
  EXPECT_FALSE(d.IsWatched("y"));
  // A starved peer (local health 3, as it announced) gets 400 ms * (1 + 3).
  d.Verify("z", 10000);
  d.SetPeerHealth("z", 3);
  EXPECT_FALSE(AnyConvictionIn(d, 10000, 11590));
  EXPECT_TRUE(AnyConvictionIn(d, 11600, 11600));
  // Verify does nothing to a peer already down.
  d.Verify("x", 20000);
  EXPECT_FALSE(d.IsSuspected("x"));
}

TEST(PhiDetector, WatchJudgesByPhiAndUnwatchForgetsASettledPeer) {
  PhiDetector d;
  d.Watch("w", 0);  // no arrival yet: the bootstrap timeout (10 s) applies
  EXPECT_FALSE(AnyConvictionIn(d, 0, 9990));
  d.Evaluate(10000);
  EXPECT_EQ(d.TakeSuspects(), std::vector<std::string>{"w"});
  d.Heartbeat("w", 10100);
  d.Unwatch("w");
  EXPECT_FALSE(d.IsWatched("w"));
}

TEST(PhiDetector, AdaptsToIrregularArrivals) {
  PhiDetector d;
  // Arrivals alternating 500 ms and 1500 ms (sigma 500 ms): a 2 s gap is normal, not death.
  int64_t t = 0;
  for (int i = 0; i < 60; ++i) {
    d.Heartbeat("b", t);
    t += (i % 2) ? 1500 : 500;
  }
  EXPECT_LT(d.Phi("b", t - 1000 + 2000), 8.0);
  EXPECT_TRUE(d.Evaluate(t - 1000 + 2000).empty() || d.IsUp("b"));
  EXPECT_GE(d.Phi("b", t + 5000), 8.0);
}

TEST(PhiDetector, ARefutingHeartbeatClearsAtOnce) {
  PhiDetector d;
  int64_t t = ConvictionTime(d, "b", 0, 20000, 1000, 30000);
  ASSERT_GT(t, 0);
  d.Heartbeat("b", t + 5000);
  EXPECT_TRUE(d.IsUp("b"));
  auto tr = d.Evaluate(t + 5000);
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_TRUE(tr[0].up);
  // The gap across the conviction is not a sample: the rhythm is still ~1 s.
  EXPECT_LT(d.Phi("b", t + 5000 + 1000), 1.0);
}

TEST(PhiDetector, AStarvedAgentConvictsNobody) {
  PhiDetector d;
  int64_t t = 0;
  for (; t < 30000; t += 1000) {
    d.RoundRan(t, t, 1000);
    d.Heartbeat("b", t);
    d.Heartbeat("c", t);
  }
  // This agent is stopped for 10 s: no heartbeat processed, no round run. When it runs again
  // its round is 10 s late; the time it did not run is not held against its peers.
  t += 10000;
  d.RoundRan(t - 10000, t, 1000);
  EXPECT_GE(d.local_health(), 1);
  EXPECT_FALSE(AnyConviction(d.Evaluate(t)));
  EXPECT_TRUE(d.IsUp("b"));
  // Rounds keep running late (starved): suspicion timeouts grow with the score.
  double plain = 0;
  for (int i = 0; i < 5; ++i) {
    t += 1600;
    d.RoundRan(t - 800, t, 1000);
    d.Heartbeat("b", t);
    d.Heartbeat("c", t);
  }
  EXPECT_GE(d.local_health(), 5);
  PhiDetector fresh;
  for (int64_t s = 0; s < 30000; s += 1000) fresh.Heartbeat("b", s);
  plain = fresh.Phi("b", 29000 + 3000);
  EXPECT_LT(d.Phi("b", t + 3000), plain);
  // On-time rounds bring the score back down.
  for (int i = 0; i < 10; ++i) {
    t += 1000;
    d.RoundRan(t, t, 1000);
  }
  EXPECT_EQ(d.local_health(), 0);
}

TEST(PhiDetector, AnnouncedHealthRemembersARecentStarvation) {
  PhiDetector d;
  int64_t t = 0;
  for (int i = 0; i < 6; ++i, t += 1800) d.RoundRan(t - 800, t, 1000);  // late rounds
  EXPECT_EQ(d.local_health(), 6);
  for (int i = 0; i < 6; ++i, t += 1000) d.RoundRan(t, t, 1000);  // on time again
  EXPECT_EQ(d.local_health(), 0);
  // Still announced for a while (30 s memory: one point per 3.75 s), then back to 0.
  EXPECT_GE(d.announced_health(t), 4);
  EXPECT_EQ(d.announced_health(t + 30000), 0);
  // The later the round, the more points: 1.8 s late is 3, a 10 s stop is the maximum.
  PhiDetector e;
  e.RoundRan(0, 1800, 1000);
  EXPECT_EQ(e.local_health(), 3);
  e.RoundRan(1000, 11000, 1000);
  EXPECT_EQ(e.local_health(), 8);
}

TEST(PhiDetector, FourQuickRecoveriesAreNotFlappingWithTheDefaults) {
  // Four convictions and returns about 13 s apart (partitions healed in quick succession, as
  // the fault suite's short profile does to one node): every return is taken at once. (The
  // first defaults, suppress 3 / half-life 60 s, held the fourth return down for ~1 min.)
  PhiDetector d;
  int64_t t = 0;
  for (int flap = 0; flap < 4; ++flap) {
    int64_t conv = ConvictionTime(d, "b", t, t + 10000, 1000, t + 20000);
    ASSERT_GT(conv, 0);
    d.Heartbeat("b", conv + 1000);
    EXPECT_TRUE(d.IsUp("b")) << "return " << flap;
    t = conv + 1000;
  }
  EXPECT_EQ(d.counters().held, 0u);
}

TEST(PhiDetector, FlappingIsHeldDownLongerEachTime) {
  DetectorOptions o;  // a stricter damping than the default, so five flaps show the hold
  o.flap_suppress = 3.0;
  o.flap_reuse = 1.5;
  o.flap_half_life_ms = 60000;
  PhiDetector d(o);
  int64_t t = 0;
  std::vector<int64_t> downtime;  // how long b stayed down after it came back each time
  for (int flap = 0; flap < 5; ++flap) {
    // b heartbeats for 10 s, then is silent until convicted, then heartbeats again.
    int64_t conv = ConvictionTime(d, "b", t, t + 10000, 1000, t + 20000);
    ASSERT_GT(conv, 0);
    int64_t back = conv + 1000;
    int64_t up_at = -1;
    for (int64_t s = back; s < back + 400000; s += 100) {
      if ((s - back) % 1000 == 0) d.Heartbeat("b", s);
      for (const auto& tr : d.Evaluate(s)) {
        if (tr.up) up_at = s;
      }
      if (up_at >= 0) break;
    }
    ASSERT_GE(up_at, 0);
    downtime.push_back(up_at - back);
    t = up_at;
  }
  EXPECT_EQ(downtime[0], 0);  // the first two returns are at once (refutation)
  EXPECT_EQ(downtime[1], 0);
  // Flapping every ~13 s: the penalty passes 3 by the fourth return, which is held for about
  // half_life * log2(penalty / 1.5) ~ 1 minute.
  int64_t longest = *std::max_element(downtime.begin(), downtime.end());
  EXPECT_GT(longest, 30000);
  EXPECT_LT(longest, 120000);
  EXPECT_GE(d.counters().held, 1u);
  // Decay: after a long quiet time a return is immediate again.
  PhiDetector e(o);
  ConvictionTime(e, "c", 0, 10000, 1000, 20000);
  e.Heartbeat("c", 20000);
  ConvictionTime(e, "c", 20000, 30000, 1000, 40000);
  e.Heartbeat("c", 40000);
  ConvictionTime(e, "c", 40000, 50000, 1000, 60000);
  e.Heartbeat("c", 60000 + 10 * 60000);  // ten half-lives later
  EXPECT_TRUE(e.IsUp("c"));
}

TEST(PhiDetector, NewGenerationStartsAfreshAndForgetStopsWatching) {
  PhiDetector d;
  for (int64_t t = 0; t < 10000; t += 200) d.Heartbeat("b", t);
  d.Heartbeat("b", 10000, /*new_generation=*/true);
  // Back to the first estimate (one round), not the 200 ms rhythm of the old incarnation.
  EXPECT_LT(d.Phi("b", 11500), 8.0);
  d.Forget("b");
  EXPECT_FALSE(d.IsWatched("b"));
  EXPECT_EQ(d.Phi("b", 50000), 0.0);
  EXPECT_FALSE(d.IsUp("b"));
}

}  // namespace
}  // namespace ringkv::gossip

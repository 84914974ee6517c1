// The gossip agent's registry renders what the reactor last published: its counters and the
// view (members by state, phi, up).
#include "gossip-agent/gossip_metrics.h"

#include <gtest/gtest.h>

namespace ringkv::gossip {

namespace gp = gossip_protocol;

TEST(GossipMetricsTest, RendersThePublishedSnapshot) {
  GossipMetrics m("n1");
  // Before any publish: the figures have no sample, and the text is still well-formed.
  EXPECT_EQ(m.registry().RenderPrometheus().find("ringkv_gossip_rounds_total{"), std::string::npos);
  gp::ViewPush view;
  for (const char* id : {"n1", "n2", "n3"}) {
    gp::MemberView mv;
    mv.entry.id = id;
    mv.up = std::string(id) != "n3";
    mv.phi = std::string(id) == "n3" ? 9.5 : 0.25;
    view.members.push_back(mv);
  }
  view.members[1].entry.state = gp::MemberState::kLeaving;
  m.Publish({{"rounds", 12}, {"members", 3}, {"hints_pending", 4}, {"new_counter", 5}}, view);
  const std::string text = m.registry().RenderPrometheus();
  EXPECT_NE(text.find("ringkv_gossip_rounds_total{node=\"n1\"} 12\n"), std::string::npos) << text;
  // A key the table does not declare is exposed anyway (as a gauge).
  EXPECT_NE(text.find("ringkv_gossip_new_counter{node=\"n1\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ringkv_gossip_members gauge\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_gossip_hints_pending{node=\"n1\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_gossip_member_phi{node=\"n1\",member=\"n3\"} 9.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_gossip_member_up{node=\"n1\",member=\"n3\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_gossip_members_by_state{node=\"n1\",state=\"normal\",up=\"1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_gossip_members_by_state{node=\"n1\",state=\"leaving\",up=\"1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_gossip_members_by_state{node=\"n1\",state=\"normal\",up=\"0\"} 1\n"),
            std::string::npos);
}

}  // namespace ringkv::gossip

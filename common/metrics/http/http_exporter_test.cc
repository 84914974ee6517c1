// The /metrics endpoint answers over real HTTP on loopback; bad addresses are refused.
#include "common/metrics/http/http_exporter.h"

#include <gtest/gtest.h>
#include <httplib.h>

namespace ringkv::metrics {

TEST(HttpExporterTest, ServesTheRenderedText) {
  HttpExporter ex([] { return std::string("x_total 1\n"); });
  ASSERT_TRUE(ex.Start("127.0.0.1:29601").ok());
  httplib::Client cli("127.0.0.1", 29601);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(2, 0);
  auto res = cli.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "x_total 1\n");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  // The port is taken now: a second exporter says so.
  HttpExporter second([] { return std::string(); });
  Status st = second.Start("127.0.0.1:29601");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("127.0.0.1:29601"), std::string::npos);
}

TEST(HttpExporterTest, RejectsMalformedAddresses) {
  std::string h;
  int p = 0;
  EXPECT_FALSE(ParseHostPort("localhost", &h, &p).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:99999", &h, &p).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:9x", &h, &p).ok());
  ASSERT_TRUE(ParseHostPort("[::1]:9100", &h, &p).ok());
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, 9100);
}

}  // namespace ringkv::metrics

// --metrics-listen and --slow-request-ms (see metrics_options.h).
#include "common/metrics/http/metrics_options.h"

#include "common/metrics/http/http_exporter.h"

namespace ringkv::metrics {

void AddMetricsOptions(po::options_description& desc) {
  desc.add_options()
      ("metrics-listen", po::value<std::string>()->default_value(""),
       "HOST:PORT where GET /metrics serves this agent's figures in the Prometheus text format "
       "(docs/metrics.md); empty (the default): no HTTP endpoint. Keep it on loopback or a "
       "management network: it has no authentication")
      ("slow-request-ms", po::value<int64_t>()->default_value(0),
       "log one WARN line for every request that takes at least this long (0: never)");
}

Result<MetricsOptions> MetricsOptionsFrom(const po::variables_map& vm) {
  MetricsOptions o;
  if (vm.count("metrics-listen")) o.listen = vm["metrics-listen"].as<std::string>();
  if (!o.listen.empty()) {
    std::string host;
    int port = 0;
    Status st = ParseHostPort(o.listen, &host, &port);
    if (!st.ok()) return Status::InvalidArgument("--" + st.message());
  }
  if (vm.count("slow-request-ms")) o.slow_request_ms = vm["slow-request-ms"].as<int64_t>();
  if (o.slow_request_ms < 0) {
    return Status::InvalidArgument("--slow-request-ms must be >= 0, not " +
                                   std::to_string(o.slow_request_ms));
  }
  return o;
}

}  // namespace ringkv::metrics

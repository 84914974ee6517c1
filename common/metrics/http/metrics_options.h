// The options every agent shares for its metrics and request logging: --metrics-listen (the
// Prometheus endpoint; off by default) and --slow-request-ms (log requests slower than this).
#pragma once

#include <cstdint>
#include <string>

#include "common/options.h"
#include "common/status.h"

namespace ringkv::metrics {

struct MetricsOptions {
  std::string listen;           // "HOST:PORT"; empty: no HTTP endpoint
  int64_t slow_request_ms = 0;  // 0: no slow-request log
};

// Adds --metrics-listen and --slow-request-ms to desc.
void AddMetricsOptions(po::options_description& desc);
// InvalidArgument naming the option and the value.
Result<MetricsOptions> MetricsOptionsFrom(const po::variables_map& vm);

}  // namespace ringkv::metrics

// The /metrics HTTP endpoint (see http_exporter.h).
#include "common/metrics/http/http_exporter.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

namespace ringkv::metrics {

namespace {
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr time_t kIoTimeoutSeconds = 5;
}  // namespace

Status ParseHostPort(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Status::InvalidArgument("metrics-listen '" + listen + "': expected HOST:PORT");
  }
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = listen.substr(colon + 1);
  int v = 0;
  for (char c : p) {
    if (c < '0' || c > '9' || v > 65535) {
      return Status::InvalidArgument("metrics-listen '" + listen + "': bad port '" + p + "'");
    }
    v = v * 10 + (c - '0');
  }
  if (v > 65535) {
    return Status::InvalidArgument("metrics-listen '" + listen + "': port out of range");
  }
  *host = h;
  *port = v;
  return Status::OK();
}

HttpExporter::HttpExporter(std::function<std::string()> render) : render_(std::move(render)) {}

HttpExporter::~HttpExporter() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

Status HttpExporter::Start(const std::string& listen) {
  std::string host;
  int port = 0;
  Status st = ParseHostPort(listen, &host, &port);
  if (!st.ok()) return st;
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(1); };
  server_->set_read_timeout(kIoTimeoutSeconds, 0);
  server_->set_write_timeout(kIoTimeoutSeconds, 0);
  server_->set_keep_alive_timeout(kIoTimeoutSeconds);
  // httplib's default sets SO_REUSEPORT, with which a second agent given the same port would
  // bind it too and share the scrapes: only SO_REUSEADDR, so a taken port fails start-up.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_(), kContentType);
  });
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ringkv metrics: GET /metrics\n", "text/plain");
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) return Status::IOError("metrics-listen '" + listen + "': cannot bind");
  } else {
    if (!server_->bind_to_port(host, port)) {
      return Status::IOError("metrics-listen '" + listen + "': cannot bind (in use?)");
    }
    port_ = port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the thread has entered its accept loop would be lost (the loop would then
  // never end and the destructor's join would hang): wait, bounded, until it runs.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    return Status::Internal("metrics-listen '" + listen + "': the HTTP server did not start");
  }
  return Status::OK();
}

}  // namespace ringkv::metrics

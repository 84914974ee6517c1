// HttpExporter: serves a registry's Prometheus exposition at GET /metrics on its own thread
// (cpp-httplib, one worker: a scrape every few seconds needs no more), apart from the agent's
// reactor so a busy or stuck loop still answers scrapes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace ringkv::metrics {

class HttpExporter {
 public:
  // render: called on the exporter's thread for each scrape; must be thread-safe.
  explicit HttpExporter(std::function<std::string()> render);
  ~HttpExporter();  // stops the server and joins its thread
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  // Binds "HOST:PORT" (port 0 picks one) and starts serving. Errors: a malformed address or
  // one that cannot be bound, named in the message.
  Status Start(const std::string& listen);
  int port() const { return port_; }

 private:
  std::function<std::string()> render_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "HOST:PORT" ("[::1]:9100" for IPv6). Errors: no port or a port out of range.
Status ParseHostPort(const std::string& listen, std::string* host, int* port);

}  // namespace ringkv::metrics

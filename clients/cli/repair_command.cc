// `ringkv repair` (see repair_command.h).
#include "clients/cli/repair_command.h"

#include <unistd.h>
#include <zmq.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

namespace ringkv::cli {

namespace gp = gossip_protocol;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitTransport = 3;
constexpr int kExitInternal = 8;

bool ParseToken(const std::string& s, uint64_t* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  try {
    size_t pos = 0;
    *out = std::stoull(s, &pos, 0);  // base 0: decimal, 0x hex (and 0-prefixed octal)
    return pos == s.size();
  } catch (...) {
    return false;
  }
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Duration(uint64_t ms) {
  std::ostringstream o;
  if (ms < 10000) {
    o.precision(1);
    o << std::fixed << static_cast<double>(ms) / 1000.0 << " s";
  } else if (ms < 3600000) {
    o << ms / 60000 << " min " << (ms / 1000) % 60 << " s";
  } else {
    o << ms / 3600000 << " h " << (ms / 60000) % 60 << " min";
  }
  return o.str();
}

// One DEALER to the gossip agent; reopened after a timeout (Lazy Pirate), so that a reply to a
// request given up on is never taken for the next one.
class Link {
 public:
  Link(zmq::context_t& ctx, std::string endpoint) : ctx_(ctx), endpoint_(std::move(endpoint)) {}

  // The reply body, or nullopt after timeout_ms (the socket is then reopened).
  std::optional<std::string> Ask(const std::string& body, uint64_t rid, int timeout_ms) {
    try {
      if (!sock_) {
        sock_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
        sock_.set(zmq::sockopt::linger, 0);
        sock_.connect(endpoint_);
      }
      sock_.send(zmq::message_t(), zmq::send_flags::sndmore);
      sock_.send(zmq::buffer(body), zmq::send_flags::none);
      const int64_t deadline = NowMs() + timeout_ms;
      for (;;) {
        const int64_t left = deadline - NowMs();
        if (left <= 0) break;
        zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(left));
        if (!(item.revents & ZMQ_POLLIN)) continue;
        std::string last;
        zmq::message_t m;
        do {
          if (!sock_.recv(m, zmq::recv_flags::none)) break;
          last = m.to_string();
        } while (m.more());
        auto r = gp::DecodeRepairReply(last);
        if (r.ok() && r->rid != rid) continue;  // an older request's reply
        return last;
      }
    } catch (const zmq::error_t&) {
    }
    sock_ = zmq::socket_t();
    return std::nullopt;
  }

 private:
  zmq::context_t& ctx_;
  const std::string endpoint_;
  zmq::socket_t sock_;
};

}  // namespace

bool ParseTokenRange(const std::string& text, uint64_t* first, uint64_t* last) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return false;
  return ParseToken(text.substr(0, colon), first) && ParseToken(text.substr(colon + 1), last) &&
         *first <= *last;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  std::ostringstream o;
  if (u == 0) {
    o << bytes << " B";
  } else {
    o.precision(1);
    o << std::fixed << v << " " << kUnits[u];
  }
  return o.str();
}

std::string ProgressLine(const gp::RepairJobStatus& j) {
  constexpr int kWidth = 24;
  const int filled =
      j.total == 0 ? 0 : static_cast<int>(static_cast<double>(kWidth) * j.done / j.total);
  std::ostringstream o;
  o << "[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << j.done
    << "/" << j.total << " ranges, " << j.keys_compared << " keys compared, " << j.keys_sent
    << " sent, " << HumanBytes(j.bytes) << " moved";
  if (j.state == "running" && j.eta_ms > 0) {
    o << ", ETA " << Duration(j.eta_ms);
  } else if (j.state != "running") {
    o << " (" << j.state << (j.attempts ? ", pass " + std::to_string(j.attempts + 1) : "") << ")";
  }
  return o.str();
}

int RunRepair(const RepairArgs& args) {
  std::random_device rd;
  uint64_t req = 0;
  while (req == 0) req = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  zmq::context_t ctx(1);
  Link link(ctx, args.gossip);
  const bool tty = isatty(STDERR_FILENO) != 0;
  const int64_t start = NowMs();
  int64_t last_answer = start;
  int64_t last_line = 0;
  bool started = false;  // the agent knows the job (its reply named it)
  bool warned = false;
  uint64_t rid = 0;
  std::cerr << "repair via the gossip agent at " << args.gossip << "\n";
  // Bounded by unreachable_ms of silence; a job that makes no progress ends on the agent's side
  // ("incomplete" after its passes), which ends this loop too.
  for (;;) {
    std::string body;
    ++rid;
    if (!started) {
      gp::RepairStartRequest r;
      r.rid = rid;
      r.req = req;
      r.node = args.node;
      r.has_range = args.has_range;
      r.first = args.first;
      r.last = args.last;
      body = gp::EncodeRepairStart(r);
    } else {
      body = gp::EncodeRepairStatus({rid, req});
    }
    auto reply_body = link.Ask(body, rid, args.timeout_ms);
    const int64_t now = NowMs();
    if (!reply_body) {
      if (now - last_answer >= args.unreachable_ms) {
        if (tty) std::cerr << "\n";
        std::cerr << "ringkv: transport: the gossip agent at " << args.gossip
                  << " did not answer for " << Duration(static_cast<uint64_t>(now - last_answer))
                  << "; the repair may go on there (ringkv repair again follows it from the "
                     "start)\n";
        return kExitTransport;
      }
      if (!warned) {
        if (tty) std::cerr << "\n";
        std::cerr << "(the gossip agent at " << args.gossip
                  << " does not answer; asking again until it does)\n";
        warned = true;
      }
      started = false;  // ask with repair_start again: the same req is the same job
      continue;
    }
    last_answer = now;
    auto reply = gp::DecodeRepairReply(*reply_body);
    if (!reply.ok()) {
      std::cerr << "ringkv: internal: unreadable reply from " << args.gossip << ": "
                << reply.status().message() << "\n";
      return kExitInternal;
    }
    if (!reply->ok) {
      std::cerr << "ringkv: " << reply->code << ": " << reply->message << "\n";
      return reply->code == "unknown_op" || reply->code == "bad_request" ? 6 : kExitInternal;
    }
    const gp::RepairJobStatus* job = nullptr;
    for (const auto& j : reply->jobs) {
      if (j.req == req) job = &j;
    }
    if (job == nullptr) {
      started = false;  // not known (an agent that restarted before taking it): ask again
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (warned) {
      std::cerr << "(the gossip agent answers again)\n";
      warned = false;
    }
    started = true;
    if (tty) {
      std::cerr << "\r" << ProgressLine(*job) << "\x1b[K" << std::flush;
    } else if (now - last_line >= 2000 || job->finished()) {
      std::cerr << ProgressLine(*job) << "\n";
      last_line = now;
    }
    if (job->finished()) {
      if (tty) std::cerr << "\n";
      const uint64_t took = static_cast<uint64_t>(NowMs() - start);
      std::cout << "repair " << job->state << " (" << job->scope << "): " << job->done << " of "
                << job->total << " ranges compared completely, " << job->keys_compared
                << " keys compared, " << job->keys_differing << " differing, " << job->keys_sent
                << " sent, " << HumanBytes(job->bytes) << " moved, in " << Duration(took)
                << "\n";
      if (job->state == "complete") return kExitOk;
      std::cerr << "ringkv: repair incomplete: " << (job->total - job->done) << " of "
                << job->total << " ranges were not compared on every replica"
                << (job->error.empty() ? std::string() : ": " + job->error)
                << (job->state == "superseded" ? " (another repair replaced this one)" : "")
                << "\n";
      return kExitRepairIncomplete;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace ringkv::cli

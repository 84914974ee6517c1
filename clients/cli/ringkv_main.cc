// `ringkv`: the command-line client. put/get/del/resolve/status/ping through the C++ client
// library, and `repair` through a gossip agent (ringkv_repair.cc); one clear line on stderr and
// a distinct exit code for every kind of failure (docs/clients.md lists them).
#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "clients/cli/cli_security.h"
#include "clients/cli/repair_command.h"
#include "clients/cli/top.h"
#include "clients/cpp/client.h"
#include "common/build_info.h"

namespace {

using ringkv::client::Client;
using ringkv::client::Error;
using ringkv::client::ErrorCode;

// Exit codes (docs/clients.md).
constexpr int kExitOk = 0;
constexpr int kExitNotFound = 1;     // get/resolve of a key with no live value
constexpr int kExitUsage = 2;        // bad command line
constexpr int kExitTransport = 3;    // no coordinator answered
constexpr int kExitTimeout = 4;      // the server's `timeout`: quorum not reached in time
constexpr int kExitUnavailable = 5;  // too few live replicas for the quorum
constexpr int kExitRejected = 6;     // bad_request, too_large, unknown_op, unsupported_version
constexpr int kExitSiblings = 7;     // too_many_siblings: resolve first
constexpr int kExitInternal = 8;     // internal error or malformed reply
// 9: repair incomplete (repair_command.h)

const char* kUsage =
    "ringkv [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  get KEY              print the value; when there are siblings, \"N siblings:\" then one\n"
    "                       \"[i] value\" line each (non-printable bytes escaped as \\xNN)\n"
    "  put KEY [VALUE]      store VALUE (or all of standard input when VALUE is absent); reads\n"
    "                       the key first and writes with its context, so the put replaces\n"
    "                       what is there (--blind: write without context, keeping siblings)\n"
    "  del KEY              delete the key (alias: delete)\n"
    "  resolve KEY [VALUE]  replace the siblings by VALUE (or standard input), or by sibling\n"
    "                       number N of `ringkv get` with --pick N\n"
    "  status               the coordinator's view of the cluster: members as a table with\n"
    "                       gossip's view of each (up/down, agents' health, generation,\n"
    "                       heartbeat age, phi)\n"
    "  ping                 the id of the node whose coordinator answers\n"
    "  keygen BASE          write a new CURVE key pair: BASE.key (mode 0600) and BASE.pub;\n"
    "                       print the public key (docs/security.md)\n"
    "  repair               anti-entropy now: the gossip agent of the node whose coordinator\n"
    "                       answers (or --gossip) compares every range's replicas and repairs\n"
    "                       what differs; waits, drawing progress, then a summary (--node N:\n"
    "                       only N's ranges; --range FIRST:LAST: only those tokens)\n"
    "  top                  the cluster's live figures per node (ops/s, errors, p50/p99/p99.9,\n"
    "                       quorum failures, hints, disk), refreshed every --interval-ms from\n"
    "                       every agent's stats op; --once prints one frame (for scripts)\n"
    "\n"
    "Exit codes: 0 ok, 1 key not found, 2 bad usage, 3 no coordinator answered, 4 timeout\n"
    "(quorum not reached in time), 5 unavailable (too few live replicas), 6 request rejected\n"
    "(bad_request, too_large, unknown_op, unsupported_version), 7 too_many_siblings, 8 internal,\n"
    "9 repair incomplete (some range could not be compared on every replica).";

int ExitCodeFor(ErrorCode c) {
  switch (c) {
    case ErrorCode::kNone: return kExitOk;
    case ErrorCode::kTransport: return kExitTransport;
    case ErrorCode::kTimeout: return kExitTimeout;
    case ErrorCode::kUnavailable: return kExitUnavailable;
    case ErrorCode::kBadRequest:
    case ErrorCode::kTooLarge:
    case ErrorCode::kUnknownOp:
    case ErrorCode::kUnsupportedVersion: return kExitRejected;
    case ErrorCode::kTooManySiblings: return kExitSiblings;
    case ErrorCode::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

int Fail(const Error& e) {
  std::cerr << "ringkv: " << ringkv::client::ErrorCodeName(e.code) << ": " << e.message;
  if (e.code == ErrorCode::kTooManySiblings) std::cerr << " (run `ringkv resolve KEY` first)";
  std::cerr << "\n";
  return ExitCodeFor(e.code);
}

int Usage(const std::string& message) {
  std::cerr << "ringkv: " << message << " (see --help)\n";
  return kExitUsage;
}

std::string ReadStdin() {
  std::ostringstream out;
  out << std::cin.rdbuf();
  return out.str();
}

// A sibling on one line: printable ASCII as is, everything else as \xNN (and \\ for \).
std::string Escape(const std::string& v) {
  std::ostringstream out;
  for (unsigned char c : v) {
    if (c == '\\') {
      out << "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out << c;
    } else {
      out << "\\x" << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(c) << std::dec;
    }
  }
  return out.str();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Siblings come back in no particular order; sorting them makes `get` and `resolve --pick`
// number them the same way.
std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

int CmdGet(Client& c, const std::string& key) {
  Error err;
  auto g = c.Get(key, &err);
  if (!g) return Fail(err);
  if (!g->found || g->values.empty()) {
    std::cerr << "ringkv: not found: " << key << "\n";
    return kExitNotFound;
  }
  if (g->values.size() == 1) {
    std::cout << g->values.front() << "\n";
    return kExitOk;
  }
  auto values = Sorted(g->values);
  std::cout << values.size() << " siblings:\n";
  for (size_t i = 0; i < values.size(); ++i) std::cout << "[" << i + 1 << "] " << Escape(values[i]) << "\n";
  return kExitOk;
}

int CmdPut(Client& c, const std::string& key, const std::string& value, bool blind) {
  Error err;
  std::string ctx;
  if (!blind) {
    auto g = c.Get(key, &err);
    if (!g) return Fail(err);
    ctx = g->ctx;
  }
  if (!c.Put(key, value, ctx, &err)) return Fail(err);
  return kExitOk;
}

int CmdDel(Client& c, const std::string& key) {
  Error err;
  // Without a ctx the coordinator reads the key at the read quorum and deletes what it saw.
  if (!c.Delete(key, "", &err)) return Fail(err);
  return kExitOk;
}

int CmdResolve(Client& c, const std::string& key, const std::optional<std::string>& value, int pick) {
  Error err;
  auto g = c.Get(key, &err);
  if (!g) return Fail(err);
  if (!g->found || g->values.empty()) {
    std::cerr << "ringkv: not found: " << key << "\n";
    return kExitNotFound;
  }
  auto values = Sorted(g->values);
  std::string chosen;
  if (pick > 0) {
    if (static_cast<size_t>(pick) > values.size()) {
      std::cerr << "ringkv: --pick " << pick << ": the key has " << values.size()
                << (values.size() == 1 ? " value" : " siblings") << "\n";
      return kExitUsage;
    }
    chosen = values[pick - 1];
  } else {
    chosen = *value;
  }
  if (!c.Put(key, chosen, g->ctx, &err)) return Fail(err);
  return kExitOk;
}

// Incarnations 0 and 1 are reserved by the gossip agent (gossip_protocol.h, AgentHealth): not
// checked yet (unknown, which coordinators do not count as down), and never answered (down).
std::string Health(bool up, uint64_t incarnation) {
  if (!up && incarnation == 0) return "unchecked";
  if (!up && incarnation == 1) return "down(never-answered)";
  return std::string(up ? "up" : "down") + "#" + std::to_string(incarnation);
}

int CmdStatus(Client& c) {
  Error err;
  auto st = c.Status(&err);
  if (!st) return Fail(err);
  // One line about the node, then a table of the members.
  std::cout << "node " << st->node << " (dc " << st->dc << "), replication N=" << st->n
            << ", max_item_bytes " << st->max_item_bytes << ", max_siblings " << st->max_siblings;
  if (st->gossip && st->gossip->view) {
    std::cout << "; gossip view " << st->gossip->view_version << " from "
              << st->gossip->endpoint << ", " << st->gossip->view_age_ms << " ms old";
  } else if (st->gossip) {
    std::cout << "; no gossip view yet from " << st->gossip->endpoint
              << " (ring from ring.db, every node assumed up)";
  }
  std::cout << "\n";
  // STATE: the coordinator's use of the node (`down`: it sends it no requests). With a view,
  // gossip's judgement follows: GOSSIP (its failure detector / gossip's state), each agent's
  // health (up/down#incarnation), heartbeat generation and age, phi; "-" for a member the
  // view lacks.
  const bool view = std::any_of(st->members.begin(), st->members.end(),
                                [](const auto& m) { return m.gossip.has_value(); });
  std::vector<std::vector<std::string>> rows;
  if (view) {
    rows.push_back({"NODE", "DC", "STATE", "GOSSIP", "STORAGE", "COORDINATOR", "GEN",
                    "HB_AGE_MS", "PHI", "ENDPOINT"});
  } else {
    rows.push_back({"NODE", "DC", "STATE", "ENDPOINT"});
  }
  for (const auto& m : st->members) {
    std::vector<std::string> r = {m.node, m.dc, m.state};
    if (view && m.gossip) {
      const auto& g = *m.gossip;
      std::ostringstream phi;
      phi << std::fixed << std::setprecision(2) << g.phi;
      r.push_back(std::string(g.up ? "up" : "down") + "/" + g.state);
      r.push_back(Health(g.storage_up, g.storage_incarnation));
      r.push_back(Health(g.coordinator_up, g.coordinator_incarnation));
      r.push_back(std::to_string(g.generation));
      r.push_back(g.heartbeat_age_ms < 0 ? "-" : std::to_string(g.heartbeat_age_ms));
      r.push_back(phi.str());
    } else if (view) {
      r.insert(r.end(), 6, "-");
    }
    r.push_back(m.client_endpoint);
    rows.push_back(std::move(r));
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (i + 1 < r.size()) {
        std::cout << std::left << std::setw(static_cast<int>(width[i]) + 2) << r[i];
      } else {
        std::cout << r[i];
      }
    }
    std::cout << "\n";
  }
  return kExitOk;
}

int CmdPing(Client& c) {
  Error err;
  auto node = c.Ping(&err);
  if (!node) return Fail(err);
  std::cout << *node << " at " << c.current_endpoint() << "\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc("Options");
  const char* env_endpoints = std::getenv("RINGKV_ENDPOINTS");
  const std::string default_endpoints =
      env_endpoints && *env_endpoints ? env_endpoints : "tcp://127.0.0.1:7400";
  desc.add_options()
      ("endpoints", po::value<std::string>()->default_value(default_endpoints),
       "coordinator endpoints, comma-separated, tried in order (default from $RINGKV_ENDPOINTS, "
       "else tcp://127.0.0.1:7400)")
      ("timeout", po::value<int>()->default_value(2000), "deadline of each request in ms (1..60000)")
      ("retries", po::value<int>()->default_value(3), "coordinators tried before giving up")
      ("r", po::value<std::string>(), "read quorum: 1..N, one, quorum, all, local_quorum "
       "(default: the cluster's)")
      ("w", po::value<std::string>(), "write quorum: 1..N, one, quorum, all, local_quorum, "
       "each_quorum (default: the cluster's)")
      ("consistency", po::value<std::string>(), "strong or eventual (default: the cluster's)")
      ("blind", po::bool_switch(), "put: write without reading the key's context first")
      ("pick", po::value<int>(), "resolve: keep sibling number N as `ringkv get` lists them")
      ("node", po::value<std::string>(), "repair: only the ranges this node replicates")
      ("range", po::value<std::string>(), "repair: only the tokens FIRST:LAST (decimal or 0x hex)")
      ("gossip", po::value<std::string>(), "repair: the gossip agent to ask (default: the one "
       "of the node whose coordinator answers `status`)")
      ("once", po::bool_switch(), "top: print one frame and exit")
      ("interval-ms", po::value<int>()->default_value(1000), "top: time between frames (100..60000)")
      ("help,h", "print this help and exit")
      ("version", "print the version and exit");
  ringkv::cli::AddCurveOptions(desc);
  po::options_description hidden;
  hidden.add_options()
      ("command", po::value<std::string>())
      ("args", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  if (vm.count("help")) {
    std::cout << "Usage: " << kUsage << "\n\n" << desc << "\n";
    return kExitOk;
  }
  if (vm.count("version")) {
    std::cout << "ringkv " << ringkv::Version() << "\n";
    return kExitOk;
  }
  if (!vm.count("command")) return Usage("missing command");
  const std::string cmd = vm["command"].as<std::string>();
  std::vector<std::string> args;
  if (vm.count("args")) args = vm["args"].as<std::vector<std::string>>();

  if (cmd == "keygen") return ringkv::cli::CmdKeygen(args);

  ringkv::client::Options o;
  if (std::string bad = ringkv::cli::ApplyCurveOptions(vm, &o); !bad.empty()) return Usage(bad);
  o.endpoints = Split(vm["endpoints"].as<std::string>(), ',');
  if (o.endpoints.empty()) return Usage("--endpoints is empty");
  o.timeout_ms = vm["timeout"].as<int>();
  if (o.timeout_ms < 1 || o.timeout_ms > 60000) return Usage("--timeout must be from 1 to 60000 ms");
  o.retries = vm["retries"].as<int>();
  if (o.retries < 1) return Usage("--retries must be at least 1");
  if (vm.count("r")) o.r = vm["r"].as<std::string>();
  if (vm.count("w")) o.w = vm["w"].as<std::string>();
  if (vm.count("consistency")) o.consistency = vm["consistency"].as<std::string>();
  const bool blind = vm["blind"].as<bool>();
  const int pick = vm.count("pick") ? vm["pick"].as<int>() : 0;
  if (vm.count("pick") && pick < 1) return Usage("--pick takes a sibling number from 1");

  auto want_args = [&](size_t lo, size_t hi, const char* form) -> bool {
    if (args.size() < lo || args.size() > hi) {
      Usage(std::string("usage: ringkv ") + form);
      return false;
    }
    return true;
  };
  auto key_ok = [&](const std::string& key) -> bool {
    if (key.empty()) {
      Usage("the key must not be empty");
      return false;
    }
    return true;
  };

  Client client(o);
  if (cmd == "get") {
    if (!want_args(1, 1, "get KEY") || !key_ok(args[0])) return kExitUsage;
    return CmdGet(client, args[0]);
  }
  if (cmd == "put") {
    if (!want_args(1, 2, "put KEY [VALUE]") || !key_ok(args[0])) return kExitUsage;
    return CmdPut(client, args[0], args.size() == 2 ? args[1] : ReadStdin(), blind);
  }
  if (cmd == "del" || cmd == "delete") {
    if (!want_args(1, 1, "del KEY") || !key_ok(args[0])) return kExitUsage;
    return CmdDel(client, args[0]);
  }
  if (cmd == "resolve") {
    if (!want_args(1, 2, "resolve KEY [VALUE | --pick N]") || !key_ok(args[0])) return kExitUsage;
    if (pick > 0 && args.size() == 2) return Usage("give either VALUE or --pick N, not both");
    std::optional<std::string> value;
    if (pick == 0) value = args.size() == 2 ? args[1] : ReadStdin();
    return CmdResolve(client, args[0], value, pick);
  }
  if (cmd == "status") {
    if (!want_args(0, 0, "status")) return kExitUsage;
    return CmdStatus(client);
  }
  if (cmd == "top") {
    if (!want_args(0, 0, "top [--once] [--interval-ms MS]")) return kExitUsage;
    ringkv::cli::TopOptions t;
    t.endpoints = o.endpoints;
    t.timeout_ms = o.timeout_ms;
    t.interval_ms = vm["interval-ms"].as<int>();
    if (t.interval_ms < 100 || t.interval_ms > 60000) {
      return Usage("--interval-ms must be from 100 to 60000");
    }
    t.once = vm["once"].as<bool>();
    return ringkv::cli::RunTop(t);
  }
  if (cmd == "ping") {
    if (!want_args(0, 0, "ping")) return kExitUsage;
    return CmdPing(client);
  }
  if (cmd == "repair") {
    if (!want_args(0, 0, "repair [--node N] [--range FIRST:LAST] [--gossip ENDPOINT]")) {
      return kExitUsage;
    }
    ringkv::cli::RepairArgs ra;
    if (vm.count("node")) ra.node = vm["node"].as<std::string>();
    if (vm.count("range")) {
      if (!ringkv::cli::ParseTokenRange(vm["range"].as<std::string>(), &ra.first, &ra.last)) {
        return Usage("--range takes FIRST:LAST, two tokens (decimal or 0x hex) with FIRST <= LAST");
      }
      ra.has_range = true;
    }
    if (vm.count("gossip")) {
      ra.gossip = vm["gossip"].as<std::string>();
    } else {
      Error err;
      auto st = client.Status(&err);
      if (!st) return Fail(err);
      if (!st->gossip) {
        std::cerr << "ringkv: the coordinator at " << client.current_endpoint()
                  << " has no gossip agent; give --gossip ENDPOINT\n";
        return kExitUsage;
      }
      ra.gossip = st->gossip->endpoint;
    }
    ra.timeout_ms = o.timeout_ms;
    return ringkv::cli::RunRepair(ra);
  }
  return Usage("unknown command '" + cmd + "'");
}

// The `ringkv` CLI's security parts (see cli_security.h).
#include "clients/cli/cli_security.h"

#include <cstdlib>
#include <iostream>

#include "common/net/curve_keys.h"

namespace ringkv::cli {

namespace po = boost::program_options;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

void AddCurveOptions(po::options_description& desc) {
  desc.add_options()
      ("curve-server-key", po::value<std::string>()->default_value(Env("RINGKV_CURVE_SERVER_KEY")),
       "the cluster's public key file (its .pub, from `ringkv keygen`) when the cluster runs "
       "with CURVE (default from $RINGKV_CURVE_SERVER_KEY)")
      ("curve-key", po::value<std::string>()->default_value(Env("RINGKV_CURVE_KEY")),
       "this client's key pair file (.key, mode 0600), whose public key the cluster authorizes "
       "(default from $RINGKV_CURVE_KEY)");
}

std::string ApplyCurveOptions(const po::variables_map& vm, client::Options* o) {
  const std::string server = vm["curve-server-key"].as<std::string>();
  const std::string own = vm["curve-key"].as<std::string>();
  if (server.empty() && own.empty()) return "";
  if (server.empty() || own.empty()) {
    return "CURVE needs both --curve-server-key and --curve-key";
  }
  auto s = net::ReadCurveKeyFile(server, /*need_secret=*/false);
  if (!s.ok()) return "--curve-server-key: " + s.status().message();
  auto k = net::ReadCurveKeyFile(own, /*need_secret=*/true);
  if (!k.ok()) return "--curve-key: " + k.status().message();
  o->curve_server_key = s->public_key;
  o->curve_public_key = k->public_key;
  o->curve_secret_key = k->secret_key;
  return "";
}

int CmdKeygen(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::cerr << "ringkv: usage: ringkv keygen BASE (writes BASE.key and BASE.pub)\n";
    return 2;
  }
  auto pair = net::GenerateCurveKeyPair();
  if (!pair.ok()) {
    std::cerr << "ringkv: keygen: " << pair.status().message() << "\n";
    return 8;
  }
  Status s = net::WriteCurveKeyFiles(args[0], *pair);
  if (!s.ok()) {
    std::cerr << "ringkv: keygen: " << s.message() << "\n";
    return 8;
  }
  std::cout << pair->public_key << "\n";
  return 0;
}

}  // namespace ringkv::cli

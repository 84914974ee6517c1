// Link security: options, the process-wide setting, and the ZAP handler (see link_security.h).
#include "common/net/link_security.h"

#include <zmq.h>

#include <chrono>

#include "common/logging.h"
#include "common/net/zmq_util.h"

namespace ringkv::net {

namespace {

// Set once by EnableLinkSecurity before any thread starts; read-only afterwards.
std::optional<LinkSecurity>& Active() {
  static std::optional<LinkSecurity> active;
  return active;
}

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr int kZapPollMs = 200;
constexpr int64_t kReloadEveryMs = 1000;

std::string Z85(const std::string& raw) {
  if (raw.size() != 32) return "";
  char out[41];
  if (zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(raw.data()), 32) == nullptr) return "";
  return out;
}

}  // namespace

void AddLinkSecurityOptions(po::options_description& desc) {
  desc.add_options()
      ("curve-secret-key", po::value<std::string>()->default_value(""),
       "the cluster's CURVE key pair file (from `ringkv keygen`, mode 0600). When set, every "
       "listener and every link to another agent is authenticated and encrypted with CurveZMQ, "
       "and the plaintext fast paths (the coordinator's ZMTP endpoint, the storage agent's "
       "direct transport) are off. Empty: no security (docs/security.md)")
      ("curve-authorized-keys", po::value<std::string>()->default_value(""),
       "file or directory of the client public keys accepted besides the cluster's own (one "
       "Z85 key per line, or `public-key = KEY` as in .pub files); re-read when it changes");
}

Result<std::optional<LinkSecurity>> LinkSecurityFrom(const po::variables_map& vm) {
  const std::string key = vm.count("curve-secret-key") ? vm["curve-secret-key"].as<std::string>()
                                                       : "";
  const std::string auth = vm.count("curve-authorized-keys")
                               ? vm["curve-authorized-keys"].as<std::string>()
                               : "";
  if (key.empty()) {
    if (!auth.empty()) {
      return Status::InvalidArgument("--curve-authorized-keys needs --curve-secret-key");
    }
    return std::optional<LinkSecurity>();
  }
  if (!CurveAvailable()) {
    return Status::InvalidArgument("--curve-secret-key: this libzmq has no CURVE support");
  }
  auto pair = ReadCurveKeyFile(key, /*need_secret=*/true);
  if (!pair.ok()) return Status::InvalidArgument("--curve-secret-key: " + pair.status().message());
  LinkSecurity sec;
  sec.cluster = *pair;
  sec.authorized_path = auth;
  if (!auth.empty()) {
    auto keys = ReadAuthorizedKeys(auth);
    if (!keys.ok()) {
      return Status::InvalidArgument("--curve-authorized-keys: " + keys.status().message());
    }
    sec.authorized = std::move(*keys);
  }
  return std::optional<LinkSecurity>(std::move(sec));
}

void EnableLinkSecurity(LinkSecurity sec) { Active() = std::move(sec); }

bool LinkSecurityActive() { return Active().has_value(); }

Status ApplyLinkSecurity(zmq::socket_t& s, const std::string& endpoint, bool server) {
  if (!Active() || endpoint.rfind("inproc://", 0) == 0) return Status::OK();
  const CurveKeyPair& k = Active()->cluster;
  try {
    if (server) {
      s.set(zmq::sockopt::curve_server, 1);
      s.set(zmq::sockopt::curve_secretkey, k.secret_key);
      s.set(zmq::sockopt::zap_domain, "ringkv");
      return Status::OK();
    }
  } catch (const zmq::error_t& e) {
    return Status::IOError(std::string("CURVE server options: ") + e.what());
  }
  return SetCurveClient(s, k.public_key, k);
}

Status SetCurveClient(zmq::socket_t& s, const std::string& server_key, const CurveKeyPair& own) {
  try {
    s.set(zmq::sockopt::curve_serverkey, server_key);
    s.set(zmq::sockopt::curve_publickey, own.public_key);
    s.set(zmq::sockopt::curve_secretkey, own.secret_key);
    return Status::OK();
  } catch (const zmq::error_t& e) {
    return Status::IOError(std::string("CURVE client options: ") + e.what());
  }
}

Result<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t& ctx) {
  std::unique_ptr<ZapHandler> h(new ZapHandler());
  if (!Active()) return h;
  auto sock = MakeSocket(ctx, zmq::socket_type::rep);
  if (!sock.ok()) return sock.status();
  // Bound here, before any secured socket exists: libzmq admits every CURVE client when no
  // handler is bound, so a late start would leave a window open.
  RINGKV_RETURN_IF_ERROR(Bind(*sock, kZapEndpoint));
  h->thread_ = std::thread([raw = h.get(), s = std::move(*sock)]() mutable {
    raw->Loop(std::move(s));
  });
  return h;
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::Loop(zmq::socket_t sock) {
  const LinkSecurity& sec = *Active();
  std::set<std::string> authorized = sec.authorized;
  authorized.insert(sec.cluster.public_key);
  std::string reload_error;
  int64_t next_reload = NowMs() + kReloadEveryMs;
  int64_t next_refusal_log = 0;
  while (!stop_) {
    if (!sec.authorized_path.empty() && NowMs() >= next_reload) {
      next_reload = NowMs() + kReloadEveryMs;
      auto keys = ReadAuthorizedKeys(sec.authorized_path);
      if (!keys.ok()) {
        // Keep the keys in force: a file being rewritten must not lock every client out.
        if (keys.status().message() != reload_error) {
          reload_error = keys.status().message();
          RINGKV_LOG(kWarn) << "authorized keys: " << reload_error << " (keeping the "
                            << authorized.size() << " keys in force)";
        }
      } else {
        reload_error.clear();
        keys->insert(sec.cluster.public_key);
        if (*keys != authorized) {
          RINGKV_LOG(kInfo) << "authorized keys: " << keys->size() - 1 << " client keys from "
                            << sec.authorized_path;
          authorized = std::move(*keys);
        }
      }
    }
    auto req = RecvFrames(sock, kZapPollMs, 16);
    if (!req.ok()) {
      if (req.status().code() == Status::Code::kUnavailable) break;  // context terminated
      continue;  // timeout: check stop_ and the reload
    }
    // ZAP request (RFC 27): version, request id, domain, address, routing id, mechanism,
    // credentials...
    const Frames& f = *req;
    const std::string id = f.size() > 1 ? f[1] : "";
    const std::string address = f.size() > 3 ? f[3] : "";
    const std::string mechanism = f.size() > 5 ? f[5] : "";
    const std::string key = f.size() > 6 && mechanism == "CURVE" ? Z85(f[6]) : "";
    const bool ok = f.size() >= 7 && f[0] == "1.0" && !key.empty() && authorized.count(key) > 0;
    if (ok) {
      ++accepted_;
    } else {
      ++refused_;
      // A refused client retries its handshake every reconnect interval: one line a second.
      if (NowMs() >= next_refusal_log) {
        next_refusal_log = NowMs() + 1000;
        RINGKV_LOG(kWarn) << "refused a " << (mechanism.empty() ? "?" : mechanism)
                          << " handshake from " << address
                          << (key.empty() ? "" : " with unknown client key " + key) << " ("
                          << refused_.load() << " refused so far)";
      }
    }
    Frames reply{"1.0", id, ok ? "200" : "400", ok ? "OK" : "key not authorized", ok ? key : "",
                 ""};
    Status s = SendFrames(sock, reply, 1000);
    if (!s.ok()) {
      RINGKV_LOG(kWarn) << "ZAP reply: " << s.ToString();
    }
  }
}

}  // namespace ringkv::net

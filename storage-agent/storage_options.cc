// ringkv-storage options (see storage_options.h).
#include "common/metrics/http/metrics_options.h"
#include "storage-agent/storage_options.h"

#include "common/net/frame_conn.h"
#include "common/options.h"

namespace ringkv::storage {

bool ParseDurationMs(const std::string& text, int64_t* out_ms) {
  if (text.empty() || text[0] == '-' || text[0] == '+') return false;
  size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &pos);
  } catch (...) {
    return false;
  }
  const std::string suffix = text.substr(pos);
  unsigned long long mult;
  if (suffix == "ms") {
    mult = 1;
  } else if (suffix.empty() || suffix == "s") {
    mult = 1000;
  } else if (suffix == "m") {
    mult = 60ull * 1000;
  } else if (suffix == "h") {
    mult = 3600ull * 1000;
  } else if (suffix == "d") {
    mult = 24ull * 3600 * 1000;
  } else {
    return false;
  }
  if (n > static_cast<unsigned long long>(INT64_MAX) / mult) return false;
  *out_ms = static_cast<int64_t>(n * mult);
  return true;
}

ParsedOptions ParseStorageOptions(int argc, char** argv) {
  const std::string prog = "ringkv-storage";
  auto config = std::make_shared<ProgramOptions>(
      prog, "ringkv-storage --data-dir DIR [--listen tcp://HOST:PORT] [options]",
      "ringkv-storage options");
  po::options_description& desc = config->options();
  desc.add_options()
      ("data-dir", po::value<std::string>()->required(),
       "data directory (created when missing; holds IDENTITY, the commit log and SSTables)")
      ("listen", po::value<std::string>()->default_value("tcp://127.0.0.1:7100"),
       "ZeroMQ endpoint the ROUTER socket binds")
      ("direct-listen", po::value<std::string>()->default_value(""),
       "endpoint tcp://HOST:PORT of the direct transport that coordinators use for requests "
       "(length-prefixed frames on plain TCP); empty: any free port on --listen's host; "
       "off: none (coordinators then use the ROUTER)")
      ("node-id", po::value<std::string>()->default_value(""),
       "this node's name in the ring, reported by ping")
      ("sync", po::value<std::string>()->default_value("batch"),
       "commit log durability before a write is acknowledged: always (fsync each write), "
       "batch (group fsync every --batch-window-ms), none (OS page cache only)")
      ("batch-window-ms", po::value<int>()->default_value(2), "group-commit window for --sync batch")
      ("memtable-size", po::value<std::string>()->default_value("32M"),
       "memtable size that triggers a flush to an SSTable (suffix K, M, G)")
      ("block-size", po::value<std::string>()->default_value("4K"), "SSTable data block size")
      ("bloom-bits", po::value<int>()->default_value(10), "Bloom filter bits per key (0: none)")
      ("compression", po::value<std::string>()->default_value("lz4"),
       "SSTable block compression: lz4, zstd or none")
      ("block-cache", po::value<std::string>()->default_value("64M"), "block cache capacity")
      ("log-segment-size", po::value<std::string>()->default_value("64M"),
       "commit log segment size before rolling to a new one")
      ("tombstone-grace", po::value<std::string>()->default_value("864000s"),
       "how long a key holding only tombstones is kept before compaction may drop it; "
       "a number with suffix ms, s (default), m, h or d")
      ("aae", po::value<std::string>()->default_value("on"),
       "keep the anti-entropy tree (on) or not (off: only to measure what it costs; the "
       "anti-entropy ops then answer an error and no tombstone is ever dropped)")
      ("aae-rebuild-mbps", po::value<double>()->default_value(50),
       "MB/s of stored states the anti-entropy tree's rebuild at start may read (0: no limit); "
       "until it is done the agent answers aae_tree with ready: false")
      ("threads", po::value<int>()->default_value(8), "worker threads running requests")
      ("max-queue", po::value<int>()->default_value(1024),
       "requests waiting for a worker; past it requests get error `busy` at once")
      ("deadline-tolerance-ms", po::value<int64_t>()->default_value(1000),
       "a get, update or sync is dropped (error `expired`, counted in stats) once this host's "
       "clock is more than this past the deadline the coordinator stamped on it: at least the "
       "largest difference between this host's clock and a coordinator host's")
      ("salvage", po::bool_switch()->default_value(false),
       "start even when the commit log has corrupt records: skip them (and log how many) "
       "instead of refusing to start (the agent then takes a new actor id)")
      ("new-actor", po::bool_switch()->default_value(false),
       "take a new actor id even though the last stop was clean: give it once after restoring "
       "a data directory from a backup taken while the agent was stopped")
      ("repair", po::bool_switch()->default_value(false),
       "do not serve: rebuild the data directory's MANIFEST from the tables and commit log "
       "found in it (unreadable files are moved to DIR/lost/), print what was kept and lost, "
       "and exit (0: the directory is usable; the next start takes a new actor id)");
  metrics::AddMetricsOptions(desc);

  ParsedOptions out;
  net::AddLinkSecurityOptions(desc);
  if (auto rc = config->Parse(argc, argv)) {
    out.exit_code = *rc;
    return out;
  }
  const po::variables_map& vm = config->vm();
  auto bad = [&](const std::string& msg) {
    out.exit_code = config->Fail(msg);
    return out;
  };

  StorageOptions o;
  o.engine.dir = vm["data-dir"].as<std::string>();
  if (o.engine.dir.empty()) return bad("--data-dir must not be empty");
  o.server.listen = vm["listen"].as<std::string>();
  if (o.server.listen.find("://") == std::string::npos) {
    return bad("--listen '" + o.server.listen + "' is not an endpoint like tcp://HOST:PORT");
  }
  o.server.direct_listen = vm["direct-listen"].as<std::string>();
  if (!o.server.direct_listen.empty() && o.server.direct_listen != "off") {
    std::string host;
    int port = 0;
    Status es = net::ParseTcpEndpoint(o.server.direct_listen, &host, &port);
    if (!es.ok()) return bad("--direct-listen: " + es.message());
  }
  o.server.node_id = vm["node-id"].as<std::string>();
  auto mo = metrics::MetricsOptionsFrom(vm);
  if (!mo.ok()) return bad(mo.status().message());
  o.metrics_options = *mo;
  o.server.slow_request_ms = mo->slow_request_ms;
  if (!engine::ParseSyncMode(vm["sync"].as<std::string>(), &o.engine.sync_mode)) {
    return bad("--sync must be always, batch or none");
  }
  o.engine.batch_window_ms = vm["batch-window-ms"].as<int>();
  if (o.engine.batch_window_ms < 0 || o.engine.batch_window_ms > 1000) {
    return bad("--batch-window-ms must be 0..1000");
  }
  struct SizeOpt {
    const char* name;
    uint64_t* dst;
    uint64_t min;
  } sizes[] = {{"memtable-size", &o.engine.memtable_bytes, 4096},
               {"block-size", &o.engine.block_bytes, 256},
               {"block-cache", &o.engine.block_cache_bytes, 0},
               {"log-segment-size", &o.engine.log_segment_bytes, 4096}};
  for (const auto& s : sizes) {
    uint64_t v = 0;
    if (!ParseByteSize(vm[s.name].as<std::string>(), &v)) {
      return bad(std::string("--") + s.name + " must be a size such as 4096, 64K, 32M or 1G");
    }
    if (v < s.min) {
      return bad(std::string("--") + s.name + " must be at least " + std::to_string(s.min));
    }
    *s.dst = v;
  }
  o.engine.bloom_bits_per_key = vm["bloom-bits"].as<int>();
  if (o.engine.bloom_bits_per_key < 0 || o.engine.bloom_bits_per_key > 64) {
    return bad("--bloom-bits must be 0..64");
  }
  if (!engine::ParseCompression(vm["compression"].as<std::string>(), &o.engine.compression)) {
    return bad("--compression must be lz4, zstd or none");
  }
  if (!ParseDurationMs(vm["tombstone-grace"].as<std::string>(), &o.engine.tombstone_grace_ms)) {
    return bad("--tombstone-grace must be a duration such as 864000s, 10d or 500ms");
  }
  const std::string aae = vm["aae"].as<std::string>();
  if (aae != "on" && aae != "off") return bad("--aae must be on or off");
  o.open.aae = aae == "on";
  o.aae_rebuild_mbps = vm["aae-rebuild-mbps"].as<double>();
  if (!(o.aae_rebuild_mbps >= 0 && o.aae_rebuild_mbps <= 1e6)) {
    return bad("--aae-rebuild-mbps must be 0..1000000");
  }
  o.server.threads = vm["threads"].as<int>();
  if (o.server.threads < 1 || o.server.threads > 256) return bad("--threads must be 1..256");
  int q = vm["max-queue"].as<int>();
  if (q < 1 || q > 1000000) return bad("--max-queue must be 1..1000000");
  o.server.max_queue = static_cast<size_t>(q);
  const int64_t tolerance = vm["deadline-tolerance-ms"].as<int64_t>();
  if (tolerance < 0 || tolerance > 86400000) return bad("--deadline-tolerance-ms must be 0..86400000");
  o.server.deadline_tolerance_ms = static_cast<uint64_t>(tolerance);
  o.engine.salvage = vm["salvage"].as<bool>();
  o.open.new_actor = vm["new-actor"].as<bool>();
  o.repair = vm["repair"].as<bool>();
  auto security = net::LinkSecurityFrom(vm);
  if (!security.ok()) return bad(security.status().message());
  o.security = std::move(*security);
  if (o.security) {
    // The direct transport is plain TCP: never a plaintext link next to a secured one.
    if (!o.server.direct_listen.empty() && o.server.direct_listen != "off") {
      return bad("--direct-listen " + o.server.direct_listen + ": the direct transport has no "
                 "encryption; with --curve-secret-key leave it empty or off");
    }
    o.server.direct_listen = "off";
  }
  config->RequireWritableDir("data-dir", o.engine.dir);
  if (!o.repair) {
    config->RequireBindable("listen", o.server.listen);
    if (!o.server.direct_listen.empty() && o.server.direct_listen != "off") {
      config->RequireBindable("direct-listen", o.server.direct_listen);
    }
  }
  out.options = std::move(o);
  out.config = std::move(config);
  return out;
}

}  // namespace ringkv::storage

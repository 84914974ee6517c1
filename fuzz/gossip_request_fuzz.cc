// Fuzz target: a gossip agent request body (gossip-agent/gossip_service.h: ping, ring, hint,
// hints) as a coordinator or another agent sends it, handled by a real GossipService over a
// ring store and a hint store on tmpfs. Hints carry a KeyState that the store decodes and merges
// into the pending hint of the same target and key. Every input must get a reply that is one
// MessagePack map with `v` and `ok`; the service must keep answering.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/msgpack_util.h"
#include "common/ring/ring_store.h"
#include "fuzz/fuzz_util.h"
#include "gossip-agent/gossip_service.h"
#include "gossip-agent/hint_store.h"

using namespace ringkv;

namespace {

struct Service {
  std::unique_ptr<RingStore> ring;
  std::unique_ptr<gossip::HintStore> hints;
  std::unique_ptr<gossip::GossipService> service;
  Service() {
    const std::string dir = fuzz::ScratchDir();
    auto store = RingStore::Open(dir + "/ring.db");
    if (!store.ok()) std::abort();
    ring = std::move(*store);
    std::vector<NodeInfo> nodes;
    for (const char* id : {"a", "b", "c"}) {
      NodeInfo n;
      n.id = id;
      n.vnodes = 2;
      n.client_endpoint = std::string("tcp://127.0.0.1:1/") + id;
      nodes.push_back(n);
    }
    if (!ring->Seed(nodes, *Replication::Parse("2")).ok()) std::abort();
    // Small: the fuzzer reaches "busy", and the store stays cheap to scan.
    auto h = gossip::HintStore::Open(dir + "/hints.db", 64u << 10);
    if (!h.ok()) std::abort();
    hints = std::move(*h);
    service = std::make_unique<gossip::GossipService>("a", ring.get(), hints.get());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Service s;
  const std::string reply =
      s.service->Handle(std::string_view(reinterpret_cast<const char*>(data), size));
  auto decoded = mp::Decode(reply);
  if (!decoded.ok()) std::abort();
  auto map = mp::MapView::Of(decoded->root());
  if (!map.ok()) std::abort();
  auto ok = map->Bool("ok");
  auto v = map->Uint("v");
  if (!ok.ok() || !ok->has_value() || !v.ok() || v->value_or(0) != 1) std::abort();
  if (s.hints->bytes() > s.hints->max_bytes()) std::abort();
  return 0;
}

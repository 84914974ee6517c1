// ringkv-fuzz-seeds OUTDIR: writes the seed corpus of every fuzz target (OUTDIR/<target>/seed-N)
// from the project's own encoders, so the seeds follow the formats as they change and the
// fuzzers start from valid inputs instead of guessing them. scripts/fuzz.sh runs it before
// the fuzzers; the inputs found later are kept in fuzz/regressions/<target>/ only if they crashed.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/coding.h"
#include "common/msgpack_util.h"
#include "common/net/zmtp_test_util.h"
#include "common/protocol/gossip_protocol.h"
#include "common/protocol/storage_protocol.h"
#include "common/version/causal_context.h"
#include "common/version/key_state.h"
#include "storage-agent/engine/block_builder.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/manifest.h"
#include "storage-agent/engine/record_format.h"
#include "storage-agent/engine/table.h"

using namespace ringkv;
namespace sp = storage_protocol;

namespace {

std::string g_out;

void Seed(const std::string& target, const std::vector<std::string>& inputs) {
  const std::string dir = g_out + "/" + target;
  ::mkdir(dir.c_str(), 0755);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string path = dir + "/seed-" + std::to_string(i);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr ||
        std::fwrite(inputs[i].data(), 1, inputs[i].size(), f) != inputs[i].size()) {
      std::perror(path.c_str());
      std::exit(1);
    }
    std::fclose(f);
  }
}

// A MessagePack map of string keys; values are pre-packed MessagePack.
std::string Map(const std::vector<std::pair<std::string, std::string>>& fields) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(static_cast<uint32_t>(fields.size()));
  std::string out(buf.data(), buf.size());
  for (const auto& [k, v] : fields) {
    mp::Buffer kb;
    mp::Packer kp(kb);
    mp::PackStr(kp, k);
    out.append(kb.data(), kb.size()).append(v);
  }
  return out;
}
template <typename T>
std::string Pack(const T& v) {
  mp::Buffer buf;
  msgpack::pack(buf, v);
  return std::string(buf.data(), buf.size());
}
std::string PackBin(std::string_view s) {
  mp::Buffer buf;
  mp::Packer p(buf);
  mp::PackBin(p, s);
  return std::string(buf.data(), buf.size());
}

version::CausalContext SomeContext() {
  version::CausalContext c;
  c.AddUpTo({11, 3});
  c.Add({22, 1});
  c.Add({22, 5});
  c.Add({33, 9});
  return c;
}

version::KeyState SomeState() {
  version::KeyState s;
  s.Update(version::CausalContext(), std::string_view("one"), 11);
  s.Update(version::CausalContext(), std::string_view("two"), 22);  // a sibling
  version::KeyState other;
  other.Update(version::CausalContext(), std::nullopt, 33);  // a tombstone
  s.Sync(other);
  return s;
}

void ClientRequests() {
  const std::string ctx = SomeContext().Encode();
  Seed("client_request",
       {Map({{"v", Pack(1)}, {"op", Pack("ping")}, {"id", Pack(7)}}),
        Map({{"v", Pack(1)}, {"op", Pack("status")}}),
        Map({{"v", Pack(1)}, {"op", Pack("get")}, {"key", PackBin("k")}, {"r", Pack("quorum")},
             {"consistency", Pack("strong")}, {"timeout_ms", Pack(500)}}),
        Map({{"v", Pack(1)}, {"op", Pack("put")}, {"id", Pack("abc")}, {"key", PackBin("k")},
             {"value", PackBin("value")}, {"ctx", PackBin(ctx)}, {"w", Pack(2)}}),
        Map({{"v", Pack(1)}, {"op", Pack("delete")}, {"key", Pack("k")}, {"ctx", PackBin(ctx)},
             {"w", Pack("all")}})});
}

// ZMTP 3.1 bytes a peer sends (RFC 23): greeting, READY, messages, PING.
void Zmtp() {
  using namespace net::zmtp_wire;
  const std::string body = Map({{"v", Pack(1)}, {"op", Pack("ping")}});
  const std::string dealer = Greeting(3, 1, "NULL") + Ready("DEALER");
  const std::string router = Greeting(3, 1, "NULL") + Ready("ROUTER");
  const std::string ping = Command("PING", std::string("\x00\x0a", 2) + "ctx");
  // flags byte (bit 0: our side is a DEALER; bit 1: small limits), chunk byte, stream.
  Seed("zmtp_conn", {std::string("\x00\x00", 2) + dealer + Message({"", body}) + ping,
                     std::string("\x00\x07", 2) + dealer + Message({"", body, body}),
                     std::string("\x01\x00", 2) + router + Message({"", body}) + ping,
                     std::string("\x02\x05", 2) + dealer +
                         Message({"", "a", "b", "c", "d", std::string(400, 'x')}) +
                         Message({"", body})});
}

std::vector<std::string> StorageRequests() {
  std::vector<std::string> out;
  sp::Request r;
  r.rid = 1;
  r.op = std::string(sp::kPing);
  out.push_back(sp::EncodeRequest(r));
  r.op = std::string(sp::kGet);
  r.key = "key";
  out.push_back(sp::EncodeRequest(r));
  r.op = std::string(sp::kUpdate);
  r.ctx = SomeContext().Encode();
  r.value = "value";
  r.early = true;
  out.push_back(sp::EncodeRequest(r));
  r.tombstone = true;
  out.push_back(sp::EncodeRequest(r));
  r.op = std::string(sp::kSync);
  r.state = SomeState().Encode();
  out.push_back(sp::EncodeRequest(r));
  r.op = std::string(sp::kScan);
  r.first = 10;
  r.last = 1000;
  r.after_token = 20;
  r.after_key = "k";
  r.limit = 50;
  out.push_back(sp::EncodeRequest(r));
  for (auto op : {sp::kStats, sp::kFlush, sp::kCompact}) {
    sp::Request o;
    o.op = std::string(op);
    out.push_back(sp::EncodeRequest(o));
  }
  // Anti-entropy (docs/anti-entropy.md).
  sp::Request aae;
  aae.op = std::string(sp::kAaeTree);
  aae.ranges = {{0, UINT64_MAX}, {10, 1000}};
  aae.parts = 4;
  out.push_back(sp::EncodeRequest(aae));
  aae.op = std::string(sp::kRepairMark);
  aae.as_of_ms = 1700000000000;
  out.push_back(sp::EncodeRequest(aae));
  aae.op = std::string(sp::kAaeKeys);
  aae.after_token = 20;
  aae.after_key = "k";
  out.push_back(sp::EncodeRequest(aae));
  aae.op = std::string(sp::kAaeStates);
  aae.keys = {"a", "b"};
  out.push_back(sp::EncodeRequest(aae));
  return out;
}

void Storage() {
  const std::vector<std::string> requests = StorageRequests();
  Seed("storage_request", requests);
  std::string frames;
  for (const std::string& b : requests) {
    coding::PutBigEndian64(&frames, b.size());  // 8 bytes; the first 4 are zero: cut below
    frames.erase(frames.size() - 8, 4);
    frames += b;
  }
  Seed("frame_conn", {std::string(1, '\0') + frames, std::string(1, '\x03') + frames});

  std::vector<std::string> replies;
  sp::Reply ok;
  ok.rid = 5;
  ok.state = SomeState().Encode();
  ok.dot = version::Dot{11, 4};
  ok.durable = false;
  replies.push_back(sp::EncodeReply(ok));
  sp::Reply scan;
  scan.items = {{"a", SomeState().Encode()}, {"b", ""}};
  scan.more = true;
  replies.push_back(sp::EncodeReply(scan));
  sp::Reply ping;
  ping.actor = 99;
  ping.node = "n1";
  ping.direct_port = 7000;
  ping.stats = {{"puts", 3}, {"gets", 4}};
  replies.push_back(sp::EncodeReply(ping));
  replies.push_back(sp::EncodeReply(sp::ErrorReply(6, sp::kErrBusy, "queue full")));
  sp::Reply tree;
  tree.ready = true;
  tree.now_ms = 1700000000000;
  tree.trees = {{{1, 2}, {3, 4}}};
  replies.push_back(sp::EncodeReply(tree));
  sp::Reply keys;
  keys.key_hashes = {{"a", 7}, {"b", 8}};
  keys.more = true;
  replies.push_back(sp::EncodeReply(keys));
  sp::Reply states;
  states.states = {SomeState().Encode(), std::nullopt};
  replies.push_back(sp::EncodeReply(states));
  Seed("storage_reply", replies);
}

void Gossip() {
  const std::string state = SomeState().Encode();
  Seed("gossip_request",
       {Map({{"op", Pack("ping")}, {"id", Pack(1)}}),
        Map({{"op", Pack("ring")}, {"tokens", Pack(true)}, {"rid", Pack(2)}}),
        Map({{"op", Pack("hint")}, {"target", Pack("b")}, {"key", PackBin("k")},
             {"state", PackBin(state)}}),
        Map({{"op", Pack("hints")}})});
  const std::string error = Map({{"code", Pack("busy")}, {"message", Pack("full")}});
  Seed("gossip_reply", {Map({{"v", Pack(1)}, {"ok", Pack(true)}, {"rid", Pack(77)}}),
                        Map({{"v", Pack(1)}, {"ok", Pack(false)}, {"rid", Pack(78)},
                             {"error", error}}),
                        Map({{"v", Pack(1)}, {"ok", Pack(true)}, {"rid", Pack(79)},
                             {"hint_room", Pack(4096)}})});

  // The exchange (gossip_protocol.h) and the view, from their encoders.
  namespace gp = gossip_protocol;
  gp::NodeEntry e;
  e.id = "n2";
  e.client_endpoint = "tcp://127.0.0.1:7410";
  e.storage_endpoint = "tcp://127.0.0.1:7411";
  e.gossip_endpoint = "tcp://127.0.0.1:7412";
  e.vnodes = 2;
  e.tokens = {1, 2};
  e.heartbeat = {1700000000, 12};
  e.storage = {true, 5};
  e.storage_direct_port = 7413;
  gp::Message syn;
  syn.kind = gp::Kind::kSyn;
  syn.from = "n1";
  syn.view_hash = 42;
  syn.view_size = 3;
  syn.has_heartbeats = true;
  syn.heartbeats = {1, 200, 70000};
  gp::Message ack;
  ack.kind = gp::Kind::kAck;
  ack.from = "n2";
  ack.has_digests = true;
  ack.digests = {{"n1", {1, 2}}};
  ack.buckets = {0, 7};
  ack.bucket_hashes.assign(gp::kBuckets, 9);
  ack.entries = {e};
  ack.requests = {{"n3", {0, 0}}};
  gp::Message ack2;
  ack2.kind = gp::Kind::kAck2;
  ack2.from = "n3";
  ack2.entries = {e};
  Seed("gossip_message", {gp::Encode(syn), gp::Encode(ack), gp::Encode(ack2)});
  gp::ViewPush view;
  view.self = "n1";
  view.view_version = 3;
  view.members = {{e, true, 0.5, 120}};
  Seed("gossip_view", {gp::EncodeView(view, 9), gp::EncodeView(gp::ViewPush{"n1", 0, {}}, 0)});
}

void Version() {
  Seed("causal_context", {SomeContext().Encode(), version::CausalContext().Encode()});
  version::KeyState one;
  one.Update(version::CausalContext(), std::string_view("x"), 5);
  Seed("key_state", {SomeState().Encode(), one.Encode(), version::KeyState().Encode()});
}

std::string FramedWrite(int i, size_t value_bytes) {
  std::string rec, payload, framed;
  engine::AppendRecord(&rec, i % 3 ? engine::RecordKind::kPut : engine::RecordKind::kDelete,
                       static_cast<uint64_t>(i + 1), 1000 + i,
                       std::string(i % 3 ? value_bytes : 0, static_cast<char>('a' + i % 26)));
  engine::AppendWritePayload(&payload, engine::InternalKeyOf("k" + std::to_string(i)), rec);
  engine::AppendFramedRecord(&framed, engine::log_format::kTypeWrite, payload);
  return framed;
}

void Log() {
  // Segment 1 as the write leader lays it out: a mark, then groups of (mark + writes).
  std::string seg;
  engine::AppendMarkRecord(&seg, 1, 0);
  int key = 0;
  for (int g = 0; g < 3; ++g) {
    engine::AppendMarkRecord(&seg, 1, seg.size());
    for (int i = 0; i < 3; ++i) seg += FramedWrite(key++, 10 + g * 7);
  }
  const std::string zeros(200, '\0');  // preallocated space after the last record
  // flags byte: bit 0 newest segment, bit 1 salvage, bit 2 keep the CRCs as they are.
  Seed("log_replay", {std::string(1, '\0') + seg, std::string(1, '\x01') + seg + zeros,
                      std::string(1, '\x03') + seg.substr(0, seg.size() - 5) + zeros,
                      std::string(1, '\x05') + seg});
}

std::string MakeTable(engine::Compression c, int n, size_t block_bytes) {
  const std::string dir = g_out + "/.table";
  ::mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/t.sst";
  engine::TableOptions o;
  o.compression = c;
  o.block_bytes = block_bytes;
  auto b = engine::TableBuilder::Create(path, o);
  if (!b.ok()) std::abort();
  for (int i = 0; i < n; ++i) {
    char k[16];
    std::snprintf(k, sizeof(k), "key%05d", i);
    if (!(*b)->Add(k, std::string(static_cast<size_t>(i % 40), 'v')).ok()) std::abort();
  }
  if (!(*b)->Finish().ok()) std::abort();
  std::string data;
  if (!engine::ReadFileToString(path, &data).ok()) std::abort();
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
  return data;
}

void Tables() {
  engine::BlockBuilder bb(4);
  for (int i = 0; i < 20; ++i) {
    char k[16];
    std::snprintf(k, sizeof(k), "key%03d", i * 3);
    bb.Add(k, std::string(static_cast<size_t>(i), 'v'));
  }
  const std::string block(bb.Finish());
  // n byte (the last n bytes are also a lookup target), then the block.
  Seed("block", {std::string(1, '\0') + block, std::string(1, '\x06') + block});
  // flags byte (bit 0: keep the checksums), then the file.
  Seed("table", {std::string(1, '\0') + MakeTable(engine::Compression::kNone, 40, 256),
                 std::string(1, '\0') + MakeTable(engine::Compression::kLz4, 60, 512),
                 std::string(1, '\0') + MakeTable(engine::Compression::kZstd, 30, 4096),
                 std::string(1, '\x01') + MakeTable(engine::Compression::kNone, 3, 4096)});
  engine::ManifestData m;
  m.next_file_number = 9;
  m.log_number = 4;
  m.last_sequence = 1234;
  m.tables = {{8, 4096, 100, 1000, 1200}, {5, 9000, 300, 1, 999}};
  Seed("manifest", {engine::EncodeManifest(m), engine::EncodeManifest(engine::ManifestData())});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  ::mkdir(g_out.c_str(), 0755);
  ClientRequests();
  Zmtp();
  Storage();
  Gossip();
  Version();
  Log();
  Tables();
  return 0;
}

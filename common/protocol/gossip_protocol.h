// The gossip protocol between gossip agents: a node's state entry, digests, and the push-pull
// exchange (SYN, ACK, ACK2) that spreads membership and heartbeats. Every message type, field
// and limit of this protocol is declared here and nowhere else; docs/gossip-protocol.md
// describes the bytes. A field never changes meaning; new fields get defaults.
//
// DESIGN: a view is split in two parts. The "facts" of each node (everything in its entry but
// the heartbeat version) change rarely, and are summarised by one 64-bit view hash; the
// heartbeat versions change every round. When two agents' hashes agree, a SYN and its ACK carry
// only the hash and a few heartbeat versions (the sender's own and a window rotating over the
// members), as varint (position, version) pairs in the order of the (identical) sorted member
// list: no ids, no entries, a size that does not grow with N. Liveness does not ride on those:
// every message carries the sender's own heartbeat ("me"), the failure detector's only evidence,
// and suspicion / alive rumours (gossip-agent/gossiper.h). When they disagree, the hashes of kBuckets buckets
// of the view (members by the hash of their id) find the buckets that differ, and only their
// digests and then entries travel. docs/gossip-protocol.md, "Exchange".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/token.h"

namespace ringkv::gossip_protocol {

// Message kinds (field "t").
inline constexpr std::string_view kSynName = "syn";
inline constexpr std::string_view kAckName = "ack";
inline constexpr std::string_view kAck2Name = "ack2";
inline constexpr uint64_t kProtocolVersion = 1;  // field "v"

// Hard limits a decoder enforces whatever a peer sends.
inline constexpr size_t kMaxMessageBytes = 16u << 20;
inline constexpr size_t kMaxMembers = 16384;         // digests, entries or heartbeats per message
inline constexpr size_t kMaxStringBytes = 256;       // ids, DC and rack names, endpoints
inline constexpr size_t kMaxTokensPerNode = 65536;   // = kMaxVnodes of common/ring/ring.h
// What a sender puts into one message's entries (estimated by EntryBytes); the rest follows in
// later rounds. Keeps one message well under kMaxMessageBytes even with explicit tokens.
inline constexpr size_t kEntryBudgetBytes = 1u << 20;
// Buckets of the view: a member's bucket is XXH3-64(id) % kBuckets. Fixed forever (all agents
// must agree); 32 keeps the bucket hashes at 256 bytes and one changed node's digests at 1/32
// of the view.
inline constexpr size_t kBuckets = 32;
// A node's life-cycle state. `kDown` is never sent: it is the local detector's judgement and
// the decoder refuses it (a message cannot mark anyone down). `kLeaving` and `kRemoved` only
// travel inside the node's own entry (or, later, an operator command).
enum class MemberState : uint8_t { kJoining, kNormal, kLeaving, kDown, kRemoved };
const char* MemberStateName(MemberState s);  // "joining", "normal", "leaving", "down", "removed"
bool ParseMemberState(std::string_view s, MemberState* out);

// Generation: grows with every restart of the node's gossip agent (persisted, or the start
// time in seconds). Version: grows while it runs, with every heartbeat and every change of the
// node's own entry. Ordered lexicographically.
struct Heartbeat {
  uint64_t generation = 0;
  uint64_t version = 0;
  auto operator<=>(const Heartbeat&) const = default;
};

// The health of one of the node's own agents as its gossip agent checks it locally.
// `incarnation` changes when that agent restarts (its start time or actor id), so a restarted
// storage agent is seen as a new incarnation by everyone. Two values are reserved:
// kIncarnationUnchecked (with up false) means the gossip agent has had no answer yet and is
// still within its first health timeout: unknown, not down (a node starting up); past that
// timeout, an agent that never answered is kIncarnationNeverAnswered, down.
inline constexpr uint64_t kIncarnationUnchecked = 0;
inline constexpr uint64_t kIncarnationNeverAnswered = 1;
struct AgentHealth {
  bool up = false;
  uint64_t incarnation = 0;
  bool operator==(const AgentHealth&) const = default;
};

// One node's state entry, as its owner publishes it.
struct NodeEntry {
  std::string id;
  std::string dc = "dc1";
  std::string rack = "rack1";
  std::string client_endpoint;   // coordinator
  std::string storage_endpoint;  // storage agent
  std::string gossip_endpoint;   // gossip agent
  uint32_t vnodes = 0;           // token count when `tokens` is empty (derived from the id)
  std::vector<Token> tokens;     // explicit tokens; empty: Ring::TokensFor(id, vnodes)
  MemberState state = MemberState::kNormal;
  Heartbeat heartbeat;
  AgentHealth storage;
  AgentHealth coordinator;
  // The storage agent's direct transport port (its ping reply's `dport`); 0: none. A fact.
  uint32_t storage_direct_port = 0;

  bool operator==(const NodeEntry&) const = default;
  // Equal in everything but heartbeat.version (the facts the view hash covers).
  bool SameFacts(const NodeEntry& o) const;
};

// What a node knows of another: its id and newest heartbeat.
struct Digest {
  std::string id;
  Heartbeat heartbeat;
  bool operator==(const Digest&) const = default;
};

enum class Kind : uint8_t { kSyn, kAck, kAck2 };

// One message. Which fields are meaningful depends on the step of the exchange
// (docs/gossip-protocol.md, "Exchange"):
//   SYN  {from, view_hash, view_size, heartbeats}         compact: "my view hashes to H"
//   ACK  {from, view_hash, view_size, heartbeats}         the hashes matched: my heartbeats
//   ACK  {from, view_hash, view_size, bucket_hashes}      they did not: my bucket hashes
//   ACK  {from, digests, buckets}                         my digests of the buckets that differ
//   ACK  {from, entries, requests}                        answer to digests: newer entries I
//                                                         have, and the digests I am behind on
//   ACK2 {from, entries}                                  the requested entries
// A SYN may carry digests (all buckets) instead of heartbeats, as Cassandra's.
struct Message {
  Kind kind = Kind::kSyn;
  std::string from;                 // sender's node id
  uint64_t view_hash = 0;           // hash of the sender's facts (Membership::ViewHash)
  uint32_t view_size = 0;           // members the hash covers
  bool has_heartbeats = false;      // `heartbeats` present (may be empty)
  std::vector<uint64_t> heartbeats; // versions in the sender's sorted member order
  bool has_digests = false;         // `digests` present (may be empty)
  std::vector<Digest> digests;
  std::vector<uint32_t> buckets;    // with digests: the buckets they cover (empty: all)
  std::vector<uint64_t> bucket_hashes;  // kBuckets hashes, or empty
  std::vector<NodeEntry> entries;
  std::vector<Digest> requests;     // "send me this node's entry if newer than this heartbeat"

  // --- Added for the O(1) exchange and the probing detector (absent: the defaults below).
  // The sender's own heartbeat, on every message it sends: the only evidence of a peer's life
  // the failure detector takes (a heartbeat relayed by a third node can be old).
  bool has_self_heartbeat = false;  // "me": [generation, version]
  Heartbeat self_heartbeat;
  // With views agreeing, a bounded subset of the heartbeats instead of all of them:
  // (position in the sorted member list, version) pairs. Applied only when the view hashes
  // agree, like `heartbeats`. A SYN with `sparse` and no `heartbeats` is compact too.
  bool has_sparse = false;          // "hs": BIN of varint pairs
  std::vector<std::pair<uint32_t, uint64_t>> sparse;
  // Rumours (at most kMaxRumors each). A suspicion [id, g, v] says "the sender convicted id,
  // whose newest heartbeat it saw directly was g.v": the receiver probes id itself and
  // convicts only if id does not answer; a suspicion can never mark a node down by itself.
  // An alive rumour says "the sender heard id directly at g.v": a convicted id is taken up.
  std::vector<Digest> suspects;     // "su"
  std::vector<Digest> alive;        // "al"
  // Lifeguard's local health of the sender (0: its rounds run on time; up to 8 when starved):
  // its checkers wait longer for a starved node's answer. `suspect_health` is the health of
  // each suspect as its suspecter last heard it (same length as `suspects`, or empty).
  uint64_t local_health = 0;                // "lh"
  std::vector<uint64_t> suspect_health;     // "sl": BIN of varints
};
inline constexpr size_t kMaxRumors = 64;

std::string_view KindName(Kind k);  // "syn", "ack", "ack2"

std::string Encode(const Message& m);
// InvalidArgument naming the problem for anything but a well-formed message within the limits:
// not MessagePack, not a map, wrong field types, unknown kind or state, state "down", strings,
// lists or tokens over the limits, a heartbeat blob that is not a list of varints.
Result<Message> Decode(std::string_view bytes);

// An upper bound on what `e` adds to an encoded message (for kEntryBudgetBytes).
size_t EntryBytes(const NodeEntry& e);

// True when `bytes` is a MessagePack map whose first key is "t": the shape Encode writes. The
// gossip agent's ROUTER carries both these messages and the requests below (whose key is "op"),
// and this look at a few bytes sorts them without decoding twice. Anything else is a request
// (and garbage gets the requests' bad_request reply).
bool IsExchangeMessage(std::string_view bytes);

// ---------------------------------------------------------------------------------------------
// Requests to a gossip agent (coordinators, tools, tests): one MessagePack map with "op" on the
// agent's ROUTER, answered with {v:1, ok, rid?, id?, ...} or {v:1, ok:false, error:{code,
// message}}. docs/gossip-protocol.md, "Requests"; every op name and error code is here.
inline constexpr std::string_view kOpPing = "ping";
inline constexpr std::string_view kOpRing = "ring";
inline constexpr std::string_view kOpHint = "hint";
inline constexpr std::string_view kOpHints = "hints";
inline constexpr std::string_view kOpWatch = "watch";
inline constexpr std::string_view kOpView = "view";
inline constexpr std::string_view kOpStats = "stats";
inline constexpr std::string_view kErrBusy = "busy";              // hint store full
inline constexpr std::string_view kErrBadRequest = "bad_request";
inline constexpr std::string_view kErrUnknownOp = "unknown_op";
inline constexpr std::string_view kErrInternal = "internal";

// {op:"hint", rid, target, key:BIN, state:BIN}: keep `state` (an encoded KeyState) of `key`
// for node `target` until it can be handed off (docs/hinted-handoff.md).
struct HintRequest {
  uint64_t rid = 0;
  std::string target;
  std::string key;
  std::string state;
};
std::string EncodeHint(const HintRequest& h);
// InvalidArgument unless a map with op "hint", a non-empty string target, key and state
// (BIN or STR); rid is optional (0).
Result<HintRequest> DecodeHint(std::string_view body);

// Any reply of a gossip agent, in the fields a coordinator reads. `hint_room` is the bytes its
// hint store can still take (ping and hint replies; absent from older agents and from replies
// that are not about hints).
struct Reply {
  uint64_t rid = 0;
  bool ok = false;
  std::string code;     // when !ok ("internal" when the reply names none)
  std::string message;  // when !ok
  bool has_hint_room = false;
  uint64_t hint_room = 0;
};
// InvalidArgument when `body` is not a map with a bool `ok` (and, when present, a uint rid and
// hint_room). A reply that is not ok never reports a room figure.
Result<Reply> DecodeReply(std::string_view body);

// ---------------------------------------------------------------------------------------------
// The view a gossip agent pushes to its coordinators ({op:"watch"}) and answers {op:"view"}
// with: every member's entry as gossip has it (tokens as gossip carries them: empty = derived
// from id and vnodes) and this agent's judgement of it.
struct MemberView {
  NodeEntry entry;
  bool up = false;               // this agent's judgement: detector, not removed; true for itself
  double phi = 0;                // the detector's phi now (0 for itself or a node not watched)
  int64_t heartbeat_age_ms = -1; // since its last newer heartbeat arrived; -1 unknown
  bool operator==(const MemberView&) const = default;
};
struct ViewPush {
  std::string self;            // the agent's node id
  uint64_t view_version = 0;   // grows with every change pushed (facts or an up/down judgement)
  std::vector<MemberView> members;  // in id order, distinct
  bool operator==(const ViewPush&) const = default;
};
// The reply {v:1, ok:true, rid, op:"view", self, view_version, members:[{e:ENTRY, up, phi,
// age}]}, ENTRY encoded as in gossip messages.
std::string EncodeView(const ViewPush& v, uint64_t rid);
// InvalidArgument on anything malformed: not a map, ok not true, op not "view", v not 1, a
// missing or ill-typed field, a bad entry (as Decode), members out of id order or repeated,
// more than kMaxMembers, a message over kMaxMessageBytes.
Result<ViewPush> DecodeView(std::string_view bytes);

}  // namespace ringkv::gossip_protocol

// ZmtpConn: ZMTP 3.x framing, NULL handshake and heartbeat replies on top of StreamConn (see
// zmtp_conn.h). Wire format: RFC 23 (ZMTP 3.0) and RFC 37 (ZMTP 3.1) at rfc.zeromq.org.
#include "common/net/zmtp_conn.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>

namespace ringkv::net {

namespace {

constexpr size_t kGreetingBytes = 64;
constexpr size_t kMechanismOffset = 12;
constexpr size_t kMechanismBytes = 20;
constexpr uint8_t kMinMajorVersion = 3;

// Frame flags (RFC 23 "Framing"); the other bits are reserved and, as libzmq does, ignored.
constexpr uint8_t kMore = 0x01;
constexpr uint8_t kLong = 0x02;
constexpr uint8_t kCommand = 0x04;
constexpr size_t kMaxShortSize = 255;
constexpr size_t kMaxPingContext = 16;

// Ours: signature, version 3.1, mechanism "NULL", as-server 0, filler. The padding carries what
// libzmq puts there (a big-endian 1: an empty identity in ZMTP 1.0 terms), so that a peer that
// only ever met libzmq finds nothing new; RFC 23 gives the padding no meaning.
constexpr unsigned char kGreeting[kGreetingBytes] = {
    0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1, 'N', 'U', 'L', 'L'};

const char* TypeName(ZmtpConn::Type t) {
  return t == ZmtpConn::Type::kRouter ? "ROUTER" : "DEALER";
}

// RFC 28's table, for the two types this side can be.
bool CanTalkTo(ZmtpConn::Type t, std::string_view peer) {
  if (t == ZmtpConn::Type::kRouter) return peer == "REQ" || peer == "DEALER" || peer == "ROUTER";
  return peer == "REP" || peer == "DEALER" || peer == "ROUTER";
}

uint64_t BigEndian(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

void PutBigEndian(uint64_t v, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
}

size_t FrameHeaderBytes(size_t body) { return body > kMaxShortSize ? 9 : 2; }

// Short frames (1-byte size) up to 255 bytes, as the RFC asks; long (8-byte size) beyond.
void AppendFrame(std::string* out, uint8_t flags, std::string_view body) {
  char header[9];
  size_t n = 2;
  if (body.size() > kMaxShortSize) {
    header[0] = static_cast<char>(flags | kLong);
    PutBigEndian(body.size(), 8, header + 1);
    n = 9;
  } else {
    header[0] = static_cast<char>(flags);
    header[1] = static_cast<char>(body.size());
  }
  out->append(header, n);
  out->append(body.data(), body.size());
}

// A command frame: name length, name, then `parts` back to back.
void AppendCommand(std::string* out, std::string_view name,
                   std::initializer_list<std::string_view> parts) {
  size_t size = 1 + name.size();
  for (auto p : parts) size += p.size();
  char header[9];
  size_t n = 2;
  if (size > kMaxShortSize) {
    header[0] = static_cast<char>(kCommand | kLong);
    PutBigEndian(size, 8, header + 1);
    n = 9;
  } else {
    header[0] = static_cast<char>(kCommand);
    header[1] = static_cast<char>(size);
  }
  out->append(header, n);
  out->push_back(static_cast<char>(name.size()));
  out->append(name.data(), name.size());
  for (auto p : parts) out->append(p.data(), p.size());
}

// One READY property: name length, name, 4-byte big-endian value length, value.
std::string Property(std::string_view name, std::string_view value) {
  std::string p(1, static_cast<char>(name.size()));
  p.append(name);
  char len[4];
  PutBigEndian(value.size(), 4, len);
  p.append(len, 4);
  p.append(value);
  return p;
}

struct FrameHeader {
  uint8_t flags = 0;
  size_t bytes = 0;   // of the header itself
  uint64_t size = 0;  // of the body, as the peer announced it
};

// False while the header is not all there.
bool DecodeFrameHeader(const unsigned char* p, size_t avail, FrameHeader* h) {
  if (avail < 2) return false;
  h->flags = p[0];
  if (h->flags & kLong) {
    if (avail < 9) return false;
    h->bytes = 9;
    h->size = BigEndian(p + 1, 8);
  } else {
    h->bytes = 2;
    h->size = p[1];
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Peer-supplied text made safe for a log line.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  return out;
}

}  // namespace

ZmtpConn::ZmtpConn(int fd, bool connecting, Type type, Limits limits)
    : stream_(fd, connecting), type_(type), limits_(limits) {
  limits_.max_frames = std::max<size_t>(limits_.max_frames, 1);
  spans_.reserve(std::min<size_t>(limits_.max_frames, 64));
  msg_.frames.reserve(spans_.capacity());
  // The greeting goes out whole and at once: a libzmq peer waits for our version byte before
  // it sends the rest of its own.
  stream_.out().append(reinterpret_cast<const char*>(kGreeting), kGreetingBytes);
  if (!connecting) (void)stream_.Flush();  // an error shows again on the caller's Flush or Read
}

ZmtpConn::~ZmtpConn() = default;

Status ZmtpConn::FinishConnect() {
  const bool was_connecting = stream_.connecting();
  RINGKV_RETURN_IF_ERROR(stream_.FinishConnect());
  return was_connecting ? stream_.Flush() : Status::OK();
}

bool ZmtpConn::Queue(const std::vector<std::string_view>& frames) {
  if (frames.empty()) return false;
  size_t bytes = 0;
  for (auto f : frames) {
    if (f.size() > limits_.max_frame_bytes) return false;
    bytes += FrameHeaderBytes(f.size()) + f.size();
  }
  if (unsent_bytes() + bytes > limits_.max_out_bytes) return false;
  std::string& out = ready_ ? stream_.out() : held_;
  for (size_t i = 0; i + 1 < frames.size(); ++i) AppendFrame(&out, kMore, frames[i]);
  AppendFrame(&out, 0, frames.back());
  return true;
}

Status ZmtpConn::Flush() { return stream_.Flush(); }

Status ZmtpConn::Read(const std::function<void(const Message&)>& on_message, size_t max_bytes) {
  const Status received = stream_.Fill(max_bytes, want_);
  Status parsed = ParseGreeting();
  if (parsed.ok() && phase_ != Phase::kGreeting) parsed = ParseFrames(on_message);
  stream_.Settle();
  return parsed.ok() ? received : parsed;
}

Status ZmtpConn::ParseGreeting() {
  if (phase_ != Phase::kGreeting) return Status::OK();
  const auto* p = reinterpret_cast<const unsigned char*>(stream_.in_data());
  const size_t n = std::min(stream_.in_size(), kGreetingBytes);
  // Each check as soon as its byte is there: older peers send fewer than 64 bytes and wait.
  if (n >= 1 && p[0] != 0xFF) {
    return Status::InvalidArgument("not a ZMTP 3 peer (first byte " + std::to_string(p[0]) +
                                   "): another protocol, or ZMTP 1.0 (libzmq 2.x)");
  }
  if (n >= 10 && p[9] != 0x7F) {
    return Status::InvalidArgument("not a ZMTP 3 peer (no 0x7F ending the signature): ZMTP 1.0 "
                                   "(libzmq 2.x) or another protocol");
  }
  if (n >= 11 && p[10] < kMinMajorVersion) {
    return Status::InvalidArgument("peer speaks ZMTP major version " + std::to_string(p[10]) +
                                   " (libzmq 3.x or older); 3 or later is needed");
  }
  if (n < kGreetingBytes) {
    want_ = kGreetingBytes - n;
    return Status::OK();
  }
  static constexpr char kNull[kMechanismBytes] = {'N', 'U', 'L', 'L'};
  const char* mechanism = stream_.in_data() + kMechanismOffset;
  if (std::memcmp(mechanism, kNull, kMechanismBytes) != 0) {
    const std::string_view name(mechanism, strnlen(mechanism, kMechanismBytes));
    return Refuse("security mechanism " + Printable(name) + " is not supported (NULL only)");
  }
  stream_.Consume(kGreetingBytes);
  AppendCommand(&stream_.out(), "READY",
                {Property("Socket-Type", TypeName(type_)), Property("Identity", "")});
  phase_ = Phase::kHandshake;
  want_ = 0;
  return Status::OK();
}

Status ZmtpConn::ParseFrames(const std::function<void(const Message&)>& on_message) {
  want_ = 0;
  while (DropRest(on_message)) {
    const size_t avail = stream_.in_size() - scan_;
    const auto* p = reinterpret_cast<const unsigned char*>(stream_.in_data()) + scan_;
    FrameHeader h;
    if (!DecodeFrameHeader(p, avail, &h)) break;
    // Before anything of the body is awaited: a hostile size must not make us buffer it.
    if (h.size > limits_.max_frame_bytes) {
      return Status::InvalidArgument("frame of " + std::to_string(h.size) + " bytes exceeds " +
                                     std::to_string(limits_.max_frame_bytes));
    }
    const size_t total = h.bytes + static_cast<size_t>(h.size);
    if (h.flags & kCommand) {
      if (!spans_.empty()) return Status::InvalidArgument("command frame inside a message");
      if (avail < total) {
        want_ = total - avail;
        break;
      }
      RINGKV_RETURN_IF_ERROR(
          OnCommand(std::string_view(reinterpret_cast<const char*>(p) + h.bytes, h.size)));
      stream_.Consume(total);
    } else if (phase_ != Phase::kTraffic) {
      return Status::InvalidArgument("message frame before the peer's READY");
    } else if (!TakeMessageFrame(h.bytes, total, (h.flags & kMore) == 0, on_message)) {
      break;
    }
  }
  return Status::OK();
}

bool ZmtpConn::TakeMessageFrame(size_t header_bytes, size_t total, bool last,
                                const std::function<void(const Message&)>& on_message) {
  const size_t avail = stream_.in_size() - scan_;
  if (spans_.size() >= limits_.max_frames) {
    // Cut out of the buffer as it arrives, so that a flood of frames costs no memory.
    truncated_ = true;
    const size_t have = std::min(total, avail);
    stream_.Erase(scan_, have);
    drop_left_ = total - have;
    drop_ends_message_ = last;
    return true;  // DropRest goes on from here
  }
  if (avail < total) {
    want_ = total - avail;
    return false;
  }
  spans_.push_back(Span{scan_ + header_bytes, total - header_bytes});
  scan_ += total;
  if (last) Deliver(on_message);
  return true;
}

bool ZmtpConn::DropRest(const std::function<void(const Message&)>& on_message) {
  if (drop_left_ > 0) {
    const size_t n = std::min(drop_left_, stream_.in_size() - scan_);
    stream_.Erase(scan_, n);
    drop_left_ -= n;
    if (drop_left_ > 0) return false;
  }
  if (drop_ends_message_) Deliver(on_message);
  return true;
}

void ZmtpConn::Deliver(const std::function<void(const Message&)>& on_message) {
  const char* base = stream_.in_data();
  msg_.frames.clear();
  for (const Span& s : spans_) msg_.frames.emplace_back(base + s.offset, s.size);
  msg_.truncated = truncated_;
  on_message(msg_);
  stream_.Consume(scan_);
  spans_.clear();
  scan_ = 0;
  truncated_ = false;
  drop_ends_message_ = false;
}

Status ZmtpConn::OnCommand(std::string_view body) {
  const size_t name_len = body.empty() ? 0 : static_cast<uint8_t>(body[0]);
  if (body.empty() || 1 + name_len > body.size()) {
    return Status::InvalidArgument("malformed command (name longer than the frame)");
  }
  const std::string_view name = body.substr(1, name_len);
  const std::string_view data = body.substr(1 + name_len);
  if (name == "ERROR") {
    const size_t reason_len = data.empty() ? 0 : static_cast<uint8_t>(data[0]);
    return Status::InvalidArgument("peer sent ERROR: " +
                                   Printable(data.substr(data.empty() ? 0 : 1, reason_len)));
  }
  if (phase_ == Phase::kHandshake) {
    if (name != "READY") {
      return Status::InvalidArgument("expected READY, got command '" + Printable(name) + "'");
    }
    return OnReady(data);
  }
  if (name == "PING") return OnPing(data);
  return Status::OK();  // PONG (we send no PING), READY again, others: nothing to do
}

Status ZmtpConn::OnReady(std::string_view props) {
  bool have_type = false;
  while (!props.empty()) {
    const size_t name_len = static_cast<uint8_t>(props[0]);
    if (name_len == 0 || props.size() < 1 + name_len + 4) {
      return Status::InvalidArgument("malformed READY property");
    }
    const std::string_view name = props.substr(1, name_len);
    const uint64_t value_len =
        BigEndian(reinterpret_cast<const unsigned char*>(props.data()) + 1 + name_len, 4);
    props.remove_prefix(1 + name_len + 4);
    if (value_len > props.size()) return Status::InvalidArgument("malformed READY property");
    if (EqualsIgnoreCase(name, "Socket-Type")) {
      peer_type_.assign(props.data(), value_len);
      have_type = true;
    }
    props.remove_prefix(value_len);
  }
  if (!have_type) return Refuse("READY names no Socket-Type");
  if (!CanTalkTo(type_, peer_type_)) {
    return Refuse(std::string("socket type ") + Printable(peer_type_) + " cannot talk to a " +
                  TypeName(type_));
  }
  phase_ = Phase::kTraffic;
  ready_ = true;
  stream_.out().append(held_);
  std::string().swap(held_);  // once per connection: its memory is not kept
  return Status::OK();
}

Status ZmtpConn::OnPing(std::string_view data) {
  if (data.size() < 2) return Status::InvalidArgument("malformed PING (no TTL)");
  // The TTL asks us to drop a silent peer; the caller's own timeouts do that.
  const std::string_view context = data.substr(2, kMaxPingContext);
  // A peer that does not read gets no PONG past the output bound: it is not listening anyway.
  if (stream_.unsent_bytes() + 7 + context.size() <= limits_.max_out_bytes) {
    AppendCommand(&stream_.out(), "PONG", {context});
  }
  return Status::OK();
}

Status ZmtpConn::Refuse(const std::string& why) {
  // RFC 37: a peer refused in the handshake should learn why before the connection closes.
  AppendCommand(&stream_.out(), "ERROR",
                {std::string(1, static_cast<char>(std::min(why.size(), kMaxShortSize))),
                 std::string_view(why).substr(0, kMaxShortSize)});
  (void)stream_.Flush();  // best effort: the caller closes the connection next
  return Status::InvalidArgument(why);
}

}  // namespace ringkv::net

// Fuzz target: what a client endpoint's peer can send on a ZMTP connection (common/net/
// zmtp_conn.h): greeting, handshake commands, PING, frames of any length and flags, in any
// chunking. Input: one byte of flags (bit 0: this side is a DEALER instead of a ROUTER; bit 1:
// small limits, to reach the max_frames and max_frame_bytes paths), one byte of chunk size
// (0: all at once), then the byte stream. Every message handed out must lie inside the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/net/zmtp_conn.h"
#include "fuzz/net_fuzz_util.h"

using namespace ringkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (64u << 10)) return 0;
  const uint8_t flags = data[0];
  ++data;
  --size;
  const size_t chunk = fuzz::ChunkBytes(&data, &size);
  net::ZmtpConn::Limits limits;
  if (flags & 2) {
    limits.max_frame_bytes = 300;
    limits.max_frames = 3;
    limits.max_out_bytes = 4096;
  }
  fuzz::SocketPair sp;
  net::ZmtpConn conn(sp.conn, false,
                     (flags & 1) ? net::ZmtpConn::Type::kDealer : net::ZmtpConn::Type::kRouter,
                     limits);
  auto on_message = [&](const net::ZmtpConn::Message& m) {
    if (m.frames.empty() || m.frames.size() > limits.max_frames) std::abort();
    for (std::string_view f : m.frames) {
      if (f.size() > limits.max_frame_bytes) std::abort();
    }
    // An echo, as the endpoint answers: Queue must refuse or accept, never break the stream.
    (void)conn.Queue(m.frames);
  };
  fuzz::FeedAndRead(sp, conn, std::string_view(reinterpret_cast<const char*>(data), size), chunk,
                    [&] { return conn.Read(on_message, 512); });
  return 0;
}

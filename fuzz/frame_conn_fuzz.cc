// Fuzz target: what a coordinator can send on the storage agent's direct transport
// (common/net/frame_conn.h): length-prefixed frames of any length in any chunking, each frame
// then decoded as a storage request (common/protocol/storage_protocol.h) as the agent does.
// Input: one byte of chunk size (0: all at once), then the byte stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/net/frame_conn.h"
#include "common/protocol/storage_protocol.h"
#include "fuzz/net_fuzz_util.h"

using namespace ringkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (64u << 10)) return 0;
  const size_t chunk = fuzz::ChunkBytes(&data, &size);
  net::FrameConn::Limits limits;
  limits.max_frame_bytes = 8192;  // small enough that the fuzzer reaches it
  fuzz::SocketPair sp;
  net::FrameConn conn(sp.conn, false, limits);
  auto on_frame = [&](std::string_view body) {
    if (body.size() > limits.max_frame_bytes) std::abort();
    uint64_t rid = 0;
    std::string code;
    auto req = storage_protocol::DecodeRequest(body, &rid, &code);
    if (!req.ok()) {
      (void)conn.Queue(storage_protocol::EncodeReply(
          storage_protocol::ErrorReply(rid, code, req.status().message())));
    }
  };
  fuzz::FeedAndRead(sp, conn, std::string_view(reinterpret_cast<const char*>(data), size), chunk,
                    [&] { return conn.Read(on_frame, 512); });
  return 0;
}

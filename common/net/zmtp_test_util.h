// ZMTP 3.x bytes as a raw peer writes them (RFC 23): greeting, frames, commands, READY
// properties, whole messages. For tests and the fuzz seeds (fuzz/seeds.cc) that play the peer
// of a ZmtpConn byte by byte; not used by the programs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net::zmtp_wire {

inline constexpr uint8_t kMore = 0x01, kLong = 0x02, kCommand = 0x04;

// The 64-byte greeting: signature (with `padding` + i in its 8 padding bytes), version,
// mechanism, as-server 0, filler.
inline std::string Greeting(uint8_t major, uint8_t minor, std::string_view mechanism,
                            char padding = 0) {
  std::string g(64, '\0');
  g[0] = '\xFF';
  for (int i = 1; i <= 8; ++i) g[i] = static_cast<char>(padding + i);
  g[9] = 0x7F;
  g[10] = static_cast<char>(major);
  g[11] = static_cast<char>(minor);
  g.replace(12, mechanism.size(), mechanism);
  return g;
}

// One frame; a long (8-byte size) one past 255 bytes or when forced.
inline std::string Frame(uint8_t flags, std::string_view body, bool force_long = false) {
  std::string f(1, static_cast<char>(flags));
  if (body.size() > 255 || force_long) {
    f[0] = static_cast<char>(flags | kLong);
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(uint64_t{body.size()} >> (8 * i)));
  } else {
    f.push_back(static_cast<char>(body.size()));
  }
  return f.append(body);
}

inline std::string Command(std::string_view name, std::string_view data) {
  std::string body(1, static_cast<char>(name.size()));
  body.append(name).append(data);
  return Frame(kCommand, body);
}

// One metadata property of READY: name size, name, 4-byte value size, value.
inline std::string Prop(std::string_view name, std::string_view value) {
  std::string p(1, static_cast<char>(name.size()));
  p.append(name);
  for (int i = 3; i >= 0; --i) p.push_back(static_cast<char>(value.size() >> (8 * i)));
  return p.append(value);
}

inline std::string Ready(std::string_view socket_type) {
  return Command("READY", Prop("Socket-Type", socket_type) + Prop("Identity", ""));
}

// A whole message: MORE on all frames but the last.
inline std::string Message(const std::vector<std::string>& frames) {
  std::string out;
  for (size_t i = 0; i < frames.size(); ++i) {
    out += Frame(i + 1 < frames.size() ? kMore : 0, frames[i]);
  }
  return out;
}

}  // namespace ringkv::net::zmtp_wire

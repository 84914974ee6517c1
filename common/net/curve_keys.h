// CURVE key pairs and key files (ZeroMQ's CurveZMQ, docs/security.md): generating a pair,
// writing and reading the Z85 text files `ringkv keygen` makes, and reading an authorized-keys
// file or directory (the client and peer public keys a secured agent accepts).
//
// File format (czmq's zcert files read the same way: quotes are optional):
//     # comment
//     public-key = "<40 Z85 characters>"
//     secret-key = "<40 Z85 characters>"     (only in the secret file, mode 0600)
// An authorized-keys file holds one public key per line, bare or as `public-key = ...`; a
// directory is read as every regular file in it (so a folder of .pub files works).
#pragma once

#include <set>
#include <string>

#include "common/status.h"

namespace ringkv::net {

// A CURVE key pair as Z85 text (40 characters each). secret_key is empty for a public key only.
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

// True when this libzmq was built with CURVE (libsodium); Debian's is.
bool CurveAvailable();

// True when `z85` is 40 characters that decode to a 32-byte key.
bool IsZ85Key(const std::string& z85);

// A new random key pair.
Result<CurveKeyPair> GenerateCurveKeyPair();

// Writes `base`.key (public + secret, mode 0600, created exclusively: an existing file is an
// error, never overwritten) and `base`.pub (public only, mode 0644).
Status WriteCurveKeyFiles(const std::string& base, const CurveKeyPair& pair);

// Reads a key file. need_secret: the file must hold a secret key whose public key matches the
// one written (or is derived from it when none is written), and must not be readable by group
// or others (like ssh's private keys). Errors name the file and the line.
Result<CurveKeyPair> ReadCurveKeyFile(const std::string& path, bool need_secret);

// Reads the public keys of an authorized-keys file or directory. An empty set is not an error.
Result<std::set<std::string>> ReadAuthorizedKeys(const std::string& path);

}  // namespace ringkv::net

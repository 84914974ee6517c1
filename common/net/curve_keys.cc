// CURVE key pairs and key files (see curve_keys.h).
#include "common/net/curve_keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

namespace ringkv::net {

namespace {

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// `name = value` with optional quotes around value; false when the line is not of that shape.
bool SplitAssignment(const std::string& line, std::string* name, std::string* value) {
  const auto eq = line.find('=');
  if (eq == std::string::npos) return false;
  *name = Trim(line.substr(0, eq));
  std::string v = Trim(line.substr(eq + 1));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  *value = v;
  return true;
}

Result<std::vector<std::string>> ReadLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::FromErrno("open " + path, errno);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (lines.size() > 100000) return Status::InvalidArgument(path + ": too many lines");
    lines.push_back(Trim(line));
  }
  return lines;
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno("create " + path, errno);
  // The umask may have narrowed the mode; the secret file's must be exactly 0600.
  Status s = fchmod(fd, mode) == 0 ? Status::OK() : Status::FromErrno("chmod " + path, errno);
  size_t done = 0;
  while (s.ok() && done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = Status::FromErrno("write " + path, errno);
    else done += static_cast<size_t>(n);
  }
  if (s.ok() && fsync(fd) != 0) s = Status::FromErrno("fsync " + path, errno);
  close(fd);
  return s;
}

}  // namespace

bool CurveAvailable() { return zmq_has("curve") != 0; }

bool IsZ85Key(const std::string& z85) {
  if (z85.size() != 40) return false;
  uint8_t raw[32];
  return zmq_z85_decode(raw, z85.c_str()) != nullptr;
}

Result<CurveKeyPair> GenerateCurveKeyPair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::Unavailable("this libzmq cannot make CURVE keys (built without libsodium)");
  }
  return CurveKeyPair{pub, sec};
}

Status WriteCurveKeyFiles(const std::string& base, const CurveKeyPair& pair) {
  const std::string head =
      "# ringkv CURVE key pair (ZeroMQ CurveZMQ, Z85 text), written by `ringkv keygen`.\n";
  RINGKV_RETURN_IF_ERROR(WriteFile(base + ".key",
                                   head + "# SECRET: keep this file private (mode 0600).\n" +
                                       "public-key = \"" + pair.public_key + "\"\n" +
                                       "secret-key = \"" + pair.secret_key + "\"\n",
                                   0600));
  return WriteFile(base + ".pub",
                   head + "# Public half only: give it to the agents or clients that accept "
                          "this key.\npublic-key = \"" + pair.public_key + "\"\n",
                   0644);
}

Result<CurveKeyPair> ReadCurveKeyFile(const std::string& path, bool need_secret) {
  if (need_secret) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return Status::FromErrno("stat " + path, errno);
    if ((st.st_mode & 077) != 0) {
      return Status::InvalidArgument(path + ": a secret key file must not be readable by group "
                                            "or others (chmod 600 " + path + ")");
    }
  }
  auto lines = ReadLines(path);
  if (!lines.ok()) return lines.status();
  CurveKeyPair pair;
  for (size_t i = 0; i < lines->size(); ++i) {
    const std::string& line = (*lines)[i];
    if (line.empty() || line[0] == '#' || line[0] == '[' || line == "curve") continue;
    std::string name, value;
    const std::string where = path + " line " + std::to_string(i + 1);
    if (!SplitAssignment(line, &name, &value)) continue;  // zcert metadata and the like
    if (name != "public-key" && name != "secret-key") continue;
    if (!IsZ85Key(value)) return Status::InvalidArgument(where + ": " + name + " is not a Z85 key");
    (name == "public-key" ? pair.public_key : pair.secret_key) = value;
  }
  if (need_secret) {
    if (pair.secret_key.empty()) return Status::InvalidArgument(path + ": no secret-key");
    char derived[41];
    if (zmq_curve_public(derived, pair.secret_key.c_str()) != 0) {
      return Status::InvalidArgument(path + ": cannot derive the public key (libzmq without "
                                            "CURVE?)");
    }
    if (pair.public_key.empty()) pair.public_key = derived;
    if (pair.public_key != derived) {
      return Status::InvalidArgument(path + ": public-key does not belong to secret-key");
    }
  } else if (pair.public_key.empty()) {
    return Status::InvalidArgument(path + ": no public-key");
  }
  return pair;
}

Result<std::set<std::string>> ReadAuthorizedKeys(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Status::FromErrno("stat " + path, errno);
  std::vector<std::string> files;
  if (S_ISDIR(st.st_mode)) {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return Status::FromErrno("opendir " + path, errno);
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.empty() || name[0] == '.') continue;
      struct stat fst;
      const std::string full = path + "/" + name;
      if (stat(full.c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) files.push_back(full);
    }
    closedir(d);
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::set<std::string> keys;
  for (const std::string& f : files) {
    auto lines = ReadLines(f);
    if (!lines.ok()) return lines.status();
    for (size_t i = 0; i < lines->size(); ++i) {
      const std::string& line = (*lines)[i];
      // A bare key may begin with '#' (a Z85 character): a line that is a key is a key.
      if (IsZ85Key(line)) {
        keys.insert(line);
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      std::string name, value;
      if (SplitAssignment(line, &name, &value) && name == "secret-key") continue;
      if (!SplitAssignment(line, &name, &value) || name != "public-key" || !IsZ85Key(value)) {
        return Status::InvalidArgument(f + " line " + std::to_string(i + 1) +
                                       ": not a Z85 public key (or `public-key = KEY`)");
      }
      keys.insert(value);
    }
  }
  return keys;
}

}  // namespace ringkv::net

#include "crypto/nodekey.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <system_error>

#include "crypto/address.h"
#include "util/files.h"

namespace cc::crypto {
namespace fs = std::filesystem;

namespace {
constexpr const char* kFixHint =
    "restore it with `corecell key restore` or create a new one with `corecell keygen`";

std::string octal_mode(mode_t m) { return fmt::format("{:04o}", static_cast<unsigned>(m & 07777)); }

// A path "exists" for lookup purposes even if it is a dangling symlink: the operator put
// something there and must hear about it rather than have us silently look elsewhere.
bool path_present(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() != fs::file_type::not_found && !ec;
}
}  // namespace

NodeIdentity identity_of(const PrivateKey& key) {
  PublicKey pub = public_key_of(key);
  return NodeIdentity{key, pub, address_of(pub)};
}

Result<PrivateKey> parse_nodekey(std::string_view text, const std::string& source) {
  // Tolerate exactly one trailing newline (editors add one); nothing else.
  if (text.size() >= 2 && text.substr(text.size() - 2) == "\r\n") {
    text.remove_suffix(2);
  } else if (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    return make_error("nodekey.prefix",
                      source +
                          ": the nodekey starts with 0x; Kaia nodekey files hold exactly 64 hex "
                          "characters without 0x and without newline: remove the 0x prefix");
  }
  if (text.size() != 64) {
    return make_error("nodekey.length",
                      source + ": a nodekey file holds exactly 64 hex characters, this one has " +
                          std::to_string(text.size()) + " characters; " + kFixHint);
  }
  auto bytes = fixed_from_hex<32>(text);
  if (!bytes.ok()) {
    return make_error("nodekey.not_hex", source + ": the nodekey is not hex (" +
                                             bytes.error().message + "); " + kFixHint);
  }
  auto key = PrivateKey::from_bytes(*bytes);
  if (!key.ok()) {
    return make_error("nodekey.invalid", source +
                                             ": the nodekey is not a valid secp256k1 secret (" +
                                             key.error().message + "); " + kFixHint);
  }
  return std::move(key).value();
}

Result<NodeIdentity> load_nodekey_file(const fs::path& path) {
  const std::string where = path.string();
  if (!path_present(path)) {
    return make_error("nodekey.missing",
                      where +
                          " does not exist; create a nodekey with `corecell keygen --out DIR` "
                          "or restore a backup with `corecell key restore`");
  }
  auto mode = file_mode(path);
  if (!mode.ok()) return mode.error().context("nodekey " + where);
  // The nodekey is the validator's identity: nobody but the owner may read or replace it.
  if ((*mode & 0077) != 0) {
    return make_error("nodekey.mode", where + " has mode " + octal_mode(*mode) +
                                          ", so group or others can access the node's private "
                                          "key; run: chmod 600 " +
                                          where);
  }
  // A real nodekey is 64..66 bytes; anything much larger is the wrong file.
  auto text = read_file(path, 4096);
  if (!text.ok()) return text.error().context("nodekey " + where);
  CC_TRY_ASSIGN(PrivateKey key, parse_nodekey(*text, where));
  return identity_of(key);
}

Status save_nodekey_file(const fs::path& path, const PrivateKey& key) {
  auto st = atomic_write_file(path, to_hex(key.bytes()), 0600);
  if (!st.ok()) return st.error().context("writing nodekey " + path.string());
  return ok_status();
}

fs::path nodekey_path_in(const fs::path& data_dir) {
  fs::path legacy = data_dir / "nodekey";
  if (path_present(legacy)) return legacy;
  return data_dir / "klay" / "nodekey";
}

Result<NodeIdentity> load_datadir_nodekey(const fs::path& data_dir) {
  fs::path legacy = data_dir / "nodekey";
  fs::path current = data_dir / "klay" / "nodekey";
  if (!path_present(legacy) && !path_present(current)) {
    // Never generate one here: a fresh identity on a CN during failover is the trap Kaia's kcn
    // falls into (it joins as an unknown validator and the real one stays down).
    return make_error("nodekey.missing",
                      "no nodekey in data directory " + data_dir.string() + " (looked at " +
                          current.string() + " and the legacy " + legacy.string() +
                          "); restore the node's key with `corecell key restore --out " +
                          current.string() +
                          " ...` or create a new one with `corecell keygen --out " +
                          (data_dir / "klay").string() + "`");
  }
  return load_nodekey_file(nodekey_path_in(data_dir));
}

}  // namespace cc::crypto

// cli/keygen_cmd.cpp — `corecell keygen` (a nodekey + node_info.json, like Kaia's kgen) and
// `corecell key backup|restore|inspect|show` (encrypted nodekey backups). Passphrases are read
// only from files (never argv, which other users can see in ps); the secret is never printed.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/app.h"
#include "cli/common.h"
#include "crypto/address.h"
#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "p2p/kni.h"
#include "util/files.h"

namespace cc::cli {
namespace {
namespace fs = std::filesystem;

// A backup file is ~400 bytes; crypto/keystore.cpp refuses one over 64 KiB as well.
constexpr std::size_t kMaxBackupFileBytes = std::size_t{64} * 1024;

bool path_present(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() != fs::file_type::not_found && !ec;
}

// Creates the parent directory of a file we are about to write (0700 for new directories).
void ensure_parent(const fs::path& file) {
  fs::path parent = file.parent_path();
  if (!parent.empty()) or_fail(ensure_dir(parent));
}

crypto::KdfParams kdf_by_name(const std::string& name) {
  if (name == "interactive") return crypto::KdfParams::interactive();
  if (name == "sensitive") return crypto::KdfParams::sensitive();
  return crypto::KdfParams::moderate();
}

// ---- keygen ----
struct KeygenOptions {
  std::string out;
  std::string ip = "0.0.0.0";
  std::uint16_t port = 32323;
  std::string ntype;
  bool force = false;
};

void run_keygen(const KeygenOptions& o) {
  fs::path dir(o.out);
  fs::path key_path = dir / "nodekey";
  fs::path info_path = dir / "node_info.json";
  if (path_present(key_path) && !o.force) {
    fail(key_path.string() +
         " already exists and may be a node's identity; back it up (corecell key backup) and pass "
         "--force to replace it, or choose another --out directory");
  }
  auto key = crypto::PrivateKey::generate();
  auto id = crypto::identity_of(key);
  p2p::KniUrl url{id.node_id, o.ip, o.port, 0, 0, o.ntype};  // discport=0: no discovery, like kgen
  auto checked = p2p::KniUrl::parse(url.to_string());
  if (!checked.ok()) fail("--ip " + o.ip + ": " + checked.error().message);

  or_fail(ensure_dir(dir));
  or_fail(crypto::save_nodekey_file(key_path, key));
  nlohmann::json info = {{"NodeAddress", crypto::to_checksum_hex(id.address)},
                         {"NodeKey", to_hex(key.bytes())},
                         {"NodeURI", url.to_string()}};
  // It contains the secret too, so it gets the nodekey's mode.
  or_fail(atomic_write_file(info_path, info.dump(2) + "\n", 0600));
  std::printf("nodekey:     %s\nnode info:   %s\nNodeAddress: %s\nNodeURI:     %s\n",
              key_path.c_str(), info_path.c_str(), crypto::to_checksum_hex(id.address).c_str(),
              url.to_string().c_str());
}

void add_keygen(CLI::App& app) {
  auto o = std::make_shared<KeygenOptions>();
  auto* cmd = app.add_subcommand(
      "keygen",
      "Create a new nodekey (the node's secp256k1 identity) like Kaia's kgen: writes DIR/nodekey "
      "(64 hex chars, mode 0600) and DIR/node_info.json (NodeAddress, NodeKey, NodeURI; mode "
      "0600). Refuses to replace an existing nodekey unless --force.");
  cmd->add_option("--out", o->out, "Directory to write nodekey and node_info.json into")
      ->required();
  cmd->add_option("--ip", o->ip, "IPv4 address or host name other nodes dial (for NodeURI)")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "P2P TCP port (for NodeURI)")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--ntype", o->ntype, "Node type recorded in NodeURI")
      ->check(CLI::IsMember({"cn", "pn", "en", "bn"}));
  cmd->add_flag("--force", o->force, "Replace an existing DIR/nodekey (the old identity is lost)");
  cmd->callback([o] { run_keygen(*o); });
}

// ---- key backup ----
struct BackupOptions {
  std::string nodekey, passphrase_file, out, kdf = "moderate";
  bool force = false;
};

void run_backup(const BackupOptions& o) {
  if (path_present(o.out) && !o.force) {
    fail(o.out + " already exists; pass --force to replace it, or choose another --out");
  }
  auto id = or_fail(crypto::load_nodekey_file(o.nodekey));
  auto passphrase = or_fail(crypto::read_passphrase_file(o.passphrase_file));
  auto text = or_fail(crypto::encrypt_backup(id.key, passphrase, kdf_by_name(o.kdf)));
  // Prove the backup opens with this passphrase before anyone relies on it.
  auto check = or_fail(crypto::decrypt_backup(text, passphrase, o.out));
  if (check.bytes() != id.key.bytes()) fail("internal error: the backup did not round-trip");
  ensure_parent(o.out);
  or_fail(atomic_write_file(o.out, text, 0600));
  std::printf("backup of %s written to %s\n", crypto::to_checksum_hex(id.address).c_str(),
              o.out.c_str());
}

// ---- key restore ----
struct RestoreOptions {
  std::string in, passphrase_file, out, expect_address;
  bool force = false;
};

void run_restore(const RestoreOptions& o) {
  if (path_present(o.out) && !o.force) {
    fail(o.out +
         " already exists and may be this node's current identity; pass --force to replace it");
  }
  std::optional<Address> expected;
  if (!o.expect_address.empty()) {
    auto a = crypto::parse_address(o.expect_address);
    if (!a.ok()) fail("--expect-address: " + a.error().message);
    expected = *a;
  }
  auto passphrase = or_fail(crypto::read_passphrase_file(o.passphrase_file));
  auto text = read_file(o.in, kMaxBackupFileBytes);
  if (!text.ok()) fail(text.error().context("backup"));
  auto key = or_fail(crypto::decrypt_backup(*text, passphrase, o.in));
  Address got = crypto::address_of(key);
  if (expected && *expected != got) {
    fail(o.in + " holds the key of " + crypto::to_checksum_hex(got) + ", not the expected " +
         crypto::to_checksum_hex(*expected) + "; nothing was written (wrong backup file?)");
  }
  ensure_parent(o.out);
  or_fail(crypto::save_nodekey_file(o.out, key));
  std::printf("restored the nodekey of %s to %s (mode 0600)\n",
              crypto::to_checksum_hex(got).c_str(), o.out.c_str());
  fs::path bls = fs::path(o.out).parent_path() / "bls-nodekey";
  if (path_present(bls)) {
    std::fprintf(stderr,
                 "corecell: note: %s exists; Kaia derives it from the nodekey, so replace or "
                 "delete it too if a Kaia node uses this directory\n",
                 bls.c_str());
  }
}

// ---- key inspect / show ----
void run_inspect(const std::string& in) {
  auto text = read_file(in, kMaxBackupFileBytes);
  if (!text.ok()) fail(text.error().context("backup"));
  auto info = or_fail(crypto::inspect_backup(*text, in));
  std::printf(
      "file:    %s\nversion: %d\naddress: %s\nkdf:     argon2id opslimit=%llu memlimit=%zu "
      "(%zu MiB)\n",
      in.c_str(), info.version, crypto::to_checksum_hex(info.address).c_str(),
      static_cast<unsigned long long>(info.kdf.opslimit), info.kdf.memlimit,
      info.kdf.memlimit >> 20);
}

void run_show(const std::string& nodekey, const std::string& datadir) {
  fs::path path = datadir.empty() ? fs::path(nodekey) : crypto::nodekey_path_in(datadir);
  auto id = or_fail(datadir.empty() ? crypto::load_nodekey_file(path)
                                    : crypto::load_datadir_nodekey(datadir));
  std::printf("nodekey: %s\nnode_id: %s\naddress: %s\n", path.c_str(), to_hex(id.node_id).c_str(),
              crypto::to_checksum_hex(id.address).c_str());
}

void add_key(CLI::App& app) {
  auto* key = app.add_subcommand(
      "key",
      "Encrypted nodekey backups (backup, restore, inspect) and showing a nodekey's identity");
  key->require_subcommand(1);

  auto b = std::make_shared<BackupOptions>();
  auto* backup = key->add_subcommand(
      "backup",
      "Encrypt a nodekey into a backup file (Argon2id + XChaCha20-Poly1305; the address stays "
      "readable). The passphrase is read from a file, never from the command line.");
  backup->add_option("--nodekey", b->nodekey, "The nodekey file to back up")->required();
  backup
      ->add_option("--passphrase-file", b->passphrase_file,
                   "File holding the passphrase (mode 0600; one trailing newline is ignored)")
      ->required();
  backup->add_option("--out", b->out, "Backup file to write (mode 0600)")->required();
  backup
      ->add_option("--kdf-cost", b->kdf,
                   "Argon2id cost: moderate (256 MiB), sensitive (1 GiB) or interactive (64 MiB, "
                   "for small machines and tests)")
      ->check(CLI::IsMember({"moderate", "sensitive", "interactive"}))
      ->capture_default_str();
  backup->add_flag("--force", b->force, "Replace an existing --out file");
  backup->callback([b] { run_backup(*b); });

  auto r = std::make_shared<RestoreOptions>();
  auto* restore = key->add_subcommand(
      "restore",
      "Decrypt a backup into a nodekey file (mode 0600), e.g. DATA_DIR/klay/nodekey during a "
      "failover. Refuses an existing --out unless --force; writes nothing on any error.");
  restore->add_option("--in", r->in, "Backup file to decrypt")->required();
  restore->add_option("--passphrase-file", r->passphrase_file, "File holding the passphrase (0600)")
      ->required();
  restore->add_option("--out", r->out, "Nodekey file to write")->required();
  restore->add_option("--expect-address", r->expect_address,
                      "Fail unless the backup holds the key of this address");
  restore->add_flag("--force", r->force, "Replace an existing --out file");
  restore->callback([r] { run_restore(*r); });

  auto in = std::make_shared<std::string>();
  auto* inspect = key->add_subcommand(
      "inspect", "Show a backup's format version, address and KDF cost (no passphrase needed)");
  inspect->add_option("--in", *in, "Backup file")->required();
  inspect->callback([in] { run_inspect(*in); });

  auto nodekey = std::make_shared<std::string>();
  auto datadir = std::make_shared<std::string>();
  auto* show = key->add_subcommand(
      "show", "Show the node ID (128 hex) and address of a nodekey; never prints the secret");
  auto* nk = show->add_option("--nodekey", *nodekey, "Nodekey file");
  auto* dd = show->add_option("--datadir", *datadir,
                              "DATA_DIR to look in (DATA_DIR/nodekey, else DATA_DIR/klay/nodekey)");
  nk->excludes(dd);
  show->callback([nodekey, datadir] {
    if (nodekey->empty() && datadir->empty())
      fail("key show: pass --nodekey FILE or --datadir DIR");
    run_show(*nodekey, *datadir);
  });
}

}  // namespace

void add_keygen_commands(CLI::App& app) {
  add_keygen(app);
  add_key(app);
}

}  // namespace cc::cli

// crypto/keystore.h — owns encrypted nodekey backups: libsodium Argon2id (moderate limits) derives
// a key from the passphrase; XChaCha20-Poly1305 seals the secret with the address as associated
// data. The file is JSON with version, kdf parameters, salt, nonce, ciphertext and the address in
// the clear (so an operator can see whose key it is without the passphrase). A wrong passphrase
// or any tampering fails authentication; nothing is written on failure. Parsing is strict (exact
// field set, lower-case hex, EIP-55 address, bounded kdf cost) so a hostile file can neither
// change a field unnoticed nor make us allocate more than kMaxBackupMemlimit.
//
//   {
//     "version": 1,
//     "address": "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F",
//     "kdf": {"algorithm": "argon2id13", "opslimit": 3, "memlimit": 268435456, "salt": "<32 hex>"},
//     "cipher": {"algorithm": "xchacha20poly1305-ietf", "nonce": "<48 hex>",
//                "ciphertext": "<96 hex: 32-byte secret + 16-byte tag>"}
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "crypto/nodekey.h"
#include "util/result.h"

namespace cc::crypto {

// Argon2id cost. Bounds accepted when reading a file: 1 <= opslimit <= kMaxBackupOpslimit,
// 8 KiB <= memlimit <= kMaxBackupMemlimit, memlimit a multiple of 1 KiB (Argon2 counts KiB, so
// any other value would be a second spelling of the same cost).
struct KdfParams {
  std::uint64_t opslimit = 0;
  std::size_t memlimit = 0;

  // libsodium's MODERATE (3 passes, 256 MiB): the default for real backups.
  [[nodiscard]] static KdfParams moderate();
  // libsodium's SENSITIVE (4 passes, 1 GiB).
  [[nodiscard]] static KdfParams sensitive();
  // libsodium's INTERACTIVE (2 passes, 64 MiB): for small machines and tests of the CLI.
  [[nodiscard]] static KdfParams interactive();
  // The minimum libsodium allows (1 pass, 8 KiB): unit tests and fuzzing only.
  [[nodiscard]] static KdfParams minimum_for_tests();

  bool operator==(const KdfParams&) const = default;
};

inline constexpr std::uint64_t kMaxBackupOpslimit = 16;
inline constexpr std::size_t kMaxBackupMemlimit = std::size_t{1} << 30;  // 1 GiB (= SENSITIVE)

struct BackupInfo {
  int version = 0;
  Address address{};
  KdfParams kdf{};
};

// Encrypts key into the backup file text (moderate cost).
[[nodiscard]] Result<std::string> encrypt_backup(const PrivateKey& key,
                                                 const std::string& passphrase);
// Same with an explicit cost (must be within the bounds above).
[[nodiscard]] Result<std::string> encrypt_backup(const PrivateKey& key,
                                                 const std::string& passphrase,
                                                 const KdfParams& kdf);
// Decrypts backup text; errors distinguish malformed file, unsupported version and wrong
// passphrase/tampering. The decrypted key's address must match the one recorded in the file.
[[nodiscard]] Result<PrivateKey> decrypt_backup(const std::string& backup_text,
                                                const std::string& passphrase,
                                                const std::string& source);
// Reads the clear-text part (version, address, kdf cost) without the passphrase; validates the
// whole structure exactly as decrypt_backup does.
[[nodiscard]] Result<BackupInfo> inspect_backup(const std::string& backup_text,
                                                const std::string& source);

// Reads a passphrase file: its content without one trailing newline; empty is an error, and so
// is a file readable by group or others.
[[nodiscard]] Result<std::string> read_passphrase_file(const std::filesystem::path& path);

}  // namespace cc::crypto

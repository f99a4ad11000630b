// crypto/keystore.h — owns encrypted nodekey backups: libsodium Argon2id (moderate limits) derives
// a key from the passphrase; XChaCha20-Poly1305 seals the secret with the address as associated
// data. The file is JSON with version, kdf parameters, salt, nonce, ciphertext and the address in
// the clear (so an operator can see whose key it is without the passphrase). A wrong passphrase
// or any tampering fails authentication; nothing is written on failure.
#pragma once

#include <filesystem>
#include <string>

#include "crypto/nodekey.h"
#include "util/result.h"

namespace cc::crypto {

struct BackupInfo {
  int version = 0;
  Address address{};
};

// Encrypts key into the backup file text.
[[nodiscard]] Result<std::string> encrypt_backup(const PrivateKey& key, const std::string& passphrase);
// Decrypts backup text; errors distinguish malformed file, unsupported version and wrong
// passphrase/tampering. The decrypted key's address must match the one recorded in the file.
[[nodiscard]] Result<PrivateKey> decrypt_backup(const std::string& backup_text,
                                                const std::string& passphrase,
                                                const std::string& source);
// Reads the clear-text part (version, address) without the passphrase.
[[nodiscard]] Result<BackupInfo> inspect_backup(const std::string& backup_text, const std::string& source);

// Reads a passphrase file: its content without one trailing newline; empty is an error, and so
// is a file readable by group or others.
[[nodiscard]] Result<std::string> read_passphrase_file(const std::filesystem::path& path);

}  // namespace cc::crypto

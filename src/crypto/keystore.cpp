#include "crypto/keystore.h"

#include <sodium.h>

#include <fmt/format.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "crypto/address.h"
#include "crypto/detail/sodium_init.h"
#include "util/files.h"

namespace cc::crypto {
namespace {
using json = nlohmann::json;

constexpr int kVersion = 1;
constexpr const char* kKdfAlgorithm = "argon2id13";
constexpr const char* kCipherAlgorithm = "xchacha20poly1305-ietf";
constexpr std::size_t kMaxBackupBytes = std::size_t{64} * 1024;  // a real backup is ~400 bytes
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kCipherBytes = kSecretBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);

struct ParsedBackup {
  int version = 0;
  Address address{};
  KdfParams kdf{};
  FixedBytes<kSaltBytes> salt{};
  FixedBytes<kNonceBytes> nonce{};
  FixedBytes<kCipherBytes> ciphertext{};
};

// Wipes key material when it goes out of scope, whichever way the function returns.
template <std::size_t N>
struct Secret {
  FixedBytes<N> bytes{};
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { sodium_memzero(bytes.data(), bytes.size()); }
};

Status check_kdf(const KdfParams& kdf, const std::string& where) {
  if (kdf.opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf.opslimit > kMaxBackupOpslimit) {
    return make_error("keystore.kdf_bounds", where + ": kdf opslimit " +
                                                 std::to_string(kdf.opslimit) + " is outside " +
                                                 std::to_string(crypto_pwhash_OPSLIMIT_MIN) + ".." +
                                                 std::to_string(kMaxBackupOpslimit));
  }
  if (kdf.memlimit < crypto_pwhash_MEMLIMIT_MIN || kdf.memlimit > kMaxBackupMemlimit ||
      kdf.memlimit % 1024 != 0) {
    return make_error("keystore.kdf_bounds",
                      where + ": kdf memlimit " + std::to_string(kdf.memlimit) +
                          " must be a multiple of 1024 between " +
                          std::to_string(crypto_pwhash_MEMLIMIT_MIN) + " and " +
                          std::to_string(kMaxBackupMemlimit) + " bytes");
  }
  return ok_status();
}

Error malformed(const std::string& source, const std::string& what) {
  return make_error("keystore.malformed",
                    source + " is not a valid corecell nodekey backup: " + what +
                        " (was the file edited or truncated? use an intact copy of the backup)");
}

// Exactly these keys, no more, no fewer.
bool has_exact_keys(const json& obj, const std::set<std::string>& keys) {
  if (!obj.is_object() || obj.size() != keys.size()) return false;
  for (const auto& k : keys) {
    if (!obj.contains(k)) return false;
  }
  return true;
}

// Lower-case hex of exactly N bytes (one spelling per value, so no byte can change unnoticed).
template <std::size_t N>
Result<FixedBytes<N>> strict_hex(const json& j, const std::string& field,
                                 const std::string& source) {
  if (!j.is_string()) return malformed(source, field + " is not a string");
  const auto& s = j.get_ref<const std::string&>();
  if (s.size() != 2 * N) {
    return malformed(source, field + " must be " + std::to_string(2 * N) + " hex characters");
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return malformed(source, field + " must be lower-case hex");
    }
  }
  auto bytes = fixed_from_hex<N>(s);
  if (!bytes.ok()) return malformed(source, field + ": " + bytes.error().message);
  return *bytes;
}

Result<std::uint64_t> strict_uint(const json& j, const std::string& field,
                                  const std::string& source) {
  if (!j.is_number_unsigned()) return malformed(source, field + " is not a non-negative integer");
  return j.get<std::uint64_t>();
}

Result<ParsedBackup> parse_backup(const std::string& text, const std::string& source) {
  if (text.size() > kMaxBackupBytes) {
    return malformed(source,
                     "it is " + std::to_string(text.size()) + " bytes, far larger than a backup");
  }
  // Duplicate keys would let a second value hide behind the first; nlohmann keeps the last one
  // silently, so reject them while parsing.
  std::vector<std::set<std::string>> seen;
  bool duplicate = false;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      seen.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!seen.empty()) seen.pop_back();
    } else if (ev == json::parse_event_t::key && !seen.empty() && parsed.is_string()) {
      if (!seen.back().insert(parsed.get<std::string>()).second) duplicate = true;
    }
    return true;
  };
  json j = json::parse(text, cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) return malformed(source, "it is not valid JSON");
  if (duplicate) return malformed(source, "a field appears twice");
  if (!j.is_object()) return malformed(source, "the top level is not a JSON object");

  ParsedBackup out;
  if (!j.contains("version")) return malformed(source, "the version field is missing");
  CC_TRY_ASSIGN(std::uint64_t version, strict_uint(j["version"], "version", source));
  if (version != static_cast<std::uint64_t>(kVersion)) {
    return make_error("keystore.version",
                      source + " is backup format version " + std::to_string(version) +
                          "; this corecell reads version " + std::to_string(kVersion) +
                          " (restore it with the corecell that wrote it)");
  }
  out.version = kVersion;
  if (!has_exact_keys(j, {"version", "address", "kdf", "cipher"})) {
    return malformed(source, "the top level must have exactly version, address, kdf and cipher");
  }

  const json& addr = j["address"];
  if (!addr.is_string()) return malformed(source, "address is not a string");
  auto parsed_addr = parse_address(addr.get_ref<const std::string&>());
  if (!parsed_addr.ok() || to_checksum_hex(*parsed_addr) != addr.get_ref<const std::string&>()) {
    return malformed(source, "address must be a 0x-prefixed EIP-55 checksummed address");
  }
  out.address = *parsed_addr;

  const json& kdf = j["kdf"];
  if (!has_exact_keys(kdf, {"algorithm", "opslimit", "memlimit", "salt"})) {
    return malformed(source, "kdf must have exactly algorithm, opslimit, memlimit and salt");
  }
  if (kdf["algorithm"] != kKdfAlgorithm) {
    return malformed(source, std::string("kdf.algorithm must be \"") + kKdfAlgorithm + "\"");
  }
  CC_TRY_ASSIGN(out.kdf.opslimit, strict_uint(kdf["opslimit"], "kdf.opslimit", source));
  CC_TRY_ASSIGN(std::uint64_t memlimit, strict_uint(kdf["memlimit"], "kdf.memlimit", source));
  if (memlimit > kMaxBackupMemlimit) memlimit = kMaxBackupMemlimit + 1;  // reported below
  out.kdf.memlimit = static_cast<std::size_t>(memlimit);
  CC_TRY_STATUS(check_kdf(out.kdf, source));
  CC_TRY_ASSIGN(out.salt, strict_hex<kSaltBytes>(kdf["salt"], "kdf.salt", source));

  const json& cipher = j["cipher"];
  if (!has_exact_keys(cipher, {"algorithm", "nonce", "ciphertext"})) {
    return malformed(source, "cipher must have exactly algorithm, nonce and ciphertext");
  }
  if (cipher["algorithm"] != kCipherAlgorithm) {
    return malformed(source, std::string("cipher.algorithm must be \"") + kCipherAlgorithm + "\"");
  }
  CC_TRY_ASSIGN(out.nonce, strict_hex<kNonceBytes>(cipher["nonce"], "cipher.nonce", source));
  CC_TRY_ASSIGN(out.ciphertext,
                strict_hex<kCipherBytes>(cipher["ciphertext"], "cipher.ciphertext", source));
  return out;
}

Status derive_key(const std::string& passphrase, const FixedBytes<kSaltBytes>& salt,
                  const KdfParams& kdf, FixedBytes<32>& out) {
  if (crypto_pwhash(out.data(), out.size(), passphrase.data(), passphrase.size(), salt.data(),
                    kdf.opslimit, kdf.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error("keystore.kdf_failed", "Argon2id could not run with memlimit " +
                                                 std::to_string(kdf.memlimit) +
                                                 " bytes (out of memory?)");
  }
  return ok_status();
}

}  // namespace

KdfParams KdfParams::moderate() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}
KdfParams KdfParams::sensitive() {
  return {crypto_pwhash_OPSLIMIT_SENSITIVE, crypto_pwhash_MEMLIMIT_SENSITIVE};
}
KdfParams KdfParams::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
KdfParams KdfParams::minimum_for_tests() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

Result<std::string> encrypt_backup(const PrivateKey& key, const std::string& passphrase) {
  return encrypt_backup(key, passphrase, KdfParams::moderate());
}

Result<std::string> encrypt_backup(const PrivateKey& key, const std::string& passphrase,
                                   const KdfParams& kdf) {
  detail::ensure_sodium();
  if (passphrase.empty()) {
    return make_error("keystore.empty_passphrase",
                      "refusing to encrypt a backup with an empty passphrase");
  }
  CC_TRY_STATUS(check_kdf(kdf, "encrypt_backup"));
  const Address address = address_of(key);
  FixedBytes<kSaltBytes> salt{};
  FixedBytes<kNonceBytes> nonce{};
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  Secret<32> k;
  CC_TRY_STATUS(derive_key(passphrase, salt, kdf, k.bytes));
  FixedBytes<kCipherBytes> ct{};
  unsigned long long ct_len = 0;
  // The address is associated data: a backup relabelled with another address fails to open.
  crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data(), &ct_len, key.bytes().data(),
                                             key.bytes().size(), address.data(), address.size(),
                                             nullptr, nonce.data(), k.bytes.data());
  if (ct_len != ct.size()) {
    return make_error("keystore.encrypt_failed", "unexpected ciphertext length");
  }
  json j = {
      {"version", kVersion},
      {"address", to_checksum_hex(address)},
      {"kdf",
       {{"algorithm", kKdfAlgorithm},
        {"opslimit", kdf.opslimit},
        {"memlimit", kdf.memlimit},
        {"salt", to_hex(salt)}}},
      {"cipher",
       {{"algorithm", kCipherAlgorithm}, {"nonce", to_hex(nonce)}, {"ciphertext", to_hex(ct)}}}};
  return j.dump(2) + "\n";
}

Result<PrivateKey> decrypt_backup(const std::string& backup_text, const std::string& passphrase,
                                  const std::string& source) {
  detail::ensure_sodium();
  CC_TRY_ASSIGN(ParsedBackup b, parse_backup(backup_text, source));
  Secret<32> k;
  CC_TRY_STATUS(derive_key(passphrase, b.salt, b.kdf, k.bytes));
  Secret<kSecretBytes> plain;
  unsigned long long plain_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.bytes.data(), &plain_len, nullptr, b.ciphertext.data(), b.ciphertext.size(),
          b.address.data(), b.address.size(), b.nonce.data(), k.bytes.data()) != 0 ||
      plain_len != kSecretBytes) {
    return make_error("keystore.auth_failed",
                      source +
                          ": decryption failed: the passphrase is wrong or the backup was "
                          "modified; check the passphrase file and use an intact copy");
  }
  auto key = PrivateKey::from_bytes(plain.bytes);
  if (!key.ok()) {
    return make_error("keystore.invalid_key",
                      source + ": the decrypted secret is not a valid secp256k1 key");
  }
  if (address_of(*key) != b.address) {
    return make_error("keystore.address_mismatch",
                      source + ": the decrypted key belongs to " +
                          to_checksum_hex(address_of(*key)) + ", not to the recorded " +
                          to_checksum_hex(b.address) + "; the backup was not written by corecell");
  }
  return std::move(key).value();
}

Result<BackupInfo> inspect_backup(const std::string& backup_text, const std::string& source) {
  CC_TRY_ASSIGN(ParsedBackup b, parse_backup(backup_text, source));
  return BackupInfo{b.version, b.address, b.kdf};
}

Result<std::string> read_passphrase_file(const std::filesystem::path& path) {
  const std::string where = path.string();
  auto text = read_file(path, 4096);
  if (!text.ok()) return text.error().context("passphrase file");
  auto mode = file_mode(path);
  if (!mode.ok()) return mode.error().context("passphrase file");
  if ((*mode & 0077) != 0) {
    std::string m = fmt::format("{:04o}", static_cast<unsigned>(*mode & 07777));
    return make_error("passphrase.mode", "passphrase file " + where + " has mode " + m +
                                             ", so group or others can read it; run: chmod 600 " +
                                             where);
  }
  std::string s = std::move(text).value();
  if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0) {
    s.resize(s.size() - 2);
  } else if (!s.empty() && s.back() == '\n') {
    s.pop_back();
  }
  if (s.empty()) {
    return make_error("passphrase.empty",
                      "passphrase file " + where + " is empty; write the passphrase into it");
  }
  return s;
}

}  // namespace cc::crypto

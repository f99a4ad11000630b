// Fuzzes encrypted-backup parsing (a backup file may come from anywhere): inspect and decrypt
// must never crash or allocate unboundedly. Decryption runs only when the file's KDF cost is
// tiny (the seeds use the minimum) so the fuzzer spends its time on parsing, not on Argon2.
// Whatever decrypts must be a key whose address is the one the file records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/address.h"
#include "crypto/keystore.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto info = crypto::inspect_backup(text, "fuzz");
  if (!info.ok()) {
    // A file that does not inspect must not decrypt either.
    if (crypto::decrypt_backup(text, "fuzz", "fuzz").ok()) std::abort();
    return 0;
  }
  if (info->kdf.opslimit > 2 || info->kdf.memlimit > 64 * 1024) return 0;
  auto decrypted = crypto::decrypt_backup(text, "fuzz", "fuzz");
  if (decrypted.ok() && crypto::address_of(*decrypted) != info->address) std::abort();
  return 0;
}

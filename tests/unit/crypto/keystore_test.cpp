#include "crypto/keystore.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/address.h"
#include "util/files.h"

namespace cc::crypto {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

const KdfParams kCheap = KdfParams::minimum_for_tests();

std::string backup_of(const PrivateKey& key, const std::string& pass = "correct horse") {
  auto b = encrypt_backup(key, pass, kCheap);
  EXPECT_TRUE(b.ok()) << b.error().message;
  return *b;
}

TEST(Keystore, RoundTripRestoresTheSameKey) {
  auto key = PrivateKey::generate();
  auto text = backup_of(key);
  auto back = decrypt_backup(text, "correct horse", "test.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->bytes(), key.bytes());
}

TEST(Keystore, FileRecordsAddressAndParamsButNotTheSecret) {
  auto key = *PrivateKey::from_bytes(Bytes(32, 0x46));
  auto text = backup_of(key);
  EXPECT_EQ(text.find(to_hex(key.bytes())), std::string::npos);
  auto j = json::parse(text);
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["address"], "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  EXPECT_EQ(j["kdf"]["algorithm"], "argon2id13");
  auto info = inspect_backup(text, "test.json");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(to_checksum_hex(info->address), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  EXPECT_EQ(info->kdf, kCheap);
}

TEST(Keystore, DefaultCostIsLibsodiumModerate) {
  auto text = encrypt_backup(PrivateKey::generate(), "pass");
  ASSERT_TRUE(text.ok());
  auto info = inspect_backup(*text, "t");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kdf, KdfParams::moderate());
  EXPECT_EQ(info->kdf.memlimit, 256u << 20);
}

TEST(Keystore, TwoBackupsOfOneKeyDifferInSaltAndNonce) {
  auto key = PrivateKey::generate();
  auto a = json::parse(backup_of(key));
  auto b = json::parse(backup_of(key));
  EXPECT_NE(a["kdf"]["salt"], b["kdf"]["salt"]);
  EXPECT_NE(a["cipher"]["nonce"], b["cipher"]["nonce"]);
}

TEST(Keystore, WrongPassphraseFailsAuthentication) {
  auto text = backup_of(PrivateKey::generate());
  auto r = decrypt_backup(text, "wrong horse", "backup.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "keystore.auth_failed");
  EXPECT_NE(r.error().message.find("backup.json"), std::string::npos);
  EXPECT_NE(r.error().message.find("passphrase"), std::string::npos);
}

TEST(Keystore, EveryFlippedByteIsRejected) {
  auto text = backup_of(PrivateKey::generate(), "p");
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (std::uint8_t mask : {0x01, 0x20}) {
      std::string t = text;
      t[i] = static_cast<char>(t[i] ^ mask);
      // 0x01 changes a value or breaks the syntax; 0x20 flips letter case, which strict
      // parsing (lower-case hex, exact EIP-55 address, exact names) must also catch.
      EXPECT_FALSE(decrypt_backup(t, "p", "b").ok()) << "byte " << i << " mask " << int(mask);
    }
  }
}

TEST(Keystore, RelabelledAddressFailsAuthentication) {
  auto text = backup_of(PrivateKey::generate(), "p");
  auto j = json::parse(text);
  j["address"] = to_checksum_hex(address_of(PrivateKey::generate()));
  auto r = decrypt_backup(j.dump(2), "p", "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "keystore.auth_failed");
}

TEST(Keystore, HostileKdfParamsAreRejectedBeforeAnyWork) {
  auto j = json::parse(backup_of(PrivateKey::generate(), "p"));
  auto with = [&](const char* field, json value) {
    json t = j;
    t["kdf"][field] = value;
    return decrypt_backup(t.dump(), "p", "evil.json");
  };
  auto huge_mem = with("memlimit", 64ull << 30);  // 64 GiB
  ASSERT_FALSE(huge_mem.ok());
  EXPECT_EQ(huge_mem.error().code, "keystore.kdf_bounds");
  EXPECT_NE(huge_mem.error().message.find("evil.json"), std::string::npos);
  EXPECT_EQ(with("memlimit", (1ull << 30) + 1024).error().code, "keystore.kdf_bounds");
  EXPECT_EQ(with("memlimit", 8192 + 1).error().code, "keystore.kdf_bounds");
  EXPECT_EQ(with("memlimit", 1024).error().code, "keystore.kdf_bounds");
  EXPECT_EQ(with("opslimit", 1000000).error().code, "keystore.kdf_bounds");
  EXPECT_EQ(with("opslimit", 0).error().code, "keystore.kdf_bounds");
  EXPECT_EQ(with("opslimit", -1).error().code, "keystore.malformed");
  EXPECT_EQ(with("opslimit", 2.5).error().code, "keystore.malformed");
  EXPECT_FALSE(encrypt_backup(PrivateKey::generate(), "p", {1, 3ull << 30}).ok());
}

TEST(Keystore, StructuralProblemsAreMalformedWithSource) {
  auto j = json::parse(backup_of(PrivateKey::generate(), "p"));
  auto code_of = [](const std::string& text) {
    auto r = decrypt_backup(text, "p", "x.json");
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code_of("not json"), "keystore.malformed");
  EXPECT_EQ(code_of("[]"), "keystore.malformed");
  EXPECT_EQ(code_of(""), "keystore.malformed");
  json extra = j;
  extra["note"] = "hi";
  EXPECT_EQ(code_of(extra.dump()), "keystore.malformed");
  json missing = j;
  missing["cipher"].erase("nonce");
  EXPECT_EQ(code_of(missing.dump()), "keystore.malformed");
  json upper = j;
  std::string ct = upper["cipher"]["ciphertext"];
  for (char& c : ct) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  upper["cipher"]["ciphertext"] = ct;
  EXPECT_EQ(code_of(upper.dump()), "keystore.malformed");
  json lower_addr = j;
  std::string a = lower_addr["address"];
  for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  lower_addr["address"] = a;
  EXPECT_EQ(code_of(lower_addr.dump()), "keystore.malformed");
  // nlohmann would silently keep the last of two equal keys.
  std::string dup = j.dump();
  dup.insert(1, "\"version\":1,");
  EXPECT_EQ(code_of(dup), "keystore.malformed");
  auto r = decrypt_backup("not json", "p", "x.json");
  EXPECT_NE(r.error().message.find("x.json"), std::string::npos);
}

TEST(Keystore, UnknownVersionIsReportedAsSuch) {
  auto j = json::parse(backup_of(PrivateKey::generate(), "p"));
  j["version"] = 2;
  auto r = inspect_backup(j.dump(), "v2.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "keystore.version");
  EXPECT_NE(r.error().message.find("version 2"), std::string::npos);
}

TEST(Keystore, EmptyPassphraseIsRefused) {
  auto r = encrypt_backup(PrivateKey::generate(), "", kCheap);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "keystore.empty_passphrase");
}

class PassphraseFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cc-pass-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& content, mode_t mode = 0600) {
    fs::path p = dir_ / "pass";
    EXPECT_TRUE(atomic_write_file(p, content, mode).ok());
    return p;
  }
  fs::path dir_;
};

TEST_F(PassphraseFile, StripsOneTrailingNewlineOnly) {
  EXPECT_EQ(*read_passphrase_file(write("secret\n")), "secret");
  EXPECT_EQ(*read_passphrase_file(write("secret\r\n")), "secret");
  EXPECT_EQ(*read_passphrase_file(write("secret\n\n")), "secret\n");
  EXPECT_EQ(*read_passphrase_file(write(" two words ")), " two words ");
}

TEST_F(PassphraseFile, RejectsEmptyReadableByOthersAndMissing) {
  auto empty = read_passphrase_file(write("\n"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "passphrase.empty");
  auto p = write("secret", 0644);
  auto open = read_passphrase_file(p);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code, "passphrase.mode");
  EXPECT_NE(open.error().message.find("chmod 600 " + p.string()), std::string::npos);
  auto missing = read_passphrase_file(dir_ / "none");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find((dir_ / "none").string()), std::string::npos);
}

}  // namespace
}  // namespace cc::crypto

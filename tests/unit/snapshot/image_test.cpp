// The CN image against real files: what goes in (binary, conf, genesis, static nodes, operator
// files; never anything under DATA_DIR/klay), what the manifest records (paths, DATA_DIR, cell
// address, chain, council, the CN's address), a verified extraction, and the refusals.
#include "snapshot/image.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "chain/genesis.h"
#include "crypto/address.h"
#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "snapshot/archive.h"
#include "support/temp_dir.h"
#include "util/files.h"

namespace cc::snapshot {
namespace {
namespace fs = std::filesystem;

void img_put(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

class SnapshotImage : public ::testing::Test {
 protected:
  SnapshotImage() {
    host_ = dir_.path() / "host";
    key_ = crypto::PrivateKey::generate();
    const auto id = crypto::identity_of(key_);
    chain::Genesis g;
    g.config.chain_id = 1001;
    g.council = {id.address};
    img_put(host_ / "genesis.json", chain::genesis_to_json(g));
    genesis_hash_ = to_hex0x(chain::genesis_block(g).hash());
    address_ = crypto::to_checksum_hex(id.address);
    img_put(host_ / "cn" / "kcnd.conf",
            "DATA_DIR=\"data\"\nGENESIS=\"../genesis.json\"\nPUBLIC_IP=\"10.0.0.5\"\nPORT=32323\n");
    img_put(host_ / "cn" / "data" / "static-nodes.json", "[]\n");
    fs::create_directories(host_ / "cn" / "data" / "klay");
    EXPECT_TRUE(crypto::save_nodekey_file(host_ / "cn" / "data" / "klay" / "nodekey", key_).ok());
    img_put(host_ / "cn" / "data" / "klay" / "chaindata" / "CURRENT", "MANIFEST-1\n");
    img_put(host_ / "bin" / "corecell", std::string(300000, 'x'));
    img_put(host_ / "kcnd.service", "[Unit]\nDescription=kcnd\n");
  }

  ImageCreateOptions options() const {
    ImageCreateOptions o;
    o.conf = host_ / "cn" / "kcnd.conf";
    o.out = dir_.path() / "cn.image";
    o.binary = host_ / "bin" / "corecell";
    o.extra = {host_ / "kcnd.service"};
    return o;
  }

  cc::testing::TempDir dir_;
  fs::path host_;
  crypto::PrivateKey key_ = crypto::PrivateKey::generate();
  std::string genesis_hash_;
  std::string address_;
};

TEST_F(SnapshotImage, CarriesTheHostFilesWithoutDataAndExtractsThemVerified) {
  auto m = create_image(options());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->conf, host_ / "cn" / "kcnd.conf");
  EXPECT_EQ(m->data_dir, host_ / "cn" / "data");
  EXPECT_EQ(m->public_ip, "10.0.0.5");
  EXPECT_EQ(m->port, 32323);
  EXPECT_EQ(m->chain_id, 1001u);
  EXPECT_EQ(m->genesis_hash, genesis_hash_);
  EXPECT_EQ(m->council, std::vector<std::string>{address_});
  EXPECT_EQ(m->node_address, address_);
  std::set<std::string> roles;
  for (const auto& f : m->files) {
    roles.insert(f.role);
    EXPECT_EQ(f.target.string().find("/klay/"), std::string::npos) << f.target;
  }
  EXPECT_EQ(roles, (std::set<std::string>{"binary", "conf", "genesis", "static-nodes", "extra"}));
  ASSERT_NE(m->find_role("binary"), nullptr);
  EXPECT_TRUE(m->find_role("binary")->executable);

  auto read = read_image(options().out, /*verify=*/true);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->files.size(), m->files.size());
  EXPECT_EQ(read->node_address, address_);

  const fs::path staging = dir_.path() / "staging";
  auto x = extract_image(options().out, staging);
  ASSERT_TRUE(x.ok()) << x.error().message;
  for (const auto& f : x->files) {
    auto want = read_file(f.target, 1 << 20);
    auto got = read_file(staged_path(staging, f), 1 << 20);
    ASSERT_TRUE(want.ok() && got.ok()) << f.target;
    EXPECT_EQ(*got, *want) << f.target;
  }
  ImageFile key_file;
  key_file.target = host_ / "cn" / "data" / "klay" / "nodekey";
  EXPECT_FALSE(fs::exists(staged_path(staging, key_file)));
  EXPECT_FALSE(create_image(options()).ok()) << "an existing --out is refused";
}

TEST_F(SnapshotImage, RefusesKeysAMissingGenesisAndTheOtherKindOfArchive) {
  auto with_key = options();
  with_key.extra = {host_ / "cn" / "data" / "klay" / "nodekey"};
  auto r = create_image(with_key);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("never carries"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(with_key.out));

  fs::remove(host_ / "genesis.json");
  r = create_image(options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "snapshot.source");
  EXPECT_FALSE(fs::exists(options().out));

  // A snapshot is not an image, and an image is not a snapshot.
  Manifest h;
  h.chain_id = 1001;
  h.genesis_hash = genesis_hash_;
  h.head_hash = genesis_hash_;
  h.created = "2026-11-26T00:00:00.000Z";
  h.source_node = "pn";
  h.mode = "offline";
  const fs::path snap = dir_.path() / "snap.tar.zst";
  ASSERT_TRUE(write_archive(host_ / "cn" / "data" / "klay" / "chaindata", snap, h).ok());
  auto as_image = read_image(snap, false);
  ASSERT_FALSE(as_image.ok());
  EXPECT_NE(as_image.error().message.find("not a corecell image"), std::string::npos)
      << as_image.error().message;
}

// An HA host: the agent conf next to the CN's, its keys where the conf says.
class SnapshotHaImage : public SnapshotImage {
 protected:
  SnapshotHaImage() {
    img_put(host_ / "cn" / "ha.conf",
            "HA_NAME=\"cn-a\"\nHA_NODE_CONF=\"kcnd.conf\"\n"
            "HA_VALIDATOR_KEY_BACKUP=\"../keys/validator.backup\"\n"
            "HA_PASSPHRASE_FILE=\"/etc/kcnd/passphrase\"\n"
            "HA_STANDBY_NODEKEY=\"data/ha/standby.nodekey\"\n"
            "HA_VALIDATOR_ADDRESS=\"" +
                address_ +
                "\"\nHA_CELL_IP=\"10.0.0.100\"\nHA_LEASE=\"local\"\n"
                "HA_LEASE_FILE=\"/shared/lease.json\"\nHA_IP_MOVER=\"exec\"\n"
                "HA_IP_SCRIPT=\"../move-ip.sh\"\n");
    img_put(host_ / "move-ip.sh", "#!/bin/sh\nexit 0\n");
    fs::permissions(host_ / "move-ip.sh", fs::perms(0755));
    img_put(host_ / "cn" / "data" / "ha" / "events.jsonl", "{}\n");
    img_put(host_ / "keys" / "validator.backup", "{}\n");
  }

  ImageCreateOptions ha_options() const {
    ImageCreateOptions o = options();
    o.conf.clear();  // taken from the agent's HA_NODE_CONF
    o.ha_conf = host_ / "cn" / "ha.conf";
    return o;
  }
};

TEST_F(SnapshotHaImage, CarriesTheAgentConfAndScriptAndRecordsWhereItsKeysGo) {
  auto m = create_image(ha_options());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->format_version, kHaImageFormatVersion);
  EXPECT_EQ(m->conf, host_ / "cn" / "kcnd.conf");
  ASSERT_TRUE(m->ha.has_value());
  EXPECT_EQ(m->ha->name, "cn-a");
  EXPECT_EQ(m->ha->conf, host_ / "cn" / "ha.conf");
  EXPECT_EQ(m->ha->validator_backup, host_ / "keys" / "validator.backup");
  EXPECT_EQ(m->ha->standby_nodekey, host_ / "cn" / "data" / "ha" / "standby.nodekey");
  EXPECT_EQ(m->ha->state_dir, host_ / "cn" / "data" / "ha");
  EXPECT_EQ(m->ha->cell_ip, "10.0.0.100");
  EXPECT_EQ(m->ha->host_ip, "10.0.0.5");
  EXPECT_EQ(m->ha->lease, "local /shared/lease.json");
  EXPECT_EQ(m->node_address, address_);
  ASSERT_NE(m->find_role("ha-conf"), nullptr);
  bool script = false;
  for (const auto& f : m->files) {
    if (f.target == host_ / "move-ip.sh") script = f.executable;
    EXPECT_EQ(f.target.string().find("/data/ha/"), std::string::npos) << f.target;
  }
  EXPECT_TRUE(script) << "HA_IP_SCRIPT goes in, executable";

  auto read = read_image(ha_options().out, /*verify=*/true);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read->ha.has_value());
  EXPECT_EQ(read->ha->passphrase_file, "/etc/kcnd/passphrase");
  EXPECT_EQ(read->to_json(), m->to_json());
}

TEST_F(SnapshotHaImage, RefusesTheAgentsKeysItsStateDirAndAnotherCnsConf) {
  const std::pair<fs::path, const char*> refused[] = {
      {host_ / "cn" / "data" / "ha" / "events.jsonl", "HA_STATE_DIR"},
      {host_ / "keys" / "validator.backup", "never carries keys"}};
  for (const auto& [p, why] : refused) {
    auto o = ha_options();
    o.extra = {p};
    auto r = create_image(o);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.error().code, "snapshot.source");
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
    EXPECT_FALSE(fs::exists(o.out));
  }
  auto o = ha_options();
  img_put(host_ / "other" / "kcnd.conf", "DATA_DIR=\"d\"\nGENESIS=\"../genesis.json\"\n");
  o.conf = host_ / "other" / "kcnd.conf";
  auto r = create_image(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("HA_NODE_CONF"), std::string::npos) << r.error().message;
}

TEST_F(SnapshotHaImage, NamesTheValidatorFromTheBackupOrRefusesToGuess) {
  // Without HA_VALIDATOR_ADDRESS and without a readable backup: nothing says whose CN it is.
  auto text = read_file(host_ / "cn" / "ha.conf");
  ASSERT_TRUE(text.ok());
  std::string conf = *text;
  const auto at = conf.find("HA_VALIDATOR_ADDRESS");
  conf.erase(at, conf.find('\n', at) - at + 1);
  img_put(host_ / "cn" / "ha.conf", conf);
  auto r = create_image(ha_options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("set HA_VALIDATOR_ADDRESS"), std::string::npos)
      << r.error().message;

  // The backup records its address in clear text: that is the validator.
  auto backup = crypto::encrypt_backup(key_, "pass", crypto::KdfParams::minimum_for_tests());
  ASSERT_TRUE(backup.ok());
  img_put(host_ / "keys" / "validator.backup", *backup);
  r = create_image(ha_options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->node_address, address_);

  // A backup of another key than HA_VALIDATOR_ADDRESS names: the agent would refuse it.
  auto other = crypto::encrypt_backup(crypto::PrivateKey::generate(), "pass",
                                      crypto::KdfParams::minimum_for_tests());
  ASSERT_TRUE(other.ok());
  img_put(host_ / "keys" / "validator.backup", *other);
  img_put(host_ / "cn" / "ha.conf", *text);
  fs::remove(ha_options().out);
  r = create_image(ha_options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the agent would refuse"), std::string::npos)
      << r.error().message;
}

TEST_F(SnapshotHaImage, RefusesTheLocalLeaseFile) {
  img_put(host_ / "shared-lease.json", "{}\n");
  auto text = read_file(host_ / "cn" / "ha.conf");
  ASSERT_TRUE(text.ok());
  std::string conf = *text;
  const std::string from = "/shared/lease.json";
  conf.replace(conf.find(from), from.size(), "../shared-lease.json");
  img_put(host_ / "cn" / "ha.conf", conf);
  auto o = ha_options();
  o.extra = {host_ / "shared-lease.json"};
  auto r = create_image(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("HA_LEASE_FILE"), std::string::npos) << r.error().message;
}

TEST_F(SnapshotHaImage, ManifestVersionAndHaSectionMustAgree) {
  auto m = create_image(ha_options());
  ASSERT_TRUE(m.ok()) << m.error().message;
  nlohmann::json j = m->to_json();
  auto without = j;
  without["ha"] = nullptr;
  auto r = ImageManifest::from_json(without);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("must carry"), std::string::npos) << r.error().message;
  auto old = j;
  old["formatVersion"] = kImageFormatVersion;
  r = ImageManifest::from_json(old);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot carry"), std::string::npos) << r.error().message;
  auto relative = j;
  relative["ha"]["standbyNodekey"] = "ha/standby.nodekey";
  EXPECT_FALSE(ImageManifest::from_json(relative).ok());
  auto missing = j;
  missing["ha"].erase("lease");
  r = ImageManifest::from_json(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("ha.lease"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace cc::snapshot

// cli/provision_cmd.cpp — `corecell image create|inspect` (a CN host's binary, conf, genesis,
// static nodes and operator files, without DATA_DIR) and `corecell provision` (a replacement CN
// from an image, a PN's chaindata snapshot and the validator key's encrypted backup;
// snapshot/provision.h has the steps).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "ha/ip_mover.h"
#include "ha/service_control.h"
#include "localnet/node_service.h"
#include "snapshot/image.h"
#include "snapshot/provision.h"
#include "util/progress.h"

namespace cc::cli {
namespace {
namespace fs = std::filesystem;

struct ImageArgs {
  std::string conf;
  std::string ha_conf;
  std::string out;
  std::vector<std::string> extra;
};

void print_image(const std::string& file, const snapshot::ImageManifest& m) {
  std::printf(
      "image %s\n  created     %s on %s\n  conf        %s\n  DATA_DIR    %s (not in the image)\n"
      "  cell        %s:%u, chain %llu, genesis %s\n  CN address  %s\n",
      file.c_str(), m.created.c_str(), m.source_host.c_str(), m.conf.c_str(), m.data_dir.c_str(),
      m.public_ip.c_str(), static_cast<unsigned>(m.port),
      static_cast<unsigned long long>(m.chain_id), m.genesis_hash.c_str(),
      m.node_address.empty() ? "(not known when the image was made)" : m.node_address.c_str());
  if (m.ha) {
    std::printf(
        "  HA agent    %s (%s), cell %s, host %s, lease %s\n"
        "              keys at %s, %s, %s (not in the image)\n",
        m.ha->name.c_str(), m.ha->conf.c_str(), m.ha->cell_ip.c_str(), m.ha->host_ip.c_str(),
        m.ha->lease.c_str(), m.ha->validator_backup.c_str(), m.ha->passphrase_file.c_str(),
        m.ha->standby_nodekey.c_str());
  }
  std::printf("  files:\n");
  for (const auto& f : m.files) {
    std::printf("    %-13s %s (%s)\n", f.role.c_str(), f.target.c_str(),
                util::human_bytes(f.size).c_str());
  }
}

void run_image_create(const ImageArgs& a) {
  snapshot::ImageCreateOptions o;
  o.conf = a.conf;
  o.ha_conf = a.ha_conf;
  o.out = a.out;
  for (const auto& x : a.extra) o.extra.emplace_back(x);
  const auto m = or_fail(snapshot::create_image(o, progress_printer("writing image")));
  print_image(a.out, m);
}

struct ProvisionArgs {
  std::string image, snapshot, backup, passphrase_file, datadir;
  bool force = false;
  std::string service = "systemd";
  std::string unit = "kcnd.service";
  std::string agent_unit = "corecell-ha.service";
  std::string ip_mover;
  std::string ip_device;
  unsigned ip_prefix_len = 32;
  std::string ip_script;
  int sync_timeout_s = 600;
  int seal_timeout_s = 120;
};

void run_provision(const ProvisionArgs& a) {
  snapshot::ProvisionOptions o;
  o.image = a.image;
  o.snapshot = a.snapshot;
  o.nodekey_backup = a.backup;
  o.passphrase_file = a.passphrase_file;
  o.data_dir = a.datadir;
  o.force = a.force;
  o.sync_timeout = std::chrono::seconds(a.sync_timeout_s);
  o.seal_timeout = std::chrono::seconds(a.seal_timeout_s);
  o.make_service = [a](const snapshot::ImageManifest& m) {
    return localnet::service_for_node(a.service, m.ha ? a.agent_unit : a.unit, m.data_dir);
  };
  o.make_ip_mover = [a](const snapshot::ImageManifest& m) -> Result<std::unique_ptr<ha::IpMover>> {
    if (a.ip_mover.empty()) {
      return make_error("provision.ip",
                        "--ip-mover is required for an image without an HA agent (linux, exec, "
                        "loopback, or none when " +
                            m.public_ip + " is already this host's)");
    }
    if (a.ip_mover == "none") return std::unique_ptr<ha::IpMover>();
    ha::IpMoverConfig c;
    c.kind = a.ip_mover;
    c.ip = m.public_ip;
    c.prefix_len = a.ip_prefix_len;
    c.device = a.ip_device;
    c.script = a.ip_script;
    c.probe_port = m.port;
    return ha::make_ip_mover(c);
  };
  o.progress = progress_printer("restoring");
  o.say = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  const auto r = or_fail(snapshot::provision(o));
  if (!r.ha_role.empty()) {
    std::printf("HA agent: %s under lease epoch %llu\n", r.ha_role.c_str(),
                static_cast<unsigned long long>(r.lease_epoch));
  }
  std::printf(
      "provisioned CN %s in %s: in sync at #%llu (snapshot #%llu), first seal in block #%llu "
      "%.1f s after the start (total %.1f s)\n",
      r.address.c_str(), r.data_dir.c_str(), static_cast<unsigned long long>(r.synced_head),
      static_cast<unsigned long long>(r.snapshot_head),
      static_cast<unsigned long long>(r.first_seal), r.seconds_to_first_seal, r.seconds);
}

}  // namespace

void add_provision_commands(CLI::App& app) {
  auto* image = app.add_subcommand(
      "image",
      "CN images: the CN host's binary, conf, genesis, static nodes and operator files "
      "without DATA_DIR (never a key)");
  image->require_subcommand(1);
  auto ia = std::make_shared<ImageArgs>();
  auto* create = image->add_subcommand(
      "create", "Write an image of the CN that CONF configures (see docs/SNAPSHOTS.md)");
  create->add_option("--conf", ia->conf,
                     "The CN's kcnd.conf (with --ha-conf: default the agent's HA_NODE_CONF)");
  create->add_option("--ha-conf", ia->ha_conf,
                     "The host's HA agent conf: the image carries it (and its scripts) and "
                     "`provision` installs the host with its agent, which takes the lease first");
  create->add_option("--out", ia->out, "The image file to write (.tar.zst; must not exist)")
      ->required();
  create->add_option("--include", ia->extra,
                     "An operator file to carry too (a systemd unit, a script); repeatable");
  create->callback([ia] { run_image_create(*ia); });

  auto inspect_file = std::make_shared<std::string>();
  auto inspect_verify = std::make_shared<bool>(false);
  auto* inspect = image->add_subcommand("inspect", "Print an image's manifest");
  inspect->add_option("file", *inspect_file, "The image file")->required();
  inspect->add_flag("--verify", *inspect_verify, "Read every file and check its checksum");
  inspect->callback([inspect_file, inspect_verify] {
    print_image(*inspect_file, or_fail(snapshot::read_image(*inspect_file, *inspect_verify)));
  });

  auto pa = std::make_shared<ProvisionArgs>();
  auto* prov = app.add_subcommand(
      "provision",
      "Build a replacement CN from an image, a PN's chaindata snapshot and the validator key's "
      "encrypted backup: check every input, restore, install, move the cell's address, start, "
      "and wait until it is in sync and sealing. An image made with --ha-conf installs the host "
      "with its HA agent, which takes the lease before its node may sign. Resumable: run it "
      "again after an interruption. See docs/SNAPSHOTS.md.");
  prov->add_option("--image", pa->image, "The CN image (`corecell image create`)")->required();
  prov->add_option("--snapshot", pa->snapshot, "A chaindata snapshot of one of the cell's PNs")
      ->required();
  prov->add_option("--nodekey-backup", pa->backup,
                   "The failed CN's encrypted key backup (`corecell key backup`)")
      ->required();
  prov->add_option("--passphrase-file", pa->passphrase_file, "The backup's passphrase (0600)")
      ->required();
  prov->add_option("--datadir", pa->datadir,
                   "Where to build DATA_DIR (renamed to the conf's DATA_DIR when it differs)")
      ->required();
  prov->add_flag("--force", pa->force,
                 "Replace a non-empty --datadir (moved aside, not deleted) and machine files that "
                 "differ from the image's");
  prov->add_option("--service", pa->service,
                   "How to start the CN: systemd (--unit) or localnet (its DATA_DIR is a node of a "
                   "`corecell localnet`)")
      ->capture_default_str()
      ->check(CLI::IsMember({"systemd", "localnet"}));
  prov->add_option("--unit", pa->unit, "The CN's systemd unit (an image without an HA agent)")
      ->capture_default_str();
  prov->add_option("--agent-unit", pa->agent_unit,
                   "The HA agent's systemd unit (an image made with --ha-conf)")
      ->capture_default_str();
  prov->add_option(
          "--ip-mover", pa->ip_mover,
          "How to move the cell's address (the conf's PUBLIC_IP) here: linux (--ip-device), "
          "exec (--ip-script), loopback (a localnet) or none (it is already here). Required "
          "for an image without an HA agent; an HA agent moves the address itself")
      ->check(CLI::IsMember({"linux", "exec", "loopback", "none"}));
  prov->add_option("--ip-device", pa->ip_device, "linux: the interface");
  prov->add_option("--ip-prefix-len", pa->ip_prefix_len, "linux: the prefix length")
      ->capture_default_str();
  prov->add_option("--ip-script", pa->ip_script, "exec: SCRIPT acquire|release|status IP");
  prov->add_option("--sync-timeout", pa->sync_timeout_s,
                   "Seconds to wait for the CN to catch up (with an HA agent: to take the lease, "
                   "which it does once in sync)")
      ->capture_default_str();
  prov->add_option("--seal-timeout", pa->seal_timeout_s,
                   "Seconds to wait, once in sync, for its first seal")
      ->capture_default_str();
  prov->callback([pa] { run_provision(*pa); });
}

}  // namespace cc::cli

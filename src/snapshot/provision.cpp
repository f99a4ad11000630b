#include "snapshot/provision.h"

#include <algorithm>
#include <memory>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "crypto/address.h"
#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "ha/agent.h"
#include "ha/config.h"
#include "node/control.h"
#include "node/datadir.h"
#include "snapshot/detail/bundle.h"
#include "storage/signjournal.h"
#include "util/clock.h"
#include "util/files.h"

namespace cc::snapshot {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSteps[] = {"check", "snapshot", "image", "datadir", "prune", "rename",
                                  "files", "nodekey",  "ip",    "start",   "lease", "verify"};

// Absolute, normal, without a trailing separator ("/a/b/" -> "/a/b").
fs::path normal_dir(const fs::path& p) {
  fs::path n = fs::absolute(p).lexically_normal();
  if (!n.has_filename() && n.has_parent_path() && n != n.root_path()) n = n.parent_path();
  return n;
}

bool dir_is_empty(const fs::path& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || (fs::is_directory(dir, ec) && fs::is_empty(dir, ec));
}

bool same_path(const fs::path& a, const fs::path& b) { return normal_dir(a) == normal_dir(b); }

// The suffix of a file or directory moved aside: "<name>.replaced-<unix seconds>".
std::string unix_time_text() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// The inputs a resumed run must share with the run that left the work directory.
json inputs_json(const ProvisionOptions& o) {
  std::error_code ec;
  auto size = [&](const fs::path& p) {
    const auto s = fs::file_size(p, ec);
    return ec ? std::uint64_t{0} : static_cast<std::uint64_t>(s);
  };
  return {{"image", fs::absolute(o.image).string()},
          {"imageSize", size(o.image)},
          {"snapshot", fs::absolute(o.snapshot).string()},
          {"snapshotSize", size(o.snapshot)},
          {"dataDir", normal_dir(o.data_dir).string()}};
}

class Provisioner {
 public:
  explicit Provisioner(const ProvisionOptions& o)
      : o_(o),
        t0_(std::chrono::steady_clock::now()),
        data_dir_(normal_dir(o.data_dir)),
        work_(provision_work_dir(data_dir_)) {}

  Result<ProvisionReport> run() {
    CC_TRY_STATUS(open_work_dir());
    for (const char* name : kSteps) {
      ProvisionStep step;
      step.name = name;
      const auto s0 = std::chrono::steady_clock::now();
      // `check` always runs: it also loads what later steps use (manifests, the key).
      if (name != std::string("check") && done_.count(name) != 0) {
        step.resumed = true;
        say("step " + step.name + ": done by an earlier run (resumed)");
        report_.steps.push_back(step);
        continue;
      }
      say("step " + step.name + " ...");
      auto st = run_step(step);
      step.seconds = seconds_since(s0);
      if (!st.ok()) {
        say("step " + step.name + " FAILED: " + st.error().message);
        return Error{st.error().code, "provision step " + step.name + ": " + st.error().message +
                                          resume_hint(step.name)};
      }
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.1f s", step.seconds);
      say("step " + step.name + " ok (" + ms + ")" +
          (step.detail.empty() ? std::string() : ": " + step.detail));
      report_.steps.push_back(step);
      if (step.name != "check") {
        done_.insert(step.name);
        CC_TRY_STATUS(save_state());
      }
    }
    std::error_code ec;
    fs::remove_all(work_, ec);  // finished: nothing to resume
    report_.seconds = seconds_since(t0_);
    return report_;
  }

 private:
  void say(const std::string& line) const {
    if (o_.say) o_.say(line);
  }

  std::string resume_hint(const std::string& step) const {
    if (step == "check") return "";
    return " (finished steps are recorded in " + (work_ / "state.json").string() +
           ": run the same command again to resume)";
  }

  Status open_work_dir() {
    std::error_code ec;
    const fs::path state = work_ / "state.json";
    if (!fs::exists(state, ec)) return ok_status();
    auto text = read_file(state);
    json j = text.ok() ? json::parse(*text, nullptr, false) : json();
    if (!j.is_object() || j.value("inputs", json()) != inputs_json(o_)) {
      if (!o_.force) {
        return make_error("provision.datadir",
                          work_.string() +
                              " holds an unfinished provisioning with other inputs "
                              "(see its state.json): run that command again to "
                              "finish it, or add --force to start over");
      }
      fs::remove_all(work_, ec);
      return ok_status();
    }
    for (const auto& d : j.value("done", json::array())) {
      if (d.is_string()) done_.insert(d.get<std::string>());
    }
    notes_ = j.value("notes", json::object());
    report_.ha_role = notes_.value("haRole", "");
    report_.lease_epoch = notes_.value("leaseEpoch", std::uint64_t{0});
    resuming_ = !done_.empty();
    return ok_status();
  }

  Status save_state() {
    CC_TRY_STATUS(ensure_dir(work_));
    json done = json::array();
    for (const char* name : kSteps) {
      if (done_.count(name) != 0) done.push_back(name);
    }
    return atomic_write_file(
        work_ / "state.json",
        json{{"inputs", inputs_json(o_)}, {"done", done}, {"notes", notes_}}.dump(2) + "\n");
  }

  Status run_step(ProvisionStep& step) {
    const std::string& n = step.name;
    if (n == "check") return step_check(step);
    if (n == "snapshot") return step_snapshot(step);
    if (n == "image") return step_image(step);
    if (n == "datadir") return step_datadir(step);
    if (n == "prune") return step_prune(step);
    if (n == "rename") return step_rename(step);
    if (n == "files") return step_files(step);
    if (n == "nodekey") return step_nodekey(step);
    if (n == "ip") return step_ip(step);
    if (n == "start") return step_start(step);
    if (n == "lease") return step_lease(step);
    return step_verify(step);
  }

  // ---- check ----
  Status step_check(ProvisionStep& step) {
    CC_TRY_ASSIGN(image_, read_image(o_.image, /*verify=*/true));
    CC_TRY_ASSIGN(snap_, read_archive(o_.snapshot, /*verify=*/false));
    report_.snapshot_head = snap_.head_number;
    if (snap_.chain_id != image_.chain_id || snap_.genesis_hash != image_.genesis_hash) {
      return make_error("provision.wrong_chain",
                        o_.snapshot.string() + " is of chain " + std::to_string(snap_.chain_id) +
                            " (genesis " + snap_.genesis_hash + ") but the image's CN runs chain " +
                            std::to_string(image_.chain_id) + " (genesis " + image_.genesis_hash +
                            "): take the snapshot from a PN of the same network");
    }
    CC_TRY_ASSIGN(backup_text_, read_file(o_.nodekey_backup, 1 << 20));
    CC_TRY_ASSIGN(auto passphrase, crypto::read_passphrase_file(o_.passphrase_file));
    auto key = crypto::decrypt_backup(backup_text_, passphrase, o_.nodekey_backup.string());
    if (!key.ok()) return Error{"provision.passphrase", key.error().message};
    key_ = *key;
    const std::string address = crypto::to_checksum_hex(crypto::identity_of(*key_).address);
    report_.address = address;
    if (std::find(image_.council.begin(), image_.council.end(), address) == image_.council.end()) {
      return make_error("provision.not_council",
                        o_.nodekey_backup.string() + " holds the key of " + address +
                            ", which is not in the council of the image's genesis: use the "
                            "backup of the failed CN's validator key");
    }
    if (!image_.node_address.empty() && image_.node_address != address) {
      return make_error("provision.wrong_node", o_.nodekey_backup.string() + " holds the key of " +
                                                    address + " but the image was made from CN " +
                                                    image_.node_address +
                                                    ": use that CN's backup, or its image");
    }
    target_dir_ = image_.data_dir;
    if (!done_.count("datadir") && !dir_is_empty(data_dir_) && !o_.force) {
      return make_error("provision.datadir",
                        "--datadir " + data_dir_.string() +
                            " exists and is not empty: refusing to overwrite it. Point --datadir "
                            "at a new directory, or add --force (the old one is moved aside to " +
                            data_dir_.string() + ".replaced-<time>, not deleted)");
    }
    if (!same_path(target_dir_, data_dir_) && !done_.count("rename") &&
        !dir_is_empty(target_dir_)) {
      return make_error("provision.datadir",
                        "DATA_DIR in " + image_.conf.string() + " is " + target_dir_.string() +
                            ", which already holds files, but --datadir is " + data_dir_.string() +
                            ": the chaindata would be renamed to the conf's DATA_DIR. Use "
                            "--datadir " +
                            target_dir_.string() + ", or move that directory away");
    }
    // A node still running in either directory (its klay/LOCK held): --force would move its
    // files from under it. Not once our own start is done: that node is ours.
    if (!done_.count("start")) {
      for (const fs::path& dir : {data_dir_, target_dir_}) {
        if (auto pid = lock_holder(node::lock_path(dir))) {
          return make_error("provision.datadir",
                            dir.string() + " is in use by a running node" +
                                (pid->empty() ? "" : " (pid " + *pid + ")") +
                                ": stop it (and its HA agent) first; provisioning never moves a "
                                "running node's files");
        }
      }
    }
    if (!same_path(target_dir_, data_dir_)) {
      step.detail = "DATA_DIR of the conf is " + target_dir_.string() + ": --datadir " +
                    data_dir_.string() + " will be renamed to it";
    }
    // Image files that would replace a different file already on this machine.
    if (!o_.force) {
      for (const auto& f : image_.files) {
        if (inside_data_dir(f.target)) continue;  // installed into the new DATA_DIR
        std::error_code ec;
        if (!fs::exists(f.target, ec)) continue;
        auto sum = detail::sha256_file(f.target);
        if (!sum.ok() || *sum != f.sha256) {
          return make_error("provision.conflict",
                            f.target.string() + " (" + f.role +
                                ") exists and differs from the image's: add --force to replace "
                                "it, or remove it");
        }
      }
    }
    if (image_.ha) {
      CC_TRY_STATUS(check_agent_files());
      if (o_.make_ip_mover) {
        if (auto m = o_.make_ip_mover(image_); m.ok() && *m) {
          say("  note: --ip-mover is not used: the agent moves " + image_.ha->cell_ip +
              " itself once it holds the lease (its HA_IP_MOVER)");
        }
      }
    } else if (o_.make_ip_mover) {
      CC_TRY_ASSIGN(mover_, o_.make_ip_mover(image_));
    }
    step.detail += (step.detail.empty() ? "" : "; ") + std::string("key of ") + address +
                   " (council), snapshot #" + std::to_string(snap_.head_number) + " of chain " +
                   std::to_string(snap_.chain_id) + (resuming_ ? "; resuming" : "");
    return ok_status();
  }

  // An HA host's key files where its agent reads them: the backup and passphrase may be there
  // already (the same bytes); anything else there is not ours to replace without --force. A
  // standby key outside DATA_DIR is kept, so it must not be a council key.
  Status check_agent_files() {
    const ImageHa& h = *image_.ha;
    CC_TRY_ASSIGN(passphrase_text_, read_file(o_.passphrase_file, 1 << 20));
    for (const auto& [path, want, key] :
         {std::tuple{h.validator_backup, &backup_text_, "HA_VALIDATOR_KEY_BACKUP"},
          {h.passphrase_file, &passphrase_text_, "HA_PASSPHRASE_FILE"}}) {
      std::error_code ec;
      if (o_.force || inside_data_dir(path) || !fs::exists(path, ec)) continue;
      auto have = read_file(path, 1 << 20);
      if (!have.ok() || *have != *want) {
        return make_error("provision.conflict",
                          path.string() + " (the agent's " + key +
                              ") exists and differs from --nodekey-backup/--passphrase-file: "
                              "add --force to move it aside and install ours, or remove it");
      }
    }
    std::error_code ec;
    if (!inside_data_dir(h.standby_nodekey) && fs::exists(h.standby_nodekey, ec)) {
      auto id = crypto::load_nodekey_file(h.standby_nodekey);
      if (!id.ok()) return Error{"provision.conflict", id.error().message};
      const std::string a = crypto::to_checksum_hex(id->address);
      if (std::find(image_.council.begin(), image_.council.end(), a) != image_.council.end()) {
        return make_error("provision.conflict",
                          h.standby_nodekey.string() +
                              " (the agent's HA_STANDBY_NODEKEY) is the "
                              "key of council member " +
                              a + ": a standby key must never sign; remove it (a new one is made)");
      }
    }
    return ok_status();
  }

  bool inside_data_dir(const fs::path& p) const {
    const auto rel = p.lexically_relative(target_dir_);
    return !rel.empty() && *rel.begin() != "..";
  }

  // ---- snapshot, image: staged in the work directory ----
  Status step_snapshot(ProvisionStep& step) {
    CC_TRY_STATUS(ensure_dir(work_));
    CC_TRY_STATUS(save_state());  // the work directory is ours from here on
    std::error_code ec;
    fs::remove_all(work_ / "chaindata", ec);
    CC_TRY_ASSIGN(auto m, restore_archive(o_.snapshot, work_ / "chaindata", o_.progress));
    step.detail = std::to_string(m.files.size()) + " files, head #" +
                  std::to_string(m.head_number) + " " + m.head_hash;
    return ok_status();
  }

  Status step_image(ProvisionStep& step) {
    std::error_code ec;
    fs::remove_all(work_ / "image", ec);
    CC_TRY_ASSIGN(auto m, extract_image(o_.image, work_ / "image"));
    step.detail = std::to_string(m.files.size()) + " files from " + m.source_host;
    return ok_status();
  }

  // ---- the DATA_DIR ----
  Status step_datadir(ProvisionStep& step) {
    std::error_code ec;
    if (!dir_is_empty(data_dir_)) {
      const fs::path aside = data_dir_.string() + ".replaced-" + unix_time_text();
      fs::rename(data_dir_, aside, ec);
      if (ec) {
        return make_error("provision.datadir", "moving the old " + data_dir_.string() + " to " +
                                                   aside.string() + ": " + ec.message());
      }
      step.detail = "the old DATA_DIR was moved to " + aside.string();
    }
    CC_TRY_STATUS(ensure_dir(node::klay_dir(data_dir_)));
    const fs::path chaindata = node::chaindata_dir(data_dir_);
    fs::rename(work_ / "chaindata", chaindata, ec);
    if (ec) {
      return make_error("provision.datadir", "moving the restored chaindata into " +
                                                 chaindata.string() + ": " + ec.message() +
                                                 " (the work directory and DATA_DIR must be on "
                                                 "one filesystem)");
    }
    CC_TRY_STATUS(fsync_dir(node::klay_dir(data_dir_)));
    if (step.detail.empty()) step.detail = "chaindata in " + chaindata.string();
    return ok_status();
  }

  Status step_prune(ProvisionStep& step) {
    std::error_code ec;
    std::size_t removed = 0;
    for (const auto& e : fs::directory_iterator(data_dir_, ec)) {
      if (e.path().filename() == "klay") continue;
      say("  removing " + e.path().string());
      fs::remove_all(e.path(), ec);
      ++removed;
    }
    for (const auto& e : fs::directory_iterator(node::klay_dir(data_dir_), ec)) {
      if (e.path().filename() == "chaindata") continue;
      say("  removing " + e.path().string());
      fs::remove_all(e.path(), ec);
      ++removed;
    }
    if (ec) return make_error("provision.prune", data_dir_.string() + ": " + ec.message());
    step.detail = removed == 0 ? "DATA_DIR holds only klay/chaindata"
                               : std::to_string(removed) + " entries removed";
    return ok_status();
  }

  Status step_rename(ProvisionStep& step) {
    report_.data_dir = target_dir_;
    if (same_path(target_dir_, data_dir_)) {
      step.detail = "DATA_DIR in the conf is --datadir";
      return ok_status();
    }
    std::error_code ec;
    if (fs::exists(target_dir_, ec)) fs::remove(target_dir_, ec);  // empty (checked)
    CC_TRY_STATUS(ensure_dir(target_dir_.parent_path()));
    fs::rename(data_dir_, target_dir_, ec);
    if (ec) {
      return make_error("provision.datadir", "renaming " + data_dir_.string() +
                                                 " to the conf's DATA_DIR " + target_dir_.string() +
                                                 ": " + ec.message());
    }
    step.detail = "DATA_DIR in " + image_.conf.string() + " is " + target_dir_.string() +
                  ": renamed " + data_dir_.string() + " to it";
    say("  " + step.detail);
    return ok_status();
  }

  Status step_files(ProvisionStep& step) {
    std::size_t installed = 0;
    std::size_t kept = 0;
    for (const auto& f : image_.files) {
      std::error_code ec;
      if (fs::exists(f.target, ec)) {
        auto sum = detail::sha256_file(f.target);
        if (sum.ok() && *sum == f.sha256) {
          ++kept;
          continue;
        }
      }
      CC_TRY_STATUS(ensure_dir(f.target.parent_path()));
      const fs::path tmp = f.target.string() + ".provision-tmp";
      fs::copy_file(staged_path(work_ / "image", f), tmp, fs::copy_options::overwrite_existing, ec);
      if (!ec) {
        fs::permissions(tmp, f.executable ? fs::perms(0755) : fs::perms(0644),
                        fs::perm_options::replace, ec);
      }
      if (!ec) fs::rename(tmp, f.target, ec);
      if (ec) {
        fs::remove(tmp, ec);
        return make_error("provision.files",
                          "installing " + f.target.string() + ": " + ec.message());
      }
      say("  installed " + f.target.string() + " (" + f.role + ")");
      ++installed;
    }
    step.detail =
        std::to_string(installed) + " installed, " + std::to_string(kept) + " already in place";
    // A new or changed unit file means nothing to systemd until it reloads. Whenever the image
    // carries one, changed now or not: a run interrupted between the install and the reload
    // finds the files identical when it resumes.
    if (std::any_of(image_.files.begin(), image_.files.end(),
                    [](const ImageFile& f) { return ha::is_systemd_unit_path(f.target); })) {
      CC_TRY_STATUS(ha::systemd_daemon_reload());
      step.detail += "; systemd units reloaded";
    }
    return ok_status();
  }

  Status step_nodekey(ProvisionStep& step) {
    if (image_.ha) return step_agent_keys(step);
    const fs::path path = node::nodekey_path(target_dir_);
    CC_TRY_STATUS(crypto::save_nodekey_file(path, *key_));
    CC_TRY_ASSIGN(auto id, crypto::load_nodekey_file(path));
    if (crypto::to_checksum_hex(id.address) != report_.address) {
      return make_error("provision.nodekey", path.string() + " reads back as another key");
    }
    step.detail = path.string() + " (" + report_.address + ")";
    return ok_status();
  }

  // The agent's keys: the backup and passphrase where its conf says, the standby key made when
  // missing, then the conf and keys loaded as the agent will load them.
  Status step_agent_keys(ProvisionStep& step) {
    const ImageHa& h = *image_.ha;
    for (const auto& [path, text] :
         {std::pair{h.validator_backup, &backup_text_}, {h.passphrase_file, &passphrase_text_}}) {
      auto have = read_file(path, 1 << 20);
      if (have.ok() && *have == *text) continue;
      std::error_code ec;
      if (fs::exists(path, ec)) {
        // Only with --force (check): a key file is moved aside, never overwritten.
        const fs::path aside = path.string() + ".replaced-" + unix_time_text();
        fs::rename(path, aside, ec);
        if (ec)
          return make_error("provision.nodekey",
                            "moving " + path.string() + " aside: " + ec.message());
        say("  moved the different " + path.string() + " to " + aside.string());
      }
      CC_TRY_STATUS(ensure_dir(path.parent_path()));
      CC_TRY_STATUS(atomic_write_file(path, *text, 0600));
      say("  installed " + path.string() + " (0600)");
    }
    std::error_code ec;
    std::string standby = "kept";
    if (!fs::exists(h.standby_nodekey, ec)) {
      CC_TRY_STATUS(ensure_dir(h.standby_nodekey.parent_path()));
      CC_TRY_STATUS(crypto::save_nodekey_file(h.standby_nodekey, crypto::PrivateKey::generate()));
      standby = "made";
    }
    CC_TRY_ASSIGN(auto cfg, agent_config());
    auto keys = ha::load_agent_keys(cfg);
    if (!keys.ok()) return Error{"provision.nodekey", keys.error().message};
    if (crypto::to_checksum_hex(keys->validator_address) != report_.address) {
      return make_error("provision.nodekey", cfg.conf_path.string() + " makes the agent guard " +
                                                 crypto::to_checksum_hex(keys->validator_address) +
                                                 ", not " + report_.address);
    }
    step.detail = "for the agent " + h.name + ": " + h.validator_backup.string() + " (" +
                  report_.address + "), " + h.passphrase_file.string() + ", standby key " +
                  crypto::to_checksum_hex(keys->standby_address) + " " + standby +
                  " (DATA_DIR/klay/nodekey is the agent's to write)";
    return ok_status();
  }

  Result<ha::AgentConfig> agent_config() {
    if (!agent_) {
      auto c = ha::load_agent_config(image_.ha->conf);
      if (!c.ok()) return Error{"provision.agent", c.error().message};
      agent_ = std::move(*c);
    }
    return *agent_;
  }

  Status step_ip(ProvisionStep& step) {
    if (image_.ha) {
      step.detail = "left to the agent: it moves " + image_.ha->cell_ip +
                    " here once it holds the lease (HA_IP_MOVER)";
      return ok_status();
    }
    if (!mover_) {
      step.detail = "not moved (--ip-mover none): the address " + image_.public_ip +
                    " must already be this host's";
      return ok_status();
    }
    CC_TRY_STATUS(mover_->acquire());
    step.detail = mover_->describe();
    return ok_status();
  }

  Status step_start(ProvisionStep& step) {
    if (image_.ha) {
      // The lease as it is before our agent runs: the agent must take it under a newer epoch.
      CC_TRY_ASSIGN(auto cfg, agent_config());
      CC_TRY_ASSIGN(const Address validator, image_address());
      auto store = ha::make_lease_store(cfg, validator);
      if (!store.ok()) return Error{"provision.start", store.error().message};
      auto lease = (*store)->read();
      if (!lease.ok()) {
        return make_error("provision.start", "reading the lease (" + (*store)->describe() +
                                                 "): " + lease.error().message +
                                                 ": the agent could not take it either");
      }
      // Read once: a run resumed after the agent started would read our own agent's epoch.
      if (!notes_.contains("leaseEpochBefore")) {
        notes_["leaseEpochBefore"] = lease->epoch;
        notes_["leaseHolderBefore"] = lease->holder;
        CC_TRY_STATUS(save_state());
      }
      if (lease->epoch == 0) {
        say("  note: the lease of " + report_.address +
            " was never held: the agent takes it only with HA_INITIAL_ROLE=active (or `corecell "
            "ha failover`), with no floor from an earlier holder");
      }
      step.detail = "lease before: " +
                    (lease->epoch == 0 ? std::string("never held")
                                       : "epoch " + std::to_string(lease->epoch) + " of " +
                                             lease->holder + (lease->held ? " (held)" : "")) +
                    "; ";
    }
    CC_TRY_ASSIGN(auto service, o_.make_service(image_));
    CC_TRY_STATUS(service->start({}));
    step.detail += service->describe();
    return ok_status();
  }

  Result<Address> image_address() const {
    auto a = crypto::parse_address(report_.address);
    if (!a.ok()) return Error{"provision.start", a.error().message};
    return *a;
  }

  // ---- lease: the agent active under a new epoch (or the standby of a live active) ----
  Status step_lease(ProvisionStep& step) {
    if (!image_.ha) {
      step.detail = "no HA agent in the image: nothing to take";
      return ok_status();
    }
    CC_TRY_ASSIGN(auto cfg, agent_config());
    const std::uint64_t before = notes_.value("leaseEpochBefore", std::uint64_t{0});
    const fs::path sock = cfg.socket_path();
    const auto deadline = std::chrono::steady_clock::now() + o_.sync_timeout;
    // A holding counts as alive once it was renewed: its time left went up, or it outlived the
    // time it had left when first seen (+1 s: etcd counts whole seconds); and it has been held
    // for 2 x our TTL under one holder and epoch.
    std::string holder;
    std::uint64_t holder_epoch = 0;
    auto holder_since = std::chrono::steady_clock::now();
    std::int64_t first_ttl_left = -1;
    std::int64_t last_ttl_left = -1;
    bool renewed = false;
    std::string last = "no answer on " + sock.string();
    for (;;) {
      auto st = node::control_request(sock, json{{"cmd", "status"}}, 2000ms);
      if (st.ok()) {
        const std::string role = st->value("role", "");
        const std::uint64_t epoch = st->value("epoch", std::uint64_t{0});
        const json lease = st->value("lease", json(nullptr));
        last = "role " + role + (st->value("note", "").empty() ? "" : ": " + st->value("note", ""));
        if (role == "active" && epoch > before) {
          step.detail = "the agent " + cfg.name + " took the lease: epoch " +
                        std::to_string(epoch) + " (before: " + std::to_string(before) + ")" +
                        permit_detail(*st);
          return note_ha_role("active", epoch);
        }
        if (role == "paused") {
          return make_error("provision.lease",
                            "the cell is paused (`corecell ha resume --conf " +
                                cfg.conf_path.string() +
                                "` lets the agent act); its agent runs and will not take the "
                                "lease until then");
        }
        const bool held = lease.is_object() && lease.value("held", false);
        const std::string h = held ? lease.value("holder", "") : "";
        const std::uint64_t e = held ? lease.value("epoch", std::uint64_t{0}) : 0;
        if (h != holder || e != holder_epoch) {
          holder = h;
          holder_epoch = e;
          holder_since = std::chrono::steady_clock::now();
          first_ttl_left = last_ttl_left = held ? lease.value("ttl_left_ms", std::int64_t{0}) : -1;
          renewed = false;
        } else if (held) {
          const std::int64_t left = lease.value("ttl_left_ms", std::int64_t{0});
          const auto held_for = std::chrono::steady_clock::now() - holder_since;
          renewed = renewed || left > last_ttl_left ||
                    held_for > std::chrono::milliseconds(first_ttl_left + 1000);
          last_ttl_left = left;
        }
        const bool alive =
            held && renewed && std::chrono::steady_clock::now() - holder_since > 2 * cfg.ttl;
        if (alive && role == "standby" && holder != cfg.name) {
          step.detail = "the lease is held by the live agent " + holder + " (epoch " +
                        std::to_string(holder_epoch) + "): this host is its standby";
          return note_ha_role("standby", holder_epoch);
        }
        if (alive && holder == cfg.name && role != "active") {
          // Another machine runs an agent under this host's HA_NAME and keeps the lease: the
          // failed host is not gone. Ours waits in `starting` and never signs meanwhile.
          return make_error("provision.lease",
                            "the lease is held and renewed by an agent named " + cfg.name +
                                " (epoch " + std::to_string(holder_epoch) +
                                ") that is not this one: the host this one replaces still runs. "
                                "Stop it (its agent, then its node), and this agent takes over; "
                                "it waits meanwhile and never signs");
        }
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return make_error("provision.lease",
                          "the agent did not take the lease within " +
                              std::to_string(o_.sync_timeout.count()) + " s (" + last +
                              "); it keeps trying: see `corecell ha status --conf " +
                              cfg.conf_path.string() + "` and its events");
      }
      std::this_thread::sleep_for(200ms);
    }
  }

  // The agent's role, in the report and (for a resumed run) in state.json.
  Status note_ha_role(const std::string& role, std::uint64_t epoch) {
    report_.ha_role = role;
    report_.lease_epoch = epoch;
    notes_["haRole"] = role;
    notes_["leaseEpoch"] = epoch;
    return save_state();
  }

  // ", signing from #F" from the takeover's permit step, when the status has it.
  static std::string permit_detail(const json& status) {
    const json f = status.value("last_failover", json(nullptr));
    if (!f.is_object()) return "";
    for (const auto& s : f.value("steps", json::array())) {
      if (s.is_object() && s.value("step", "") == "permit") return "; " + s.value("detail", "");
    }
    return "";
  }

  // ---- verify: caught up, then its seals ----
  Status step_verify(ProvisionStep& step) {
    report_.data_dir = target_dir_;
    const fs::path sock = node::control_socket_path(target_dir_);
    const auto sync_deadline = std::chrono::steady_clock::now() + o_.sync_timeout;
    std::uint64_t head = 0;
    for (;;) {
      auto st = node::control_request(sock, json{{"cmd", "status"}}, 2000ms);
      if (st.ok()) {
        head = st->value("/head/number"_json_pointer, std::uint64_t{0});
        // The node's own verdict (node/service.cpp): not downloading, a peer to compare with,
        // and at most a block behind the best of them.
        if (st->value("in_sync", false) && head >= snap_.head_number) break;
      }
      if (std::chrono::steady_clock::now() > sync_deadline) {
        return make_error("provision.verify",
                          "the CN did not catch up within " +
                              std::to_string(o_.sync_timeout.count()) + " s (head #" +
                              std::to_string(head) + "; snapshot #" +
                              std::to_string(snap_.head_number) + "): check its log and peers (" +
                              sock.string() + ")");
      }
      std::this_thread::sleep_for(200ms);
    }
    report_.synced_head = head;
    say("  in sync at #" + std::to_string(head) + " (snapshot #" +
        std::to_string(snap_.head_number) + "); waiting for its seals");
    const auto seal_deadline = std::chrono::steady_clock::now() + o_.seal_timeout;
    for (;;) {
      auto seals = node::control_request(
          sock, json{{"cmd", "seals"}, {"address", report_.address}, {"depth", 64}}, 2000ms);
      if (seals.ok()) {
        for (const auto& n : seals->value("sealed", json::array())) {
          if (n.is_number_unsigned() && n.get<std::uint64_t>() > head) {
            const auto b = n.get<std::uint64_t>();
            if (report_.first_seal == 0 || b < report_.first_seal) report_.first_seal = b;
          }
        }
        if (report_.first_seal != 0) break;
      }
      if (std::chrono::steady_clock::now() > seal_deadline) {
        return make_error("provision.verify",
                          "the CN is in sync but no block after #" + std::to_string(head) +
                              " carries its seal within " +
                              std::to_string(o_.seal_timeout.count()) +
                              " s: check that it is connected to the other CNs (its log)");
      }
      std::this_thread::sleep_for(200ms);
    }
    report_.seconds_to_first_seal = seconds_since(t0_);
    char buf[128];
    std::snprintf(
        buf, sizeof buf, "%s in block #%llu, %.1f s after the start",
        report_.ha_role == "standby" ? "the validator's seal (from the active host)" : "first seal",
        static_cast<unsigned long long>(report_.first_seal), report_.seconds_to_first_seal);
    step.detail = "in sync at #" + std::to_string(head) + "; " + buf;
    return ok_status();
  }

  const ProvisionOptions& o_;
  std::chrono::steady_clock::time_point t0_;
  fs::path data_dir_;
  fs::path work_;
  fs::path target_dir_;
  std::set<std::string> done_;
  bool resuming_ = false;
  ImageManifest image_;
  Manifest snap_;
  std::optional<crypto::PrivateKey> key_;
  std::string backup_text_;
  std::string passphrase_text_;
  std::unique_ptr<ha::IpMover> mover_;
  std::optional<ha::AgentConfig> agent_;
  json notes_ = json::object();  // kept in state.json for a resumed run (the lease's epoch)
  ProvisionReport report_;
};

}  // namespace

fs::path provision_work_dir(const fs::path& data_dir) {
  return normal_dir(data_dir).string() + ".provision";
}

Result<ProvisionReport> provision(const ProvisionOptions& options) {
  if (!options.make_service) {
    return make_error("provision.start", "no service control to start the CN with");
  }
  Provisioner p(options);
  return p.run();
}

}  // namespace cc::snapshot

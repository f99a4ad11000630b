#include "snapshot/create.h"

#include <unistd.h>

#include <thread>

#include "node/control.h"
#include "node/datadir.h"
#include "storage/chaindb.h"
#include "storage/signjournal.h"
#include "util/bytes.h"
#include "util/clock.h"

namespace cc::snapshot {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The manifest header of the database in `dir`, read from the database itself.
Result<Manifest> describe_chaindata(const fs::path& dir) {
  storage::ChainDb::Options o;
  o.create_if_missing = false;
  o.read_only = true;
  auto db = storage::ChainDb::open(dir, o);
  if (!db.ok()) return Error{"snapshot.source", db.error().message};
  CC_TRY_ASSIGN(auto genesis, db->genesis_hash());
  CC_TRY_ASSIGN(auto head_hash, db->head_hash());
  CC_TRY_ASSIGN(auto head, db->head_header());
  CC_TRY_ASSIGN(auto chain_id, db->chain_id());
  if (!genesis || !head_hash || !head) {
    return make_error("snapshot.source",
                      "chaindata " + dir.string() + " has no chain yet (no genesis or head)");
  }
  if (!chain_id) {
    return make_error("snapshot.source", "chaindata " + dir.string() +
                                             " does not record its chain id (written by an "
                                             "older corecell): start the node once with this "
                                             "release, then snapshot it");
  }
  Manifest m;
  m.chain_id = *chain_id;
  m.genesis_hash = to_hex0x(*genesis);
  m.head_number = head->number;
  m.head_hash = to_hex0x(*head_hash);
  return m;
}

// Removes a directory tree when it goes out of scope (the online checkpoint).
struct RemoveTree {
  fs::path path;
  ~RemoveTree() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

Result<Manifest> archive_chaindata(const fs::path& dir, const CreateOptions& o,
                                   const std::string& mode, double& seconds) {
  CC_TRY_ASSIGN(Manifest header, describe_chaindata(dir));
  header.created = storage::format_rfc3339_ms(std::chrono::system_clock::now());
  header.source_node = o.source_node.empty() ? o.data_dir.string() : o.source_node;
  header.mode = mode;
  if (o.say) {
    o.say("archiving chaindata at head #" + std::to_string(header.head_number) + " (chain " +
          std::to_string(header.chain_id) + ") to " + o.out.string());
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto m = write_archive(dir, o.out, std::move(header), o.progress);
  seconds = seconds_since(t0);
  return m;
}

Result<CreateReport> create_online(const CreateOptions& o) {
  CreateReport r;
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path data_dir = fs::absolute(o.data_dir);
  // Inside klay/: the same filesystem as the chaindata, so RocksDB hard-links its SST files.
  RemoveTree checkpoint{node::klay_dir(data_dir) /
                        ("snapshot-checkpoint-" + std::to_string(::getpid()))};
  std::error_code ec;
  fs::remove_all(checkpoint.path, ec);
  if (o.say) o.say("asking the node for a chaindata checkpoint (it keeps running)");
  const auto c0 = std::chrono::steady_clock::now();
  auto reply =
      node::control_request(node::control_socket_path(data_dir),
                            json{{"cmd", "checkpoint"}, {"dir", checkpoint.path.string()}}, 120s);
  if (!reply.ok()) {
    return make_error("snapshot.source",
                      "online snapshot of " + data_dir.string() +
                          " needs the running node: " + reply.error().message +
                          (reply.error().code == "control.unreachable"
                               ? " (the node is not running: start it, or use --offline)"
                               : ""));
  }
  r.checkpoint_seconds = seconds_since(c0);
  if (o.say) {
    o.say("checkpoint at head #" + std::to_string(reply->value("/head/number"_json_pointer, 0)) +
          " in " + std::to_string(static_cast<long long>(r.checkpoint_seconds * 1000)) + " ms");
  }
  CC_TRY_ASSIGN(r.manifest, archive_chaindata(checkpoint.path, o, "online", r.archive_seconds));
  r.seconds = seconds_since(t0);
  return r;
}

// Waits until the node answers {"cmd":"status"} on its control socket.
bool wait_answering(const fs::path& data_dir, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (node::control_request(node::control_socket_path(data_dir), json{{"cmd", "status"}}, 1000ms)
            .ok()) {
      return true;
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

Result<CreateReport> create_offline(const CreateOptions& o) {
  if (o.service == nullptr) {
    return make_error("snapshot.service",
                      "the offline mode needs a service control to stop "
                      "and start the node");
  }
  CreateReport r;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string svc = o.service->describe();
  auto state = o.service->poll();
  if (!state.ok()) return Error{"snapshot.service", state.error().message};
  r.was_running = state->running;
  std::chrono::steady_clock::time_point stopped_at;
  if (r.was_running) {
    if (o.say) o.say("stopping the node (" + svc + ")");
    stopped_at = std::chrono::steady_clock::now();
    if (auto st = o.service->stop(o.stop_grace); !st.ok()) {
      return make_error("snapshot.service", "could not stop the node (" + svc + "): " +
                                                st.error().message + "; nothing was archived");
    }
    if (o.say) o.say("node stopped");
  } else if (o.say) {
    o.say("the node is not running (" + svc + "); archiving it as it is, and leaving it stopped");
  }
  auto archived =
      archive_chaindata(node::chaindata_dir(o.data_dir), o, "offline", r.archive_seconds);
  if (r.was_running) {
    if (o.say) o.say("starting the node again (" + svc + ")");
    auto st = o.service->start({});
    if (!st.ok() || !wait_answering(o.data_dir, o.start_timeout)) {
      return make_error("snapshot.service",
                        "the node did not come back (" + svc + "): " +
                            (st.ok() ? "no answer on its control socket within " +
                                           std::to_string(o.start_timeout.count() / 1000) + " s"
                                     : st.error().message) +
                            "; start it by hand. The snapshot " +
                            (archived.ok() ? "was written to " + o.out.string()
                                           : "failed: " + archived.error().message));
    }
    r.downtime_seconds = seconds_since(stopped_at);
    if (o.say) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f", *r.downtime_seconds);
      o.say(std::string("node answering again; it was down ") + buf + " s");
    }
  }
  if (!archived.ok()) return archived.error();
  r.manifest = std::move(archived).value();
  r.seconds = seconds_since(t0);
  return r;
}

}  // namespace

Result<CreateReport> create_snapshot(const CreateOptions& o) {
  std::error_code ec;
  if (fs::exists(o.out, ec)) {
    return make_error("snapshot.exists",
                      o.out.string() + " already exists: choose another --out or remove it");
  }
  if (!fs::is_directory(node::chaindata_dir(o.data_dir), ec)) {
    return make_error("snapshot.source", "no chaindata at " +
                                             node::chaindata_dir(o.data_dir).string() +
                                             ": --from must be a node's DATA_DIR");
  }
  return o.online ? create_online(o) : create_offline(o);
}

}  // namespace cc::snapshot

// tests/support/etcd.h — owns the real etcd (/usr/bin/etcd, the Debian 3.4 package) that tests
// run the `etcd` lease backend against: a 1- or 3-member cluster in a temp directory, member i
// on 127.0.(160+i).S (client port 23790, peer port 23800), where S is a slot 1..250 claimed with
// an flock on /tmp/cc-etcd-slots/S.lock so test processes running in parallel (ctest -j) never
// share addresses; a slot whose ports something else has bound is skipped. The constructor
// waits until every member reports /health; members can be stopped (SIGKILL, data kept),
// started again, or frozen (SIGSTOP: TCP still connects but nothing answers, like a hung host).
// Every process is killed and every file removed in the destructor, also when a test fails.
// Option: members inside network namespaces the caller made (EtcdCluster(InNetns{...})): member
// i runs as `ip netns exec NETNS_i etcd ...` on its own address there (no slot: a namespace has
// its addresses to itself), and the health checks run from a thread that entered the member's
// namespace (setns), since its address is reachable only from there.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/netns.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cc::testing {

class EtcdCluster {
 public:
  static constexpr const char* kEtcdBinary = "/usr/bin/etcd";
  static constexpr std::uint16_t kClientPort = 23790;
  static constexpr std::uint16_t kPeerPort = 23800;
  static constexpr const char* kSlotDir = "/tmp/cc-etcd-slots";  // empty lock files, kept

  // Starts `members` (1 or 3) and waits until all are healthy. Check ok() (and error()).
  explicit EtcdCluster(int members = 1,
                       std::chrono::milliseconds start_timeout = std::chrono::seconds(30)) {
    if (members != 1 && members != 3) {
      error_ = "EtcdCluster supports 1 or 3 members, not " + std::to_string(members);
      return;
    }
    if (!std::filesystem::exists(kEtcdBinary)) {
      error_ = std::string(kEtcdBinary) + " is missing: apt-get install etcd-server";
      return;
    }
    // A slot can look free and still be lost to a racing non-test process: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (!claim_slot()) return;
      members_.clear();
      for (int i = 0; i < members; ++i) members_.push_back(Member{ip_for(i), nullptr, {}});
      bool started = true;
      for (int i = 0; i < members && started; ++i) started = launch(i);
      if (started && wait_healthy(start_timeout)) {
        error_.clear();
        return;
      }
      error_ = "etcd slot " + std::to_string(slot_) + " did not become healthy within " +
               std::to_string(start_timeout.count()) + " ms: " + logs_tail();
      for (auto& m : members_) m.process.reset();
      members_.clear();
      release_slot();
    }
  }

  // Members inside network namespaces: netns[i] and ip[i] for member i (1 or 3 of them); `ip`
  // is the iproute2 binary that runs them (`ip netns exec`). Same ports, same API as above.
  struct InNetns {
    std::vector<std::string> netns;
    std::vector<std::string> ips;
    std::string ip_command = "/usr/sbin/ip";
  };
  explicit EtcdCluster(InNetns where,
                       std::chrono::milliseconds start_timeout = std::chrono::seconds(30)) {
    const std::size_t members = where.netns.size();
    if ((members != 1 && members != 3) || where.ips.size() != members) {
      error_ =
          "EtcdCluster in namespaces needs 1 or 3 members, each with a namespace and an "
          "address (" +
          std::to_string(members) + " namespaces, " + std::to_string(where.ips.size()) +
          " addresses given)";
      return;
    }
    if (!std::filesystem::exists(kEtcdBinary)) {
      error_ = std::string(kEtcdBinary) + " is missing: apt-get install etcd-server";
      return;
    }
    ip_command_ = where.ip_command;
    data_ = std::make_unique<TempDir>();
    for (std::size_t i = 0; i < members; ++i) {
      members_.push_back(Member{where.ips[i], nullptr, where.netns[i]});
    }
    bool started = true;
    for (int i = 0; i < size() && started; ++i) started = launch(i);
    if (!started) return;  // launch() said why
    if (!wait_healthy(start_timeout)) {
      error_ = "etcd in namespaces did not become healthy within " +
               std::to_string(start_timeout.count()) + " ms: " + logs_tail();
    }
  }

  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  ~EtcdCluster() {
    for (auto& m : members_) {
      if (m.process) m.process->signal(SIGCONT);  // a frozen etcd must die too
      m.process.reset();                          // SIGKILL + wait
    }
    release_slot();
  }

  [[nodiscard]] bool ok() const { return error_.empty() && !members_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] int size() const { return static_cast<int>(members_.size()); }

  // "http://127.0.160.S:23790", one per member, in member order.
  [[nodiscard]] std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
    return out;
  }
  [[nodiscard]] std::string endpoint(int i) const {
    return "http://" + members_.at(static_cast<std::size_t>(i)).ip + ":" +
           std::to_string(kClientPort);
  }

  // Kills member i (SIGKILL); its data directory stays for start().
  void stop(int i) {
    auto& m = members_.at(static_cast<std::size_t>(i));
    if (m.process) m.process->signal(SIGCONT);
    m.process.reset();
  }

  // Starts member i again from its data and waits until it reports healthy (which needs a
  // quorum of the cluster running). false on timeout.
  [[nodiscard]] bool start(int i, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto& m = members_.at(static_cast<std::size_t>(i));
    if (m.process && m.process->running()) return true;
    if (!launch(i)) return false;
    return wait_member_healthy(i, SteadyDeadline::clock::now() + timeout);
  }

  // SIGSTOP / SIGCONT: a frozen member still accepts TCP connections but answers nothing.
  void freeze(int i) { signal_member(i, SIGSTOP); }
  void thaw(int i) { signal_member(i, SIGCONT); }

  [[nodiscard]] bool wait_healthy(std::chrono::milliseconds timeout) {
    auto deadline = SteadyDeadline::clock::now() + timeout;
    for (int i = 0; i < size(); ++i) {
      if (!wait_member_healthy(i, deadline)) return false;
    }
    return true;
  }

  // The last lines of every member's log (for assertion messages).
  [[nodiscard]] std::string logs_tail() const {
    std::string out;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      std::string err = members_[i].process ? members_[i].process->err() : std::string();
      if (err.size() > 1500) err = "..." + err.substr(err.size() - 1500);
      out += "[etcd m" + std::to_string(i) + " " + members_[i].ip + "] " + err + "\n";
    }
    return out;
  }

 private:
  using SteadyDeadline = std::chrono::steady_clock::time_point;

  struct Member {
    std::string ip;
    std::unique_ptr<Process> process;
    std::string netns;  // empty: the test's own namespace
  };

  // Runs f() on a thread that entered network namespace `netns` (nullopt when it could not).
  template <typename F>
  static auto in_netns(const std::string& netns, F f) -> std::optional<decltype(f())> {
    return run_in_netns(netns, std::move(f));
  }

  [[nodiscard]] std::string ip_for(int i) const {
    return "127.0." + std::to_string(160 + i) + "." + std::to_string(slot_);
  }

  static bool port_free(const std::string& ip, std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as etcd (Go) binds
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  // Claims a slot not used by another test process (flock) nor bound by anything else.
  bool claim_slot() {
    static std::atomic<unsigned> counter{0};
    unsigned start = (static_cast<unsigned>(::getpid()) * 7u + counter++ * 31u) % 250u;
    std::error_code ec;
    std::filesystem::create_directories(kSlotDir, ec);
    for (unsigned k = 0; k < 250; ++k) {
      int slot = static_cast<int>((start + k) % 250u) + 1;
      std::string lock = std::string(kSlotDir) + "/" + std::to_string(slot) + ".lock";
      int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
      if (fd < 0) continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        continue;
      }
      slot_ = slot;
      bool free = true;
      for (int i = 0; i < 3 && free; ++i) {
        free = port_free(ip_for(i), kClientPort) && port_free(ip_for(i), kPeerPort);
      }
      if (free) {
        slot_fd_ = fd;
        data_ = std::make_unique<TempDir>();
        return true;
      }
      ::close(fd);
    }
    slot_ = 0;
    error_ = "no free etcd test slot (127.0.160-162.1-250 ports " + std::to_string(kClientPort) +
             "/" + std::to_string(kPeerPort) + ")";
    return false;
  }

  void release_slot() {
    data_.reset();
    if (slot_fd_ >= 0) ::close(slot_fd_);
    slot_fd_ = -1;
  }

  bool launch(int i) {
    auto& m = members_.at(static_cast<std::size_t>(i));
    std::string name = "m" + std::to_string(i);
    std::string cluster;
    for (int k = 0; k < size(); ++k) {
      cluster += (k ? "," : "") + std::string("m") + std::to_string(k) + "=http://" +
                 members_[static_cast<std::size_t>(k)].ip + ":" + std::to_string(kPeerPort);
    }
    std::string client = "http://" + m.ip + ":" + std::to_string(kClientPort);
    std::string peer = "http://" + m.ip + ":" + std::to_string(kPeerPort);
    std::vector<std::string> argv;
    if (!m.netns.empty()) argv = {ip_command_, "netns", "exec", m.netns};
    const std::vector<std::string> etcd_argv{
        kEtcdBinary,
        "--name",
        name,
        "--data-dir",
        (data_->path() / name).string(),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        cluster,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        "cc-test-" + std::to_string(::getpid()) + "-" + std::to_string(slot_),
        "--logger",
        "zap",
        "--log-level",
        "warn"};
    argv.insert(argv.end(), etcd_argv.begin(), etcd_argv.end());
    m.process = std::make_unique<Process>(argv);
    if (!m.process->started()) {
      error_ = "could not start " + std::string(kEtcdBinary);
      return false;
    }
    return true;
  }

  bool wait_member_healthy(int i, SteadyDeadline deadline) {
    const auto& m = members_.at(static_cast<std::size_t>(i));
    if (m.netns.empty()) return poll_member_healthy(i, deadline);
    // The member's address exists only inside its namespace: poll from a thread in there.
    return in_netns(m.netns, [&] { return poll_member_healthy(i, deadline); }).value_or(false);
  }

  bool poll_member_healthy(int i, SteadyDeadline deadline) {
    auto& m = members_.at(static_cast<std::size_t>(i));
    httplib::Client client(endpoint(i));
    client.set_connection_timeout(std::chrono::milliseconds(300));
    client.set_read_timeout(std::chrono::milliseconds(1000));
    while (SteadyDeadline::clock::now() < deadline) {
      if (!m.process || !m.process->running()) return false;  // exited (e.g. address in use)
      auto res = client.Get("/health");
      if (res && res->status == 200 && res->body.find("\"true\"") != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void signal_member(int i, int sig) {
    auto& m = members_.at(static_cast<std::size_t>(i));
    if (m.process) m.process->signal(sig);
  }

  int slot_ = 0;
  int slot_fd_ = -1;
  std::string ip_command_;
  std::unique_ptr<TempDir> data_;
  std::vector<Member> members_;  // destroyed (killed) before data_ is removed: see ~EtcdCluster
  std::string error_;
};

}  // namespace cc::testing

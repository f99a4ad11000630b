// node/control.h — owns the node's local control endpoint: a Unix stream socket at
// DATA_DIR/corecell.sock (mode 0600, so only the node's user can talk to it; never a TCP port)
// carrying one JSON request line and one JSON reply line per connection (the reply may come
// later for a deferred command):
//   -> {"cmd":"status"}
//   <- {"ok":true,"result":{...}}   or   {"ok":false,"error":{"code":"...","message":"..."}}
// The server only parses, dispatches to handlers its owner registers, and answers; what a
// command does is the owner's business (status today; signing permits later). It never blocks
// its io_context on a slow client: requests are bounded (kMaxControlRequestBytes) and a
// connection that has not sent a whole line within kControlRequestTimeout is closed.
// The client side (control_request) is what `corecell ctl` and tests use.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace cc::node {

inline constexpr std::size_t kMaxControlRequestBytes = std::size_t{64} * 1024;
inline constexpr std::chrono::milliseconds kControlRequestTimeout{2000};

// A handler gets the whole request object and returns the "result" value, or an Error that is
// sent back as {"ok":false,"error":...}.
using ControlHandler = std::function<Result<nlohmann::json>(const nlohmann::json& request)>;
// A handler that answers later (a long poll, e.g. the HA agent waiting for the node to ask for
// a higher signing ceiling): it calls `reply` once, on the server's io thread. A reply never
// made (the owner stopped) closes the connection, which the client sees as control.bad_reply.
using ControlReply = std::function<void(Result<nlohmann::json>)>;
using DeferredControlHandler =
    std::function<void(const nlohmann::json& request, ControlReply reply)>;

class ControlServer {
 public:
  // Handlers run on `io` (the owner's thread); register them all before start().
  explicit ControlServer(asio::io_context& io);
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void add_handler(const std::string& cmd, ControlHandler handler);
  void add_deferred_handler(const std::string& cmd, DeferredControlHandler handler);

  // Binds `path` (a stale socket file left by a crashed node is replaced: the caller holds the
  // DATA_DIR lock, so no live node owns it) and sets mode 0600. Error: control.bind_failed.
  [[nodiscard]] Status start(const std::filesystem::path& path);
  // Stops accepting and removes the socket file. Must run on the io thread or after it ended.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Sends one request to the control socket at `path` and returns the "result" of the reply.
// Errors: control.unreachable (no node listening there: names the path), control.timeout,
// control.bad_reply, or the server's own error code and message.
[[nodiscard]] Result<nlohmann::json> control_request(
    const std::filesystem::path& path, const nlohmann::json& request,
    std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});

}  // namespace cc::node

#include "node/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "util/files.h"
#include "util/log.h"

namespace cc::node {
namespace fs = std::filesystem;
using json = nlohmann::json;
using asio::local::stream_protocol;

namespace {

std::string reply_error(const Error& e) {
  return json{{"ok", false}, {"error", {{"code", e.code}, {"message", e.message}}}}.dump() + "\n";
}

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
  explicit Impl(asio::io_context& io_ctx) : io(io_ctx), acceptor(io_ctx) {}

  asio::io_context& io;
  stream_protocol::acceptor acceptor;
  std::map<std::string, ControlHandler> handlers;
  std::map<std::string, DeferredControlHandler> deferred_handlers;
  fs::path path;
  bool stopped = false;

  void accept() {
    acceptor.async_accept(
        [self = shared_from_this()](std::error_code ec, stream_protocol::socket socket) {
          if (self->stopped || ec == asio::error::operation_aborted) return;
          if (!ec) serve(self, std::make_shared<stream_protocol::socket>(std::move(socket)));
          self->accept();
        });
  }

  // One connection: read a line (bounded, with a deadline), answer, close.
  static void serve(const std::shared_ptr<Impl>& self,
                    const std::shared_ptr<stream_protocol::socket>& socket) {
    auto buffer = std::make_shared<asio::streambuf>(kMaxControlRequestBytes);
    auto timer = std::make_shared<asio::steady_timer>(self->io, kControlRequestTimeout);
    timer->async_wait([socket](std::error_code ec) {
      if (!ec) {
        std::error_code ignored;
        socket->close(ignored);
      }
    });
    asio::async_read_until(
        *socket, *buffer, '\n', [self, socket, buffer, timer](std::error_code ec, std::size_t n) {
          timer->cancel();
          std::string reply;
          if (ec) {
            if (ec == asio::error::not_found) {
              reply = reply_error(
                  {"control.request_too_large",
                   "request longer than " + std::to_string(kMaxControlRequestBytes) + " bytes"});
            } else {
              return;  // the client went away or timed out
            }
          } else {
            std::string line(asio::buffers_begin(buffer->data()),
                             asio::buffers_begin(buffer->data()) + static_cast<std::ptrdiff_t>(n));
            self->dispatch(line, [socket](std::string r) { respond(socket, std::move(r)); });
            return;
          }
          respond(socket, std::move(reply));
        });
  }

  static void respond(const std::shared_ptr<stream_protocol::socket>& socket, std::string reply) {
    auto out = std::make_shared<std::string>(std::move(reply));
    asio::async_write(*socket, asio::buffer(*out), [socket, out](std::error_code, std::size_t) {
      std::error_code ignored;
      socket->close(ignored);
    });
  }

  static std::string reply_of(Result<json> result) {
    if (!result.ok()) return reply_error(result.error());
    return json{{"ok", true}, {"result", std::move(*result)}}.dump() + "\n";
  }

  void dispatch(const std::string& line, const std::function<void(std::string)>& respond_with) {
    json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
      respond_with(reply_error({"control.bad_request", "request is not a JSON object line"}));
      return;
    }
    auto cmd = request.find("cmd");
    if (cmd == request.end() || !cmd->is_string()) {
      respond_with(reply_error({"control.bad_request", "request has no string field \"cmd\""}));
      return;
    }
    const std::string name = cmd->get<std::string>();
    if (auto deferred = deferred_handlers.find(name); deferred != deferred_handlers.end()) {
      deferred->second(request,
                       [respond_with](Result<json> r) { respond_with(reply_of(std::move(r))); });
      return;
    }
    auto handler = handlers.find(name);
    if (handler == handlers.end()) {
      std::string known;
      for (const auto& [n, h] : handlers) known += (known.empty() ? "" : ", ") + n;
      for (const auto& [n, h] : deferred_handlers) known += (known.empty() ? "" : ", ") + n;
      respond_with(reply_error(
          {"control.unknown_command", "unknown command \"" + name + "\"; known: " + known}));
      return;
    }
    respond_with(reply_of(handler->second(request)));
  }
};

ControlServer::ControlServer(asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::add_handler(const std::string& cmd, ControlHandler handler) {
  impl_->handlers[cmd] = std::move(handler);
}

void ControlServer::add_deferred_handler(const std::string& cmd, DeferredControlHandler handler) {
  impl_->deferred_handlers[cmd] = std::move(handler);
}

Status ControlServer::start(const fs::path& path) {
  std::error_code fs_ec;
  fs::remove(path, fs_ec);  // a stale socket from a crashed run; we hold the DATA_DIR lock
  std::error_code ec;
  impl_->acceptor.open(stream_protocol(), ec);
  if (!ec) impl_->acceptor.bind(stream_protocol::endpoint(path.string()), ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error("control.bind_failed",
                      "cannot listen on the control socket " + path.string() + ": " + ec.message());
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    int err = errno;
    return make_error("control.bind_failed",
                      "cannot set mode 0600 on " + path.string() + ": " + errno_text(err));
  }
  impl_->path = path;
  impl_->accept();
  return {};
}

void ControlServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  std::error_code ec;
  impl_->acceptor.close(ec);
  if (!impl_->path.empty()) fs::remove(impl_->path, ec);
}

Result<json> control_request(const fs::path& path, const json& request,
                             std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof(addr.sun_path)) {
    return make_error("control.unreachable", "control socket path too long: " + path.string());
  }
  std::memcpy(addr.sun_path, path.c_str(), path.string().size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error("control.unreachable", "socket(): " + errno_text(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    return make_error("control.unreachable", "no node is listening on " + path.string() + " (" +
                                                 errno_text(err) +
                                                 "); is the node running with this DATA_DIR?");
  }
  std::string line = request.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("control.unreachable",
                        "send to " + path.string() + ": " + errno_text(errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (reply.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return make_error("control.timeout", "no reply from " + path.string() + " within " +
                                               std::to_string(timeout.count()) + " ms");
    }
    pollfd pfd{fd, POLLIN, 0};
    int pr = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;  // loop re-checks the deadline
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.size() > (std::size_t{16} << 20)) break;
  }
  json parsed = json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ok")) {
    return make_error("control.bad_reply", "unreadable reply from " + path.string());
  }
  if (parsed["ok"] != true) {
    const json& e = parsed["error"];
    std::string code = e.is_object() && e.contains("code") && e["code"].is_string()
                           ? e["code"].get<std::string>()
                           : "control.error";
    std::string message = e.is_object() && e.contains("message") && e["message"].is_string()
                              ? e["message"].get<std::string>()
                              : "the node reported an error";
    return make_error(code, message);
  }
  return parsed["result"];
}

}  // namespace cc::node

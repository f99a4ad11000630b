// The control endpoint: a real Unix socket in a temp dir, mode 0600, one JSON line each way;
// unknown commands, malformed lines, oversize requests and handler errors get typed errors;
// a client with no server gets control.unreachable.
#include "node/control.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

namespace cc::node {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cc-control-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sock_ = dir_ / "corecell.sock";
    server_ = std::make_unique<ControlServer>(io_);
    server_->add_handler("status", [](const json&) -> Result<json> { return json{{"head", 7}}; });
    server_->add_handler("fail", [](const json&) -> Result<json> {
      return make_error("node.refused", "refused on purpose");
    });
    // A long poll: answered when "release" arrives on another connection (or never).
    server_->add_deferred_handler("wait", [this](const json& r, ControlReply reply) {
      if (r.value("now", false)) {
        reply(json{{"waited", false}});
        return;
      }
      waiting_.push_back(std::move(reply));
    });
    server_->add_handler("release", [this](const json&) -> Result<json> {
      for (auto& reply : waiting_) reply(json{{"waited", true}});
      const std::size_t n = waiting_.size();
      waiting_.clear();
      return json{{"released", n}};
    });
    ASSERT_TRUE(server_->start(sock_).ok());
    guard_.emplace(asio::make_work_guard(io_));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); });
    guard_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
    fs::remove_all(dir_);
  }

  // Sends raw bytes and returns whatever the server answers before closing.
  std::string raw_exchange(const std::string& bytes) const {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
  }

  fs::path dir_;
  fs::path sock_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
  std::vector<ControlReply> waiting_;  // io thread only
};

TEST_F(ControlTest, SocketIsOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(::stat(sock_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlTest, AnswersARegisteredCommand) {
  auto r = control_request(sock_, json{{"cmd", "status"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["head"], 7);
}

TEST_F(ControlTest, HandlerErrorReachesTheClientWithItsCode) {
  auto r = control_request(sock_, json{{"cmd", "fail"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "node.refused");
}

TEST_F(ControlTest, DeferredCommandAnswersLaterWhileOtherCommandsAreServed) {
  auto now = control_request(sock_, json{{"cmd", "wait"}, {"now", true}});
  ASSERT_TRUE(now.ok()) << now.error().message;
  EXPECT_EQ((*now)["waited"], false);
  std::optional<Result<json>> later;
  std::thread waiter([&] { later = control_request(sock_, json{{"cmd", "wait"}}); });
  // The server keeps answering other clients while the long poll is parked.
  json released;
  for (int i = 0; i < 200; ++i) {
    auto st = control_request(sock_, json{{"cmd", "status"}});
    ASSERT_TRUE(st.ok());
    auto r = control_request(sock_, json{{"cmd", "release"}});
    ASSERT_TRUE(r.ok());
    if ((*r)["released"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  waiter.join();
  ASSERT_TRUE(later.has_value());
  ASSERT_TRUE(later->ok()) << later->error().message;
  EXPECT_EQ((**later)["waited"], true);
}

TEST_F(ControlTest, DeferredReplyNeverMadeClosesTheConnection) {
  std::optional<Result<json>> r;
  std::thread waiter([&] { r = control_request(sock_, json{{"cmd", "wait"}}); });
  const auto parked = [this] {
    std::promise<bool> p;
    asio::post(io_, [&] { p.set_value(!waiting_.empty()); });
    return p.get_future().get();
  };
  for (int i = 0; i < 200 && !parked(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  asio::post(io_, [this] { waiting_.clear(); });  // the owner drops it (e.g. it stopped)
  waiter.join();
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->error().code, "control.bad_reply");
}

TEST_F(ControlTest, UnknownCommandListsKnownOnes) {
  auto r = control_request(sock_, json{{"cmd", "launch"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "control.unknown_command");
  EXPECT_NE(r.error().message.find("status"), std::string::npos);
  EXPECT_NE(r.error().message.find("wait"), std::string::npos);
}

TEST_F(ControlTest, MalformedLineIsABadRequestAndTheServerKeepsServing) {
  auto reply = json::parse(raw_exchange("{not json\n"));
  EXPECT_EQ(reply["ok"], false);
  EXPECT_EQ(reply["error"]["code"], "control.bad_request");
  EXPECT_TRUE(control_request(sock_, json{{"cmd", "status"}}).ok());
}

TEST_F(ControlTest, OversizeRequestIsRefused) {
  auto reply = json::parse(raw_exchange(std::string(kMaxControlRequestBytes + 10, 'x')));
  EXPECT_EQ(reply["error"]["code"], "control.request_too_large");
  EXPECT_TRUE(control_request(sock_, json{{"cmd", "status"}}).ok());
}

TEST_F(ControlTest, SilentClientIsClosedAfterTheTimeout) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  // Meanwhile other clients are served.
  EXPECT_TRUE(control_request(sock_, json{{"cmd", "status"}}).ok());
  char c;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // EOF once the server gives up on us
  EXPECT_LT(std::chrono::steady_clock::now() - start, kControlRequestTimeout * 3);
  ::close(fd);
}

TEST(ControlClient, NoServerIsUnreachableAndNamesThePath) {
  auto r = control_request("/tmp/cc-no-such-dir/corecell.sock", json{{"cmd", "status"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "control.unreachable");
  EXPECT_NE(r.error().message.find("/tmp/cc-no-such-dir/corecell.sock"), std::string::npos);
}

}  // namespace
}  // namespace cc::node

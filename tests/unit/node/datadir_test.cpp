// Specification of the DATA_DIR layout and of opening a DATA_DIR (node/datadir.h), on real
// directories and with a real second process.
#include "node/datadir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"
#include "util/files.h"

namespace cc::node {
namespace {

namespace fs = std::filesystem;
using cc::testing::TempDir;
using ::testing::HasSubstr;

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

mode_t mode_of(const fs::path& p) { return file_mode(p).value(); }

TEST(DataDirLayout, MatchesKaia) {
  fs::path d = "/var/kcnd/data";
  EXPECT_EQ(klay_dir(d), "/var/kcnd/data/klay");
  EXPECT_EQ(nodekey_path(d), "/var/kcnd/data/klay/nodekey");
  EXPECT_EQ(legacy_nodekey_path(d), "/var/kcnd/data/nodekey");
  EXPECT_EQ(chaindata_dir(d), "/var/kcnd/data/klay/chaindata");
  EXPECT_EQ(static_nodes_path(d), "/var/kcnd/data/static-nodes.json");
  EXPECT_EQ(klay_static_nodes_path(d), "/var/kcnd/data/klay/static-nodes.json");
  EXPECT_EQ(signstate_path(d), "/var/kcnd/data/klay/signstate");
  EXPECT_EQ(signjournal_path(d), "/var/kcnd/data/klay/signjournal");
  EXPECT_EQ(lock_path(d), "/var/kcnd/data/klay/LOCK");
  EXPECT_EQ(logs_dir(d), "/var/kcnd/data/logs");
  EXPECT_EQ(control_socket_path(d), "/var/kcnd/data/corecell.sock");
}

TEST(DataDirLayout, StaticNodesPreferDataDirThenKlay) {
  TempDir t;
  fs::create_directories(t.path() / "klay");
  EXPECT_EQ(static_nodes_path_in_use(t.path()), t.path() / "static-nodes.json");
  write(t.path() / "klay" / "static-nodes.json", "[]");
  EXPECT_EQ(static_nodes_path_in_use(t.path()), t.path() / "klay" / "static-nodes.json");
  write(t.path() / "static-nodes.json", "[]");
  EXPECT_EQ(static_nodes_path_in_use(t.path()), t.path() / "static-nodes.json");
}

TEST(DataDirOpen, CreatesMissingDirectoriesPrivately) {
  TempDir t;
  fs::path d = t.path() / "a" / "data";
  auto dd = open_datadir(d);
  ASSERT_TRUE(dd.ok()) << dd.error().message;
  EXPECT_EQ(dd->root(), d);
  EXPECT_TRUE(fs::is_directory(d / "klay"));
  EXPECT_TRUE(fs::is_directory(d / "logs"));
  EXPECT_EQ(mode_of(d), 0700u);
  EXPECT_EQ(mode_of(d / "klay"), 0700u);
  EXPECT_EQ(mode_of(d / "logs"), 0700u);
  // The lock file names its holder for operators.
  EXPECT_EQ(read_file(d / "klay" / "LOCK").value(), std::to_string(::getpid()) + "\n");
  // No probe files are left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++entries;
  EXPECT_EQ(entries, 2u);  // klay, logs
  EXPECT_EQ(dd->chaindata(), d / "klay" / "chaindata");
  EXPECT_EQ(dd->signstate(), d / "klay" / "signstate");
  EXPECT_EQ(dd->signjournal(), d / "klay" / "signjournal");
  EXPECT_EQ(dd->logs(), d / "logs");
  EXPECT_EQ(dd->control_socket(), d / "corecell.sock");
}

TEST(DataDirOpen, KeepsAnExistingDataDirAsItIs) {
  TempDir t;
  fs::create_directories(t.path() / "klay" / "chaindata");
  write(t.path() / "klay" / "chaindata" / "CURRENT", "MANIFEST-1\n");
  fs::permissions(t.path(), fs::perms(0750), fs::perm_options::replace);
  auto dd = open_datadir(t.path());
  ASSERT_TRUE(dd.ok()) << dd.error().message;
  EXPECT_EQ(read_file(t.path() / "klay" / "chaindata" / "CURRENT").value(), "MANIFEST-1\n");
  EXPECT_EQ(mode_of(t.path()), 0750u);  // an operator's choice on an existing directory stays
}

TEST(DataDirOpen, MakesARelativePathAbsolute) {
  TempDir t;
  fs::path old = fs::current_path();
  fs::current_path(t.path());
  auto dd = open_datadir("rel/data/");
  fs::current_path(old);
  ASSERT_TRUE(dd.ok()) << dd.error().message;
  EXPECT_EQ(dd->root(), t.path() / "rel" / "data");
  EXPECT_TRUE(dd->root().is_absolute());
}

TEST(DataDirOpen, RefusesADataDirThatIsAFile) {
  TempDir t;
  fs::path f = t.path() / "data";
  write(f, "not a dir");
  auto dd = open_datadir(f);
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.not_a_directory");
  EXPECT_EQ(dd.error().message, "DATA_DIR " + f.string() +
                                    " is a regular file, not a directory; move it away or point "
                                    "DATA_DIR elsewhere");
}

TEST(DataDirOpen, RefusesAKlayThatIsAFile) {
  TempDir t;
  write(t.path() / "klay", "x");
  auto dd = open_datadir(t.path());
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.not_a_directory");
  EXPECT_THAT(dd.error().message, HasSubstr("DATA_DIR/klay " + (t.path() / "klay").string()));
}

TEST(DataDirOpen, RefusesAPathUnderAFile) {
  TempDir t;
  write(t.path() / "file", "x");
  auto dd = open_datadir(t.path() / "file" / "data");
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.create");
  EXPECT_THAT(dd.error().message, HasSubstr("cannot create DATA_DIR"));
  EXPECT_THAT(dd.error().message, HasSubstr((t.path() / "file" / "data").string()));
}

TEST(DataDirOpen, RefusesADanglingSymlinkButFollowsAGoodOne) {
  TempDir t;
  fs::create_symlink(t.path() / "missing", t.path() / "dangling");
  auto bad = open_datadir(t.path() / "dangling");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "datadir.dangling_link");

  fs::create_directories(t.path() / "real");
  fs::create_directory_symlink(t.path() / "real", t.path() / "link");
  auto good = open_datadir(t.path() / "link");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_TRUE(fs::is_directory(t.path() / "real" / "klay"));
}

TEST(DataDirOpen, RefusesAnUnwritableDataDir) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write to a mode-0500 directory";
  TempDir t;
  fs::create_directories(t.path() / "d" / "klay");
  fs::permissions(t.path() / "d", fs::perms(0500), fs::perm_options::replace);
  auto dd = open_datadir(t.path() / "d");
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.not_writable");
  EXPECT_THAT(dd.error().message, HasSubstr("is not writable by this user"));
}

TEST(DataDirOpen, RefusesADirectoryNoOneCanWriteEvenRoot) {
  // procfs refuses new files to every user, so this runs as root too.
  auto dd = open_datadir("/proc/self");
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.not_writable");
  EXPECT_THAT(dd.error().message, HasSubstr("DATA_DIR /proc/self is not writable"));
}

TEST(DataDirOpen, RefusesAnEmptyPath) {
  auto dd = open_datadir("");
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.empty");
}

TEST(DataDirOpen, RefusesAPathTooLongForTheControlSocket) {
  TempDir t;
  fs::path d = t.path() / std::string(120, 'd');
  auto dd = open_datadir(d);
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.path_too_long");
  EXPECT_THAT(dd.error().message, HasSubstr("Unix sockets allow 107"));
  EXPECT_FALSE(fs::exists(d));  // refused before creating anything
}

TEST(DataDirLock, SecondOpenInTheSameProcessFailsUntilTheFirstIsGone) {
  TempDir t;
  {
    auto first = open_datadir(t.path());
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = open_datadir(t.path());
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, "lock.held");
  }
  EXPECT_TRUE(open_datadir(t.path()).ok());
}

TEST(DataDirLock, HeldByAnotherProcessIsAClearError) {
  TempDir t;
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    ::close(release[1]);
    auto dd = open_datadir(t.path());
    char c = dd.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(release[0], &c, 1);  // hold the DATA_DIR until the parent is done
    ::_exit(dd.ok() ? 0 : 1);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');

  auto dd = open_datadir(t.path());
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "lock.held");
  EXPECT_THAT(dd.error().message, HasSubstr("DATA_DIR " + t.path().string()));
  EXPECT_THAT(dd.error().message,
              HasSubstr("in use by another process (pid " + std::to_string(child) + ")"));

  ::close(release[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(ready[0]);
  // The lock dies with its holder.
  EXPECT_TRUE(open_datadir(t.path()).ok());
}

TEST(DataDirNodekey, LegacyLocationWinsWhenPresent) {
  TempDir t;
  auto dd = open_datadir(t.path());
  ASSERT_TRUE(dd.ok()) << dd.error().message;
  EXPECT_EQ(dd->nodekey(), t.path() / "klay" / "nodekey");
  write(t.path() / "nodekey", std::string(64, 'a'));
  EXPECT_EQ(dd->nodekey(), t.path() / "nodekey");
}

TEST(DataDirNodekey, TwoDifferentKeysAreRefused) {
  TempDir t;
  fs::create_directories(t.path() / "klay");
  write(t.path() / "nodekey", std::string(64, 'a'));
  write(t.path() / "klay" / "nodekey", std::string(64, 'b'));
  auto dd = open_datadir(t.path());
  ASSERT_FALSE(dd.ok());
  EXPECT_EQ(dd.error().code, "datadir.nodekey_conflict");
  EXPECT_THAT(dd.error().message, HasSubstr((t.path() / "nodekey").string() + " (legacy"));
  EXPECT_THAT(dd.error().message, HasSubstr((t.path() / "klay" / "nodekey").string()));
  // The refused open released the lock.
  fs::remove(t.path() / "nodekey");
  EXPECT_TRUE(open_datadir(t.path()).ok());
}

TEST(DataDirNodekey, TheSameKeyInBothPlacesIsAccepted) {
  TempDir t;
  fs::create_directories(t.path() / "klay");
  write(t.path() / "nodekey", std::string(64, 'a') + "\n");
  write(t.path() / "klay" / "nodekey", std::string(64, 'a'));
  EXPECT_TRUE(open_datadir(t.path()).ok());
}

}  // namespace
}  // namespace cc::node

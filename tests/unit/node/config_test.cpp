// Specification of the node configuration (node/config.h): keys, types, defaults per role,
// precedence of flags over the file, and the messages operators see.
#include "node/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "crypto/secp256k1.h"
#include "util/bytes.h"

namespace cc::node {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string node_id(std::uint8_t seed) {
  FixedBytes<32> secret{};
  secret[31] = seed;
  return to_hex(crypto::public_key_of(crypto::PrivateKey::from_bytes(secret).value()));
}

const char* kChecksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";  // EIP-55 example

Result<NodeConfig> from_text(Role role, const std::string& text,
                             const std::vector<ConfigOverride>& overrides = {}) {
  return node_config_from_text(role, text, std::string(conf_file_name(role)), "/etc/kcnd/conf",
                               overrides);
}

NodeConfig ok(Result<NodeConfig> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : NodeConfig{};
}

Error err(Result<NodeConfig> r) {
  EXPECT_FALSE(r.ok()) << "loaded, but expected an error";
  return r.ok() ? Error{} : r.error();
}

std::string realistic_kcnd_conf() {
  std::ostringstream s;
  s << "# kcnd.conf for the CN of cell alpha (Kaia-style; corecell reads it as is)\n"
       "\n"
       "# mainnet/kairos are Kaia networks; a private network sets NETWORK_ID\n"
       "NETWORK=\"mainnet\"\n"
       "NETWORK_ID=8888\n"
       "GENESIS=genesis.json\n"
       "\n"
       "PORT=32323\n"
       "SERVER_TYPE=\"http\"\n"
       "SYNCMODE=\"full\"\n"
       "VERBOSITY=3\n"
       "MAXCONNECTIONS=100\n"
       "# LDBCACHESIZE=10240\n"
       "REWARDBASE=\""
    << kChecksummed
    << "\"\n"
       "\n"
       "# txpool options setting\n"
       "TXPOOL_EXEC_SLOTS_ALL=16384\n"
       "TXPOOL_NONEXEC_SLOTS_ALL=16384\n"
       "TXPOOL_EXEC_SLOTS_ACCOUNT=16384\n"
       "TXPOOL_NONEXEC_SLOTS_ACCOUNT=16384\n"
       "TXPOOL_LIFE_TIME=\"5m\"\n"
       "\n"
       "# rpc options setting\n"
       "RPC_ENABLE=1 # if this is set, the following options will be used\n"
       "RPC_API=\"klay,eth,net,web3,istanbul\" # available apis: admin,debug,klay,eth,net\n"
       "RPC_PORT=8551\n"
       "RPC_ADDR=\"127.0.0.1\"\n"
       "RPC_CORSDOMAIN=\"*\"\n"
       "RPC_VHOSTS=\"*\"\n"
       "\n"
       "# ws options setting\n"
       "WS_ENABLE=0\n"
       "WS_API=\"klay,eth,net,web3\"\n"
       "WS_ADDR=\"0.0.0.0\"\n"
       "WS_PORT=8552\n"
       "WS_ORIGINS=\"*\"\n"
       "\n"
       "# Setting 1 is to enable options, otherwise disabled.\n"
       "AUTO_RESTART=0\n"
       "METRICS=1\n"
       "PROMETHEUS=1\n"
       "DB_NO_PARALLEL_WRITE=0\n"
       "MULTICHANNEL=1\n"
       "SUBPORT=$((PORT + 1)) # used for multi channel option\n"
       "\n"
       "# discover options\n"
       "NO_DISCOVER=1 # setting 1 to disable discovery\n"
       "BOOTNODES=\"\"\n"
       "\n"
       "# log rotation related options\n"
       "LOG_ROTATE=0\n"
       "LOG_MAXSIZE=100 # the unit is MB\n"
       "LOG_MAXBACKUPS=10\n"
       "LOG_MAXAGE=30\n"
       "LOG_COMPRESS=1\n"
       "\n"
       "# Raw options e.g) \"--txpool.nolocals\"\n"
       "ADDITIONAL=\"--txpool.nolocals\"\n"
       "\n"
       "# auto restart options\n"
       "AUTO_RESTART_NODE=0\n"
       "AUTO_RESTART_INTERVAL=0.1\n"
       "\n"
       "# corecell: the cell's address, who may connect as a CN, this cell's PNs, HA permit\n"
       "export PUBLIC_IP=10.11.2.101\n"
       "CN_ALLOWLIST=\"10.11.2.102, 10.11.2.103,10.11.2.104\"\n"
       "PROXY_NODES=\"kni://"
    << node_id(7) << "@10.11.3.101:32323?discport=0&ntype=pn," << node_id(8)
    << "\"\n"
       "REQUIRE_SIGNING_PERMIT=1\n"
       "\n"
       "DATA_DIR=/var/kcnd/data\n"
       "LOG_DIR=$DATA_DIR/logs\n";
  return s.str();
}

TEST(NodeConfigDefaults, DependOnRole) {
  NodeConfig cn = default_node_config(Role::cn);
  EXPECT_EQ(cn.role, Role::cn);
  EXPECT_EQ(cn.port, 32323);
  EXPECT_EQ(cn.subport, 32324);
  EXPECT_EQ(cn.verbosity, 3);
  EXPECT_EQ(cn.syncmode, "full");
  EXPECT_FALSE(cn.rpc_enable);
  EXPECT_EQ(cn.rpc_port, 8551);
  EXPECT_EQ(cn.rpc_addr, "127.0.0.1");
  EXPECT_EQ(cn.rpc_api, (std::vector<std::string>{"klay", "eth", "net", "web3"}));
  EXPECT_EQ(cn.ws_port, 8552);
  EXPECT_EQ(cn.prometheus_port, 61001);
  EXPECT_EQ(cn.data_dir, fs::path("/var/kcnd/data"));
  EXPECT_EQ(cn.log_dir, fs::path("/var/kcnd/data/logs"));
  EXPECT_TRUE(cn.no_discover);
  EXPECT_EQ(cn.max_connections, 100u);
  EXPECT_EQ(cn.txpool_exec_slots_all, 16384u);
  EXPECT_FALSE(cn.require_signing_permit);
  EXPECT_FALSE(cn.network_id.has_value());
  EXPECT_TRUE(cn.origins.empty());

  NodeConfig pn = default_node_config(Role::pn);
  EXPECT_EQ(pn.data_dir, fs::path("/var/kpnd/data"));
  EXPECT_EQ(pn.max_connections, 200u);
  EXPECT_FALSE(pn.no_discover);
  EXPECT_EQ(pn.txpool_exec_slots_all, 8192u);

  NodeConfig en = default_node_config(Role::en);
  EXPECT_EQ(en.data_dir, fs::path("/var/kend/data"));
  EXPECT_EQ(en.log_dir, fs::path("/var/kend/data/logs"));
  EXPECT_EQ(en.txpool_life_time, std::chrono::minutes(30));

  // Loading with no file and no flags gives the defaults.
  NodeConfig loaded = ok(load_node_config(Role::pn, std::nullopt));
  EXPECT_EQ(to_conf_text(loaded), to_conf_text(pn));
}

TEST(NodeConfigFile, LoadsARealisticKaiaStyleKcndConf) {
  NodeConfig c = ok(from_text(Role::cn, realistic_kcnd_conf()));
  EXPECT_EQ(c.network_id, 8888u);
  EXPECT_EQ(c.genesis, fs::path("/etc/kcnd/conf/genesis.json"));
  EXPECT_EQ(c.port, 32323);
  EXPECT_EQ(c.subport, 32324);
  EXPECT_TRUE(c.multichannel);
  EXPECT_EQ(c.server_type, "http");
  EXPECT_EQ(c.max_connections, 100u);
  ASSERT_TRUE(c.rewardbase.has_value());
  EXPECT_EQ(to_hex0x(*c.rewardbase), "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  EXPECT_EQ(c.txpool_life_time, std::chrono::minutes(5));
  EXPECT_TRUE(c.rpc_enable);
  EXPECT_EQ(c.rpc_api, (std::vector<std::string>{"klay", "eth", "net", "web3", "istanbul"}));
  EXPECT_FALSE(c.ws_enable);
  EXPECT_EQ(c.ws_addr, "0.0.0.0");
  EXPECT_TRUE(c.metrics);
  EXPECT_TRUE(c.prometheus);
  EXPECT_TRUE(c.no_discover);
  EXPECT_TRUE(c.bootnodes.empty());
  EXPECT_EQ(c.additional, "--txpool.nolocals");
  EXPECT_EQ(c.public_ip, "10.11.2.101");
  EXPECT_EQ(c.cn_allowlist,
            (std::vector<std::string>{"10.11.2.102", "10.11.2.103", "10.11.2.104"}));
  ASSERT_EQ(c.proxy_nodes.size(), 2u);
  EXPECT_THAT(c.proxy_nodes[0], StartsWith("kni://" + node_id(7)));
  EXPECT_EQ(c.proxy_nodes[1], node_id(8));
  EXPECT_TRUE(c.require_signing_permit);
  EXPECT_EQ(c.data_dir, fs::path("/var/kcnd/data"));
  EXPECT_EQ(c.log_dir, fs::path("/var/kcnd/data/logs"));
  EXPECT_EQ(c.origins.at("PORT"), "kcnd.conf:8");
  EXPECT_EQ(c.origins.at("SUBPORT"), "kcnd.conf:44");

  // Kaia settings corecell ignores are named once each; gated ones (LOG_MAXSIZE with
  // LOG_ROTATE=0) and switched-off ones (DB_NO_PARALLEL_WRITE=0) stay quiet.
  ASSERT_EQ(c.warnings.size(), 4u) << ::testing::PrintToString(c.warnings);
  EXPECT_THAT(c.warnings[0], StartsWith("kcnd.conf:4: NETWORK is a Kaia setting"));
  EXPECT_THAT(c.warnings[1], StartsWith("kcnd.conf:28: RPC_CORSDOMAIN"));
  EXPECT_THAT(c.warnings[2], StartsWith("kcnd.conf:29: RPC_VHOSTS"));
  EXPECT_THAT(c.warnings[3], StartsWith("kcnd.conf:36: WS_ORIGINS"));
}

TEST(NodeConfigFile, RelativePathsResolveAgainstTheFilesDirectory) {
  fs::path dir = fs::temp_directory_path() / ("cc-config-" + std::to_string(::getpid()));
  fs::create_directories(dir / "conf");
  fs::path conf = dir / "conf" / "kpnd.conf";
  std::ofstream(conf) << "DATA_DIR=../data/\nGENESIS=./g.json\n";
  NodeConfig c = ok(load_node_config(Role::pn, conf));
  EXPECT_EQ(c.data_dir, dir / "data");
  EXPECT_EQ(c.log_dir, dir / "data" / "logs");
  EXPECT_EQ(c.genesis, dir / "conf" / "g.json");
  ASSERT_TRUE(c.conf_path.has_value());
  EXPECT_EQ(*c.conf_path, conf);
  EXPECT_EQ(c.origins.at("DATA_DIR"), conf.string() + ":1");
  fs::remove_all(dir);
}

TEST(NodeConfigFile, MissingFileIsAnErrorNamingIt) {
  Error e = err(load_node_config(Role::cn, fs::path("/nonexistent/kcnd.conf")));
  EXPECT_THAT(e.message, HasSubstr("/nonexistent/kcnd.conf"));
}

TEST(NodeConfigFile, SyntaxErrorsKeepTheirLineNumbers) {
  Error e = err(from_text(Role::cn, "PORT=1\nRPC_API=\"klay\n"));
  EXPECT_THAT(e.message, StartsWith("kcnd.conf:2: unterminated double quote"));
}

TEST(NodeConfigFile, EmptyValueMeansDefault) {
  NodeConfig c = ok(from_text(Role::en, "NETWORK_ID=\nDATA_DIR=\nPORT=\nRPC_API=\n"));
  EXPECT_FALSE(c.network_id.has_value());
  EXPECT_EQ(c.data_dir, fs::path("/var/kend/data"));
  EXPECT_EQ(c.port, 32323);
  EXPECT_EQ(c.rpc_api.size(), 4u);
  EXPECT_TRUE(c.origins.empty());
  EXPECT_TRUE(c.warnings.empty());
}

TEST(NodeConfigFile, SubportFollowsPortUnlessSet) {
  EXPECT_EQ(ok(from_text(Role::pn, "PORT=40000\n")).subport, 40001);
  EXPECT_EQ(ok(from_text(Role::pn, "PORT=40000\nSUBPORT=50000\n")).subport, 50000);
  EXPECT_EQ(ok(from_text(Role::pn, "", {{"PORT", "41000", "--port"}})).subport, 41001);
  Error e = err(from_text(Role::pn, "PORT=65535\nMULTICHANNEL=1\n"));
  EXPECT_THAT(e.message, HasSubstr("PORT + 1 = 65536"));
  EXPECT_THAT(e.message, HasSubstr("kpnd.conf:1"));
}

TEST(NodeConfigFile, LaterAssignmentWinsWithAWarning) {
  NodeConfig c = ok(from_text(Role::cn, "PORT=abc\nPORT=30000\n"));
  EXPECT_EQ(c.port, 30000);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0],
            "kcnd.conf:2: PORT is set again (also on line 1); the value on line 2 is used");
}

TEST(NodeConfigWarnings, UnknownKeySuggestsTheClosestKnownOne) {
  NodeConfig c = ok(from_text(Role::cn, "PORT=1\nRPC_PROT=8551\nrpc_port=1\nWHATEVER_THIS_IS=1\n"));
  ASSERT_EQ(c.warnings.size(), 3u);
  EXPECT_EQ(c.warnings[0], "kcnd.conf:2: unknown key RPC_PROT (did you mean RPC_PORT?); ignored");
  EXPECT_EQ(c.warnings[1], "kcnd.conf:3: unknown key rpc_port (did you mean RPC_PORT?); ignored");
  EXPECT_EQ(c.warnings[2], "kcnd.conf:4: unknown key WHATEVER_THIS_IS; ignored");
  EXPECT_EQ(c.rpc_port, 8551);  // the misspelt key changed nothing
}

TEST(NodeConfigWarnings, CnOnlyKeysAreIgnoredForOtherRoles) {
  std::string text = std::string("REWARDBASE=") + kChecksummed + "\nREQUIRE_SIGNING_PERMIT=1\n";
  NodeConfig pn = ok(from_text(Role::pn, text));
  EXPECT_FALSE(pn.rewardbase.has_value());
  EXPECT_FALSE(pn.require_signing_permit);
  ASSERT_EQ(pn.warnings.size(), 2u);
  EXPECT_EQ(pn.warnings[0], "kpnd.conf:1: REWARDBASE applies only to role cn; ignored for role pn");
  Error e = err(from_text(Role::en, "", {{"REWARDBASE", kChecksummed, "--rewardbase"}}));
  EXPECT_EQ(e.code, "config.wrong_role");
  EXPECT_THAT(e.message, StartsWith("flag --rewardbase: REWARDBASE applies only to role cn"));
}

TEST(NodeConfigWarnings, UnknownApiNamesAreFlagged) {
  NodeConfig c = ok(from_text(Role::en, "RPC_API=\"klay, eth ,web4\"\n"));
  EXPECT_EQ(c.rpc_api, (std::vector<std::string>{"klay", "eth", "web4"}));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_THAT(c.warnings[0], StartsWith("kend.conf:1: RPC_API lists API 'web4'"));
}

TEST(NodeConfigErrors, TypeErrorsNameFileLineKeyValueAndExpectedForm) {
  Error e = err(from_text(Role::cn, "# c\n\n\n\n\n\nPORT=\"abc\"\n"));
  EXPECT_EQ(e.code, "config.invalid");
  EXPECT_EQ(e.message, "kcnd.conf:7: PORT=\"abc\": expected an integer 1..65535");
}

TEST(NodeConfigErrors, EachTypeIsChecked) {
  struct Case {
    std::string line;
    std::string expect;
  } cases[] = {
      {"PORT=0", "PORT=\"0\": expected an integer 1..65535"},
      {"PORT=65536", "expected an integer 1..65535"},
      {"PORT=-1", "expected an integer 1..65535"},
      {"PORT=+1", "expected an integer 1..65535"},
      {"RPC_ENABLE=yes", "RPC_ENABLE=\"yes\": expected 0 or 1"},
      {"MULTICHANNEL=2", "expected 0 or 1"},
      {"VERBOSITY=6", "VERBOSITY=\"6\": expected an integer 0..5"},
      {"SYNCMODE=fast", "SYNCMODE=\"fast\": expected \"full\" (corecell syncs only in full mode)"},
      {"SERVER_TYPE=grpc", "expected \"http\" or \"fasthttp\""},
      {"NETWORK_ID=0", "NETWORK_ID=\"0\": expected an integer 1..9223372036854775807"},
      {"NETWORK_ID=99999999999999999999", "expected an integer 1..9223372036854775807"},
      {"MAXCONNECTIONS=70000", "expected an integer 0..65535"},
      {"TXPOOL_EXEC_SLOTS_ALL=0", "expected an integer 1..1048576"},
      {"TXPOOL_LIFE_TIME=5", "TXPOOL_LIFE_TIME=\"5\": expected a duration such as 30s, 5m"},
      {"TXPOOL_LIFE_TIME=5ms", "expected a duration"},
      {"TXPOOL_LIFE_TIME=1.5h", "expected a duration"},
      {"TXPOOL_LIFE_TIME=721h", "between 1s and 720h"},
      {"TXPOOL_LIFE_TIME=0s", "between 1s and 720h"},
      {"REWARDBASE=0x0", "the placeholder of Kaia's sample kcnd.conf"},
      {"REWARDBASE=5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
       "expected an address 0x followed by 40 hex characters"},
      {"REWARDBASE=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55 checksum"},
      {"REWARDBASE=0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", "40 hex characters"},
      {"PUBLIC_IP=10.0.0", "PUBLIC_IP=\"10.0.0\": expected an IP address"},
      {"PUBLIC_IP=node1.example.com", "expected an IP address"},
      {"RPC_ADDR=example.com", "expected an IP address to listen on"},
      {"CN_ALLOWLIST=10.0.0.1,,10.0.0.2", "(with no empty item)"},
      {"CN_ALLOWLIST=10.0.0.1,10.0.0.300", "\"10.0.0.300\" is not one"},
      {"RPC_API=klay,Eth", "expected a comma-separated list of API names"},
      {"RPC_API=klay,", "(with no empty item)"},
      {"BOOTNODES=kni://abc@1.2.3.4:32323", "expected a comma-separated list of kni://"},
      {"BOOTNODES=" + node_id(3), "kni://"},  // a bare node ID is no bootnode
      {"PROXY_NODES=" + std::string(128, 'f'), "not a point on secp256k1"},
      {"PROXY_NODES=10.0.0.1:32323", "URLs or 128-hex node IDs"},
      {"DATA_DIR=\"/a\tb\"\nADDITIONAL=$'x'", ""},  // tab is fine; a $'..' is a literal $ + 'x'
  };
  for (const auto& c : cases) {
    auto r = from_text(Role::cn, "# first line\n" + c.line + "\n");
    if (c.expect.empty()) {
      EXPECT_TRUE(r.ok()) << c.line << ": " << (r.ok() ? "" : r.error().message);
      continue;
    }
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_THAT(r.error().message, StartsWith("kcnd.conf:2: ")) << c.line;
    EXPECT_THAT(r.error().message, HasSubstr(c.expect)) << c.line;
  }
}

TEST(NodeConfigErrors, ControlCharactersAreRefused) {
  // A flag value can carry bytes a file line cannot.
  Error e = err(from_text(Role::cn, "", {{"ADDITIONAL", "--a\n--b", "--additional"}}));
  EXPECT_THAT(e.message, StartsWith("flag --additional: ADDITIONAL=\"--a\\x0a--b\""));
  EXPECT_THAT(e.message, HasSubstr("without control characters"));
}

TEST(NodeConfigErrors, ListenersMayNotShareAPort) {
  Error e = err(from_text(
      Role::en, "RPC_ENABLE=1\nRPC_PORT=8551\n",
      {{"PROMETHEUS", "1", "--prometheus"}, {"PROMETHEUS_PORT", "8551", "--prometheus-port"}}));
  EXPECT_EQ(e.code, "config.port_conflict");
  EXPECT_EQ(e.message,
            "RPC_PORT (kend.conf:2) and PROMETHEUS_PORT (flag --prometheus-port) are both 8551; "
            "each listener needs its own port");
  // A disabled listener's port does not conflict.
  EXPECT_TRUE(from_text(Role::en, "RPC_PORT=32323\n").ok());
}

TEST(NodeConfigOverrides, FlagsWinOverTheFile) {
  NodeConfig c = ok(from_text(
      Role::cn, "PORT=30000\nVERBOSITY=2\nRPC_ENABLE=0\nDATA_DIR=/data/cn\n",
      {{"VERBOSITY", "5", "--verbosity"}, {"RPC_ENABLE", "1", "--rpc"}, {"DATA_DIR", "/x", ""}}));
  EXPECT_EQ(c.port, 30000);
  EXPECT_EQ(c.verbosity, 5);
  EXPECT_TRUE(c.rpc_enable);
  EXPECT_EQ(c.data_dir, fs::path("/x"));
  EXPECT_EQ(c.log_dir, fs::path("/x/logs"));
  EXPECT_EQ(c.origins.at("PORT"), "kcnd.conf:1");
  EXPECT_EQ(c.origins.at("VERBOSITY"), "flag --verbosity");
  EXPECT_EQ(c.origins.at("DATA_DIR"), "flag DATA_DIR");
}

TEST(NodeConfigOverrides, AreTypeCheckedAndNameTheFlag) {
  Error e = err(from_text(Role::cn, "PORT=30000\n", {{"PORT", "abc", "--port"}}));
  EXPECT_EQ(e.message, "flag --port: PORT=\"abc\": expected an integer 1..65535");
  // A bad file value stays an error even when a flag replaces it: the next start without the
  // flag must not be the first to find out.
  Error file_err = err(from_text(Role::cn, "PORT=abc\n", {{"PORT", "1", "--port"}}));
  EXPECT_THAT(file_err.message, StartsWith("kcnd.conf:1: PORT=\"abc\""));
}

TEST(NodeConfigOverrides, UnknownKeyIsAnErrorWithSuggestion) {
  Error e = err(from_text(Role::cn, "", {{"DATADIR", "/x", "--set"}}));
  EXPECT_EQ(e.code, "config.unknown_key");
  EXPECT_EQ(e.message,
            "flag --set: unknown configuration key \"DATADIR\" (did you mean DATA_DIR?)");
}

TEST(NodeConfigOverrides, RelativePathsResolveAgainstTheCurrentDirectory) {
  NodeConfig c = ok(from_text(Role::cn, "", {{"DATA_DIR", "rel/dir", "--data-dir"}}));
  EXPECT_EQ(c.data_dir, fs::current_path() / "rel" / "dir");
}

TEST(NodeConfigOverrides, ParseOverride) {
  auto o = parse_override("RPC_API=klay,eth", "--set");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->key, "RPC_API");
  EXPECT_EQ(o->value, "klay,eth");
  EXPECT_EQ(o->flag, "--set");
  EXPECT_EQ(parse_override("X=", "--set")->value, "");
  EXPECT_THAT(parse_override("NOEQUALS", "--set").error().message,
              StartsWith("flag --set: expected KEY=VALUE"));
  EXPECT_FALSE(parse_override("=v", "--set").ok());
}

TEST(NodeConfigValues, ValidValuesParse) {
  NodeConfig c = ok(from_text(Role::cn,
                              "TXPOOL_LIFE_TIME=1h30m\n"
                              "RPC_ADDR=localhost\n"
                              "PUBLIC_IP=fd00::5\n"
                              "REWARDBASE=0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED\n"
                              "NETWORK_ID=9223372036854775807\n"
                              "MAXCONNECTIONS=0\n"
                              "BOOTNODES=\"kni://" +
                                  node_id(1) + "@10.0.0.1:32323, enode://" + node_id(2) +
                                  "@10.0.0.2:32323?ntype=pn\"\n"));
  EXPECT_EQ(c.txpool_life_time, std::chrono::seconds(5400));
  EXPECT_EQ(c.rpc_addr, "127.0.0.1");
  EXPECT_EQ(c.public_ip, "fd00::5");
  EXPECT_TRUE(c.rewardbase.has_value());  // all upper case carries no checksum
  EXPECT_EQ(c.network_id, 9223372036854775807ull);
  EXPECT_EQ(c.max_connections, 0u);
  EXPECT_EQ(c.bootnodes.size(), 2u);
}

TEST(NodeConfigText, RoundTripsForEveryRole) {
  for (Role role : {Role::cn, Role::pn, Role::en}) {
    NodeConfig d = default_node_config(role);
    NodeConfig again = ok(node_config_from_text(role, to_conf_text(d), "gen.conf", "/", {}));
    EXPECT_EQ(to_conf_text(again), to_conf_text(d)) << role_name(role);
    EXPECT_TRUE(again.warnings.empty()) << ::testing::PrintToString(again.warnings);
  }
  NodeConfig c = ok(from_text(Role::cn, realistic_kcnd_conf(),
                              {{"ADDITIONAL", "--x \"q\" $HOME `id` \\", "--additional"},
                               {"DATA_DIR", "/tmp/with space/d", "--data-dir"}}));
  std::string text = to_conf_text(c);
  NodeConfig again = ok(node_config_from_text(Role::cn, text, "gen.conf", "/", {}));
  EXPECT_EQ(to_conf_text(again), text);
  EXPECT_EQ(again.additional, "--x \"q\" $HOME `id` \\");
  EXPECT_EQ(again.data_dir, fs::path("/tmp/with space/d"));
  EXPECT_EQ(again.log_dir, fs::path("/var/kcnd/data/logs"));  // set explicitly in the file
  EXPECT_THAT(text, HasSubstr("REWARDBASE=\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"\n"));
  EXPECT_THAT(text, HasSubstr("TXPOOL_LIFE_TIME=\"5m\"\n"));
  // CN-only keys are not written for other roles.
  EXPECT_THAT(to_conf_text(default_node_config(Role::pn)), ::testing::Not(HasSubstr("REWARDBASE")));
}

TEST(NodeConfigKeys, EveryKeyIsDocumentedForOperators) {
  std::ifstream doc(std::string(CC_SOURCE_DIR) + "/docs/CONFIGURATION.md");
  ASSERT_TRUE(doc.good()) << "docs/CONFIGURATION.md is missing";
  std::stringstream ss;
  ss << doc.rdbuf();
  std::string text = ss.str();
  ASSERT_GE(config_keys().size(), 35u);
  for (const auto& k : config_keys()) {
    EXPECT_THAT(text, HasSubstr("`" + std::string(k.name) + "`")) << k.name;
  }
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(NodeConfigKeys, TheDocumentedExampleLoadsOnceItsPlaceholdersAreFilled) {
  std::string doc = slurp(std::string(CC_SOURCE_DIR) + "/docs/CONFIGURATION.md");
  std::size_t start = doc.find("```sh\n# kcnd.conf");
  ASSERT_NE(start, std::string::npos);
  start += 6;
  std::string example = doc.substr(start, doc.find("```", start) - start);
  for (auto [placeholder, seed] :
       {std::pair{"<128-hex node ID of PN 1>", 1}, std::pair{"<128-hex node ID of PN 2>", 2}}) {
    std::size_t at = example.find(placeholder);
    ASSERT_NE(at, std::string::npos) << placeholder;
    example.replace(at, std::string(placeholder).size(), node_id(static_cast<std::uint8_t>(seed)));
  }
  NodeConfig c = ok(from_text(Role::cn, example));
  EXPECT_TRUE(c.warnings.empty()) << ::testing::PrintToString(c.warnings);
  EXPECT_TRUE(c.require_signing_permit);
  EXPECT_EQ(c.proxy_nodes.size(), 2u);
  EXPECT_EQ(c.subport, 32324);
}

TEST(NodeConfigKeys, FuzzSeedsAreValidConfigs) {
  std::string dir = std::string(CC_SOURCE_DIR) + "/tests/fuzz/corpus/config/";
  NodeConfig cn = ok(
      node_config_from_text(Role::cn, slurp(dir + "kcnd.conf"), "kcnd.conf", "/etc/kcnd/conf", {}));
  EXPECT_EQ(cn.proxy_nodes.size(), 2u);
  NodeConfig pn = ok(
      node_config_from_text(Role::pn, slurp(dir + "kpnd.conf"), "kpnd.conf", "/etc/kpnd/conf", {}));
  EXPECT_EQ(pn.bootnodes.size(), 2u);
}

TEST(NodeConfigKeys, FlagNamesAndRoles) {
  EXPECT_EQ(flag_name_for("RPC_PORT"), "--rpc-port");
  EXPECT_EQ(flag_name_for("DATA_DIR"), "--data-dir");
  EXPECT_EQ(parse_role("pn").value(), Role::pn);
  EXPECT_THAT(parse_role("validator").error().message, HasSubstr("expected cn (consensus)"));
  EXPECT_EQ(conf_file_name(Role::cn), "kcnd.conf");
  EXPECT_EQ(conf_file_name(Role::pn), "kpnd.conf");
  EXPECT_EQ(conf_file_name(Role::en), "kend.conf");
}

}  // namespace
}  // namespace cc::node

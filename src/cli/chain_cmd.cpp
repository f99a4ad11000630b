// cli/chain_cmd.cpp — `corecell genesis hash` and `corecell chain generate`: the genesis and
// synthetic-chain commands. Thin: they parse flags, call chain/ and write files. The `chain`
// subcommand created here is shared: other files add `chain import|head|verify` to it.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "chain/generator.h"
#include "chain/genesis.h"
#include "cli/app.h"
#include "cli/common.h"
#include "crypto/address.h"
#include "crypto/nodekey.h"
#include "util/files.h"
#include "util/thread_pool.h"

namespace cc::cli {
namespace {

namespace fs = std::filesystem;

struct GenesisHashArgs {
  std::string genesis;
};

void run_genesis_hash(const GenesisHashArgs& a) {
  const chain::Genesis g = or_fail(chain::load_genesis_file(a.genesis));
  std::printf("%s\n", to_hex0x(chain::genesis_hash(g)).c_str());
}

struct GenerateArgs {
  std::string dir;
  std::size_t validators = 4;
  std::size_t accounts = 10;
  std::size_t blocks = 0;
  std::size_t txs = 0;
  std::uint64_t seed = 1;
  std::uint64_t chain_id = 1000;
};

void run_generate(const GenerateArgs& a) {
  const fs::path dir = a.dir;
  if (a.txs > 0 && a.accounts == 0) {
    fail("--txs " + std::to_string(a.txs) + " needs funded senders: pass --accounts >= 1");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    fail(dir.string() +
         " is not empty; pass --dir with a new or empty directory "
         "(generate never overwrites keys or chains)");
  }
  or_fail(ensure_dir(dir / "validators"));

  const chain::TestNetwork net =
      chain::make_test_network(a.validators, a.accounts, a.seed, a.chain_id);

  or_fail(atomic_write_file(dir / "genesis.json", chain::genesis_to_json(net.genesis)));
  for (std::size_t i = 0; i < net.validator_keys.size(); ++i) {
    const fs::path key_dir = dir / "validators" / std::to_string(i);
    or_fail(ensure_dir(key_dir));
    or_fail(crypto::save_nodekey_file(key_dir / "nodekey", net.validator_keys[i]));
  }
  nlohmann::json accounts = nlohmann::json::array();
  for (const auto& k : net.account_keys) {
    accounts.push_back({{"address", crypto::to_checksum_hex(crypto::address_of(k))},
                        {"privateKey", to_hex0x(k.bytes())}});
  }
  // Private keys of test accounts: readable by the owner only, like the nodekeys.
  or_fail(atomic_write_file(dir / "accounts.json", accounts.dump(2) + "\n", 0600));

  ThreadPool pool(0, "cc-generate");
  auto gen = or_fail(chain::ChainGenerator::create(net.genesis, net.validator_keys,
                                                   net.account_keys, a.seed, &pool));
  Bytes stream;
  for (std::size_t i = 0; i < a.blocks; ++i) {
    const chain::Block b = or_fail(gen.next_block(a.txs));
    const Bytes enc = b.encode();
    stream.insert(stream.end(), enc.begin(), enc.end());
  }
  or_fail(atomic_write_file(dir / "blocks.rlp", ByteView(stream)));

  std::printf("genesis     %s  hash %s  chainId %llu\n", (dir / "genesis.json").c_str(),
              to_hex0x(chain::genesis_hash(net.genesis)).c_str(),
              static_cast<unsigned long long>(a.chain_id));
  for (std::size_t i = 0; i < net.validator_keys.size(); ++i) {
    std::printf("validator   %s  %s\n",
                (dir / "validators" / std::to_string(i) / "nodekey").c_str(),
                crypto::to_checksum_hex(net.genesis.council[i]).c_str());
  }
  std::printf("accounts    %s  (%zu funded)\n", (dir / "accounts.json").c_str(),
              net.account_keys.size());
  std::printf("blocks      %s  (%zu blocks x %zu transfers, head #%llu %s)\n",
              (dir / "blocks.rlp").c_str(), a.blocks, a.txs,
              static_cast<unsigned long long>(gen.head().number),
              to_hex0x(gen.head().hash()).c_str());
}

}  // namespace

void add_chain_commands(CLI::App& app) {
  auto* genesis = app.add_subcommand("genesis", "Inspect a genesis file");
  genesis->require_subcommand(1);
  auto gh = std::make_shared<GenesisHashArgs>();
  auto* hash =
      genesis->add_subcommand("hash", "Print the genesis block hash (0x...) of a genesis file");
  hash->add_option("--genesis", gh->genesis, "Path of genesis.json")->required();
  hash->callback([gh] { run_genesis_hash(*gh); });

  auto* chain = app.add_subcommand("chain", "Chain data: generate, import, inspect and verify");
  chain->require_subcommand(1);
  auto ga = std::make_shared<GenerateArgs>();
  auto* generate = chain->add_subcommand(
      "generate",
      "Write a deterministic test network and chain: DIR/genesis.json, DIR/validators/<i>/nodekey, "
      "DIR/accounts.json and DIR/blocks.rlp (sealed blocks of signed transfers, concatenated RLP)");
  generate->add_option("--dir", ga->dir, "Output directory (new or empty)")->required();
  generate->add_option("--validators", ga->validators, "Council size")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  generate->add_option("--accounts", ga->accounts, "Funded test accounts")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  generate->add_option("--blocks", ga->blocks, "Blocks to generate after the genesis")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  generate->add_option("--txs", ga->txs, "Transfers per block")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  generate->add_option("--seed", ga->seed, "Seed for keys and transfers (same seed, same files)")
      ->capture_default_str();
  generate->add_option("--chain-id", ga->chain_id, "EIP-155 chain id written to the genesis")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  generate->callback([ga] { run_generate(*ga); });
}

}  // namespace cc::cli

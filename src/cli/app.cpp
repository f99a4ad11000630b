#include "cli/app.h"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace cc::cli {

int run(int argc, char** argv) {
  CLI::App app{
      "corecell — a Kaia-style Core Cell (consensus, proxy and endpoint nodes) whose consensus "
      "node "
      "is highly available.",
      "corecell"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "corecell 0.1.0");

  // Subcommand families (one line each; see cli/app.h).
  add_chain_commands(app);
  add_keygen_commands(app);
  add_node_command(app);
  add_demo_command(app);
  add_chaindb_commands(app);
  add_ctl_commands(app);
  add_localnet_commands(app);
  add_ha_commands(app);
  add_snapshot_commands(app);
  add_provision_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a subcommand failed and already said why (cli/common.h)
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return 0;
}

}  // namespace cc::cli

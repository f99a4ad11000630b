// cli/app.h — owns the `corecell` command line: the top-level app and the registration of every
// subcommand. Subcommands are thin: they parse flags, call a layer, and print.
#pragma once

namespace CLI {
class App;
}

namespace cc::cli {

// Runs the CLI; returns the process exit code (0 ok, 1 operation failed, 2 usage error).
int run(int argc, char** argv);

// Each subcommand family registers itself on the top-level app (one file per family).
void add_keygen_commands(CLI::App& app);     // keygen, key backup|restore|inspect|show
void add_chain_commands(CLI::App& app);      // genesis hash, chain generate
void add_chaindb_commands(CLI::App& app);    // chain import|head|verify (after add_chain_commands)
void add_node_command(CLI::App& app);        // node
void add_demo_command(CLI::App& app);        // demo
void add_ctl_commands(CLI::App& app);        // ctl status (a running node's control socket)
void add_localnet_commands(CLI::App& app);   // localnet init|up|down|stop|start|status|logs|load
void add_ha_commands(CLI::App& app);         // ha agent|status|failover|switchover|pause|...
void add_snapshot_commands(CLI::App& app);   // snapshot create|inspect
void add_provision_commands(CLI::App& app);  // image create|inspect, provision

}  // namespace cc::cli

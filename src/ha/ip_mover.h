// ha/ip_mover.h — owns moving the cell's public IP address (the one other operators allow-list)
// to the host that becomes active, and off the host that fences. Kinds:
//   loopback  localnet on one machine: every 127.x address is already local, so "holding" the
//             address means being the one node that binds it. acquire() refuses (ip.in_use)
//             while anything still accepts TCP at ip:probe_port (the old active's listener).
//   linux     `ip addr add|del IP/PREFIX dev DEVICE`; before adding, duplicate-address detection
//             (`arping -D`: ip.in_use when another host answers); after adding, gratuitous ARP
//             (`arping -U`) so neighbours update their caches at once.
//   exec      an operator script: `SCRIPT acquire|release|status IP` (environment CORECELL_IP,
//             CORECELL_DEVICE, CORECELL_PREFIX); exit 0 = done (status: held), 1 = not held,
//             anything else an error with the script's output. docs/HA.md has a cloud example.
// Every failure names the command, its exit status and output, and the fix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "util/result.h"

namespace cc::ha {

struct IpMoverConfig {
  std::string kind;                  // loopback | linux | exec
  std::string ip;                    // the cell's public IPv4 address
  unsigned prefix_len = 32;          // linux
  std::string device;                // linux (required), exec (passed on)
  std::filesystem::path script;      // exec
  std::uint16_t probe_port = 32323;  // loopback: the node's p2p port
};

class IpMover {
 public:
  virtual ~IpMover() = default;
  [[nodiscard]] virtual std::string describe() const = 0;  // "linux 10.0.0.5/32 dev eth0"
  // Makes the address this host's. Errors: ip.in_use, ip.command_failed.
  [[nodiscard]] virtual Status acquire() = 0;
  // Takes the address off this host; done (ok) when it was not here. Error: ip.command_failed.
  [[nodiscard]] virtual Status release() = 0;
  // Whether this host holds the address now.
  [[nodiscard]] virtual Result<bool> held() = 0;
};

// Validates the config (kind, an IPv4 address, prefix 1..32, device for linux, an executable
// script for exec) with errors naming the HA_* key and the fix (ip.config).
[[nodiscard]] Result<std::unique_ptr<IpMover>> make_ip_mover(const IpMoverConfig& config);

}  // namespace cc::ha

// ha/ip_mover.h — owns moving the cell's public IP address (the one other operators allow-list)
// to the host that becomes active, and off the host that fences. Kinds:
//   loopback  localnet on one machine: every 127.x address is already local, so "holding" the
//             address means being the one node that binds it. acquire() refuses (ip.in_use)
//             while anything still accepts TCP at ip:probe_port (the old active's listener;
//             connect probe, 200 ms); once this object holds it, acquire() is ok without a probe
//             (the listener is then our own node). held() is this object's own record (acquired
//             and not released since): there is nothing on the host to inspect.
//   linux     `ip addr add|del IP/PREFIX dev DEVICE`; before adding, duplicate-address detection
//             (`arping -D -c 2 -w 2 -I DEVICE IP`, iputils: exit 1 = another host answered ->
//             ip.in_use with its MAC, exit 2 = error such as a down interface); skipped when the
//             address is already on DEVICE (then nothing is added). The address on *another*
//             device of this host is ip.in_use. After adding, gratuitous ARP (`arping -U -c 2`)
//             so neighbours update their caches at once; its failure is logged, not an error (the
//             address is ours; a neighbour that missed it relearns on cache expiry). release()
//             deletes the address with whatever prefix the host has it. held() parses
//             `ip -o -4 addr show dev DEVICE`. Needs CAP_NET_ADMIN; `ip` and `arping` are found
//             in PATH or the sbin/bin directories when the mover is made; each command is killed
//             after 5 s. No shell is involved anywhere.
//   exec      an operator script: `SCRIPT acquire|release|status IP` (environment CORECELL_IP,
//             CORECELL_DEVICE, CORECELL_PREFIX); exit 0 = done (status: held), 1 = not held,
//             anything else an error with the script's output. Exit 1 from acquire is ip.in_use
//             (it could not be made ours), from release it is ok (it was not here). The script is
//             killed after 60 s (acquire, release) or 15 s (status). docs/HA.md has a cloud
//             example.
// Every failure names the command, its exit status and output, and the fix. The calls block
// (seconds for linux acquire: duplicate detection waits 2 s); call them from the agent's thread.
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

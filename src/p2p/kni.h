// p2p/kni.h — owns kni:// node URLs (Kaia's enode variant): parsing with clear errors and the
// canonical text form. Form:
//   kni://<128-hex node ID>@<host>:<port>?subport=<p>&discport=<udp>&ntype=<cn|pn|en|bn>
// Scheme `enode` is accepted too; every query parameter is optional (discport defaults to the
// TCP port, subport 0 = none, ntype empty = unknown). Hosts are IPv4 dotted quads or DNS names;
// names are kept as text and never resolved here. Never does I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/secp256k1.h"
#include "util/result.h"

namespace cc::p2p {

struct KniUrl {
  crypto::PublicKey node_id{};  // X‖Y, validated to be on the curve
  std::string host;             // IPv4 dotted quad or hostname
  std::uint16_t port = 0;       // TCP, 1..65535
  std::uint16_t subport = 0;    // second TCP port (multichannel), 0 = none
  std::uint16_t discport = 0;   // UDP discovery port; 0 = no discovery
  std::string ntype;            // "cn", "pn", "en", "bn" or empty

  // Errors have code "kni.*" and quote what was wrong and what is expected.
  [[nodiscard]] static Result<KniUrl> parse(std::string_view text);

  // kni://<id>@<host>:<port>, then ?subport (if set), discport (if != port), ntype (if set), in
  // that order; parse(to_string()) gives back an equal KniUrl.
  [[nodiscard]] std::string to_string() const;

  bool operator==(const KniUrl&) const = default;
};

}  // namespace cc::p2p

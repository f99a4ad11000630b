#include "p2p/wire.h"

namespace cc::p2p {

std::string_view node_type_name(NodeType type) {
  switch (type) {
    case NodeType::kCN:
      return "cn";
    case NodeType::kEN:
      return "en";
    case NodeType::kPN:
      return "pn";
    case NodeType::kBN:
      return "bn";
  }
  return "unknown";
}

std::optional<NodeType> node_type_from_byte(std::uint8_t byte) {
  if (byte > static_cast<std::uint8_t>(NodeType::kBN)) return std::nullopt;
  return static_cast<NodeType>(byte);
}

std::optional<NodeType> node_type_from_name(std::string_view name) {
  if (name == "cn") return NodeType::kCN;
  if (name == "en") return NodeType::kEN;
  if (name == "pn") return NodeType::kPN;
  if (name == "bn") return NodeType::kBN;
  return std::nullopt;
}

}  // namespace cc::p2p

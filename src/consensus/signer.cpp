#include "consensus/signer.h"

namespace cc::consensus {

std::string_view to_string(SignKind kind) {
  switch (kind) {
    case SignKind::kPreprepare:
      return "preprepare";
    case SignKind::kPrepare:
      return "prepare";
    case SignKind::kCommit:
      return "commit";
    case SignKind::kRoundChange:
      return "roundchange";
    case SignKind::kSeal:
      return "seal";
  }
  return "unknown";
}

}  // namespace cc::consensus

// Fuzzes rpc::Dispatcher::handle, the decoder every JSON-RPC request body goes through: any bytes
// must give a response or nothing, never a crash, a hang or unbounded recursion.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rpc/jsonrpc.h"

namespace {

const cc::rpc::Dispatcher& dispatcher() {
  static const cc::rpc::Dispatcher d = [] {
    cc::rpc::Dispatcher x(cc::rpc::DispatcherLimits{64 * 1024, 16});
    x.add("test_echo", [](const nlohmann::json& p) -> cc::rpc::MethodResult { return p; });
    x.add("kaia_first", [](const nlohmann::json& p) -> cc::rpc::MethodResult {
      return p.at(0).get<std::string>();  // throws on other shapes: must become -32602
    });
    x.enable_namespaces({"klay", "test"});
    return x;
  }();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)dispatcher().handle(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

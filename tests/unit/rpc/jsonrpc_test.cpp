// rpc/jsonrpc.h against the JSON-RPC 2.0 specification's own examples (jsonrpc.org/specification,
// "Examples"), plus what the spec leaves to servers: namespaces (RPC_API), the klay_ alias, body,
// batch and nesting limits, and handlers that fail.
#include "rpc/jsonrpc.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace cc::rpc {
namespace {

using json = nlohmann::json;

// The methods the specification's examples call.
Dispatcher spec_dispatcher() {
  Dispatcher d;
  d.add("subtract", [](const json& p) -> MethodResult {
    if (p.is_array()) return p.at(0).get<int>() - p.at(1).get<int>();
    return p.at("minuend").get<int>() - p.at("subtrahend").get<int>();
  });
  d.add("sum", [](const json& p) -> MethodResult {
    int total = 0;
    for (const auto& v : p) total += v.get<int>();
    return total;
  });
  d.add("update", [](const json&) -> MethodResult { return nullptr; });
  d.add("notify_hello", [](const json&) -> MethodResult { return nullptr; });
  d.add("notify_sum", [](const json&) -> MethodResult { return nullptr; });
  d.add("get_data", [](const json&) -> MethodResult { return json::array({"hello", 5}); });
  return d;
}

json call(const Dispatcher& d, const std::string& body) {
  auto out = d.handle(body);
  EXPECT_TRUE(out.has_value()) << body;
  return out ? json::parse(*out) : json();
}

int error_code(const json& response) { return response.at("error").at("code").get<int>(); }

TEST(JsonRpcSpec, PositionalAndNamedParameters) {
  const auto d = spec_dispatcher();
  EXPECT_EQ(call(d, R"({"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1})"),
            json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": 1})"));
  EXPECT_EQ(call(d, R"({"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2})"),
            json::parse(R"({"jsonrpc": "2.0", "result": -19, "id": 2})"));
  EXPECT_EQ(
      call(
          d,
          R"({"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3})"),
      json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": 3})"));
}

TEST(JsonRpcSpec, NotificationsGetNoResponse) {
  const auto d = spec_dispatcher();
  EXPECT_FALSE(d.handle(R"({"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]})"));
  EXPECT_FALSE(d.handle(R"({"jsonrpc": "2.0", "method": "foobar"})"));
}

TEST(JsonRpcSpec, ErrorsCarryTheSpecificationsCodes) {
  const auto d = spec_dispatcher();
  auto missing = call(d, R"({"jsonrpc": "2.0", "method": "foobar", "id": "1"})");
  EXPECT_EQ(error_code(missing), -32601);
  EXPECT_EQ(missing["id"], "1");
  auto parse = call(d, R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])");
  EXPECT_EQ(error_code(parse), -32700);
  EXPECT_TRUE(parse["id"].is_null());
  auto invalid = call(d, R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})");
  EXPECT_EQ(error_code(invalid), -32600);
  EXPECT_TRUE(invalid["id"].is_null());
}

TEST(JsonRpcSpec, Batches) {
  const auto d = spec_dispatcher();
  auto bad_json = call(d, R"([
    {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
    {"jsonrpc": "2.0", "method"
  ])");
  EXPECT_EQ(error_code(bad_json), -32700);
  auto empty = call(d, "[]");
  EXPECT_TRUE(empty.is_object());
  EXPECT_EQ(error_code(empty), -32600);
  auto one_bad = call(d, "[1]");
  ASSERT_TRUE(one_bad.is_array());
  ASSERT_EQ(one_bad.size(), 1u);
  EXPECT_EQ(error_code(one_bad[0]), -32600);
  auto three_bad = call(d, "[1,2,3]");
  ASSERT_EQ(three_bad.size(), 3u);
  for (const auto& r : three_bad) EXPECT_EQ(error_code(r), -32600);

  auto mixed = call(d, R"([
    {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
    {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
    {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
    {"foo": "boo"},
    {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
    {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
  ])");
  ASSERT_EQ(mixed.size(), 5u);  // the notification has no response
  EXPECT_EQ(mixed[0], json::parse(R"({"jsonrpc": "2.0", "result": 7, "id": "1"})"));
  EXPECT_EQ(mixed[1], json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": "2"})"));
  EXPECT_EQ(error_code(mixed[2]), -32600);
  EXPECT_EQ(error_code(mixed[3]), -32601);
  EXPECT_EQ(mixed[3]["id"], "5");
  EXPECT_EQ(mixed[4], json::parse(R"({"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"})"));

  EXPECT_FALSE(d.handle(R"([
    {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
    {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
  ])"));
}

TEST(JsonRpc, RequestShapeIsChecked) {
  const auto d = spec_dispatcher();
  EXPECT_EQ(error_code(call(d, R"({"jsonrpc": "1.0", "method": "sum", "params": [1], "id": 1})")),
            -32600);
  EXPECT_EQ(error_code(call(d, R"({"method": "sum", "params": [1], "id": 1})")), -32600);
  EXPECT_EQ(error_code(call(d, R"({"jsonrpc": "2.0", "method": "sum", "params": 5, "id": 1})")),
            -32600);
  EXPECT_EQ(error_code(call(d, R"({"jsonrpc": "2.0", "method": "sum", "id": [1]})")), -32600);
  EXPECT_EQ(error_code(call(d, R"("just a string")")), -32600);
}

TEST(JsonRpc, HandlerFailuresBecomeErrorsNotCrashes) {
  Dispatcher d;
  d.add("test_throws", [](const json&) -> MethodResult { throw std::runtime_error("boom"); });
  d.add("test_fails", [](const json&) -> MethodResult {
    return RpcError{ErrorCode::kServerError, "nonce too low", json{{"nonce", 3}}};
  });
  d.add("test_badutf8", [](const json&) -> MethodResult { return std::string("\xff\xfe"); });
  auto bad_params =
      call(d, R"({"jsonrpc": "2.0", "method": "subtract", "params": ["a", "b"], "id": 1})");
  EXPECT_EQ(error_code(bad_params), -32601);  // not registered here
  auto wrong_type = spec_dispatcher().handle(
      R"({"jsonrpc": "2.0", "method": "subtract", "params": ["a", "b"], "id": 1})");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(error_code(json::parse(*wrong_type)), -32602);
  auto thrown = call(d, R"({"jsonrpc": "2.0", "method": "test_throws", "id": 1})");
  EXPECT_EQ(error_code(thrown), -32603);
  auto failed = call(d, R"({"jsonrpc": "2.0", "method": "test_fails", "id": 1})");
  EXPECT_EQ(error_code(failed), -32000);
  EXPECT_EQ(failed["error"]["message"], "nonce too low");
  EXPECT_EQ(failed["error"]["data"]["nonce"], 3);
  auto replaced = call(d, R"({"jsonrpc": "2.0", "method": "test_badutf8", "id": 1})");
  EXPECT_TRUE(replaced.contains("result"));
}

TEST(JsonRpc, NamespacesAreEnabledByRpcApiAndKlayAliasesKaia) {
  Dispatcher d;
  d.add("kaia_blockNumber", [](const json&) -> MethodResult { return "0x10"; });
  d.add("eth_blockNumber", [](const json&) -> MethodResult { return "0x10"; });
  d.add("admin_peers", [](const json&) -> MethodResult { return json::array(); });
  EXPECT_TRUE(d.serves("klay_blockNumber"));
  d.enable_namespaces({"klay", "eth"});
  EXPECT_TRUE(d.serves("kaia_blockNumber"));
  EXPECT_TRUE(d.serves("klay_blockNumber"));
  EXPECT_TRUE(d.serves("eth_blockNumber"));
  EXPECT_FALSE(d.serves("admin_peers"));
  EXPECT_EQ(call(d, R"({"jsonrpc": "2.0", "method": "klay_blockNumber", "id": 1})")["result"],
            "0x10");
  EXPECT_EQ(error_code(call(d, R"({"jsonrpc": "2.0", "method": "admin_peers", "id": 1})")), -32601);
}

TEST(JsonRpc, OversizedBodiesBatchesAndNestingAreRefused) {
  Dispatcher d(DispatcherLimits{1024, 3});
  d.add("test_echo", [](const json& p) -> MethodResult { return p; });
  const std::string big(2048, ' ');
  EXPECT_EQ(error_code(call(d, big)), -32600);
  const std::string four =
      R"([{"jsonrpc":"2.0","method":"test_echo","id":1},{"jsonrpc":"2.0","method":"test_echo","id":2},)"
      R"({"jsonrpc":"2.0","method":"test_echo","id":3},{"jsonrpc":"2.0","method":"test_echo","id":4}])";
  EXPECT_EQ(error_code(call(d, four)), -32600);
  const std::string deep = R"({"jsonrpc":"2.0","method":"test_echo","id":1,"params":)" +
                           std::string(200, '[') + std::string(200, ']') + "}";
  EXPECT_EQ(error_code(call(Dispatcher{}, deep)), -32600);
  // Brackets inside strings do not count as nesting.
  Dispatcher plain;
  plain.add("test_echo", [](const json& p) -> MethodResult { return p; });
  const std::string in_string = R"({"jsonrpc":"2.0","method":"test_echo","id":1,"params":[")" +
                                std::string(200, '[') + R"("]})";
  EXPECT_TRUE(call(plain, in_string).contains("result"));
}

}  // namespace
}  // namespace cc::rpc

// rpc/jsonrpc.h — owns JSON-RPC 2.0 framing, apart from any transport: a request body (one call
// or a batch) is parsed, each call checked and dispatched to a registered method, and the
// response body built with the specification's error codes (jsonrpc.org/specification, §5.1).
// Pure: no sockets, threads or clocks; the HTTP server hands it bodies and sends back what it
// returns. Untrusted input never throws out of handle(): malformed JSON, wrong shapes, unknown or
// disabled methods, oversized batches and handler failures all become error responses.
//
// Methods are named "<namespace>_<name>" (Kaia/geth style). RPC_API enables namespaces; a method
// of a disabled namespace answers "method not found", as Kaia does. Registering a kaia_ method also
// registers its klay_ alias (Kaia keeps klay_ as an alias of kaia_).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace cc::rpc {

// The specification's codes, and the server-error range geth/Kaia use for their own failures.
enum class ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kServerError = -32000,  // an application error (e.g. "nonce too low"), message says which
};

struct RpcError {
  ErrorCode code = ErrorCode::kInternalError;
  std::string message;
  nlohmann::json data;  // omitted from the response when null
};

// What a method returns: a result (any JSON value, null included) or an error.
using MethodResult = std::variant<nlohmann::json, RpcError>;

[[nodiscard]] inline MethodResult rpc_error(ErrorCode code, std::string message) {
  return RpcError{code, std::move(message), nullptr};
}

// `params` is the request's params: an array (positional), an object (named), or null when absent.
using Method = std::function<MethodResult(const nlohmann::json& params)>;

struct DispatcherLimits {
  std::size_t max_body_bytes = std::size_t{5} * 1024 * 1024;  // geth/Kaia's default HTTP body limit
  std::size_t max_batch = 1000;                               // calls in one batch
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherLimits limits = {}) : limits_(limits) {}

  // Registers `name` ("eth_blockNumber"); a "kaia_" name also registers "klay_" + the rest.
  void add(const std::string& name, Method method);

  // Only methods whose namespace is listed are served ("kaia" and "klay" enable each other).
  // Never called: every registered method is served (tests, tools).
  void enable_namespaces(const std::set<std::string>& namespaces);

  // True when `name` is registered and its namespace enabled.
  [[nodiscard]] bool serves(std::string_view name) const;

  // Handles one HTTP body. Returns the response body, or nullopt when nothing is to be sent (a
  // notification, or a batch of notifications only).
  [[nodiscard]] std::optional<std::string> handle(std::string_view body) const;

  [[nodiscard]] const DispatcherLimits& limits() const { return limits_; }

 private:
  // One parsed call; nullopt for a notification.
  [[nodiscard]] std::optional<nlohmann::json> handle_call(const nlohmann::json& call) const;

  DispatcherLimits limits_;
  std::map<std::string, Method, std::less<>> methods_;
  std::optional<std::set<std::string, std::less<>>> enabled_;
};

// {"jsonrpc":"2.0","id":id,"error":{...}} — for transports that fail before dispatch (e.g. a body
// over the size limit).
[[nodiscard]] std::string error_response(const nlohmann::json& id, ErrorCode code,
                                         const std::string& message);

}  // namespace cc::rpc

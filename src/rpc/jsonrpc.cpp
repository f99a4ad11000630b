#include "rpc/jsonrpc.h"

#include <exception>

namespace cc::rpc {
namespace {

using json = nlohmann::json;

// Deeper nesting than any real call needs; refused before parsing so that building, walking or
// destroying the document can never exhaust the stack.
constexpr std::size_t kMaxNesting = 64;

std::string_view namespace_of(std::string_view method) {
  const auto underscore = method.find('_');
  return underscore == std::string_view::npos ? std::string_view() : method.substr(0, underscore);
}

// Never throws: a string that is not UTF-8 (from a handler) is written with U+FFFD instead.
std::string serialize(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json error_object(const json& id, ErrorCode code, const std::string& message,
                  const json& data = nullptr) {
  json err = {{"code", static_cast<int>(code)}, {"message", message}};
  if (!data.is_null()) err["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

// The deepest [ / { nesting in `body`, counting only outside strings; stops early past `limit`.
std::size_t nesting_depth(std::string_view body, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::string error_response(const json& id, ErrorCode code, const std::string& message) {
  return serialize(error_object(id, code, message));
}

void Dispatcher::add(const std::string& name, Method method) {
  constexpr std::string_view kKaia = "kaia_";
  if (name.starts_with(kKaia)) methods_["klay_" + name.substr(kKaia.size())] = method;
  methods_[name] = std::move(method);
}

void Dispatcher::enable_namespaces(const std::set<std::string>& namespaces) {
  enabled_.emplace(namespaces.begin(), namespaces.end());
  if (enabled_->contains("kaia") || enabled_->contains("klay")) {
    enabled_->insert("kaia");
    enabled_->insert("klay");
  }
}

bool Dispatcher::serves(std::string_view name) const {
  if (!methods_.contains(name)) return false;
  return !enabled_ || enabled_->contains(namespace_of(name));
}

std::optional<json> Dispatcher::handle_call(const json& call) const {
  if (!call.is_object()) {
    return error_object(nullptr, ErrorCode::kInvalidRequest,
                        "invalid request: a call must be a JSON object");
  }
  const auto id_it = call.find("id");
  const bool notification = id_it == call.end();
  if (!notification && !id_it->is_null() && !id_it->is_string() && !id_it->is_number()) {
    return error_object(nullptr, ErrorCode::kInvalidRequest,
                        "invalid request: id must be a string, a number or null");
  }
  const json id = notification ? json(nullptr) : *id_it;
  const auto version = call.find("jsonrpc");
  if (version == call.end() || *version != "2.0") {
    return error_object(id, ErrorCode::kInvalidRequest,
                        "invalid request: \"jsonrpc\" must be \"2.0\"");
  }
  const auto method = call.find("method");
  if (method == call.end() || !method->is_string()) {
    return error_object(id, ErrorCode::kInvalidRequest,
                        "invalid request: \"method\" must be a string");
  }
  const auto params_it = call.find("params");
  if (params_it != call.end() && !params_it->is_array() && !params_it->is_object() &&
      !params_it->is_null()) {
    return error_object(id, ErrorCode::kInvalidRequest,
                        "invalid request: \"params\" must be an array or an object");
  }
  const json params = params_it == call.end() ? json(nullptr) : *params_it;
  const auto& name = method->get_ref<const std::string&>();
  if (!serves(name)) {
    // A notification is never answered, not even with an error (only a malformed request is).
    if (notification) return std::nullopt;
    return error_object(id, ErrorCode::kMethodNotFound,
                        "the method " + name + " does not exist/is not available");
  }
  MethodResult result;
  try {
    result = methods_.find(name)->second(params);
  } catch (const json::exception& e) {
    // A handler read params of the wrong shape; the caller sent them.
    result = rpc_error(ErrorCode::kInvalidParams, std::string("invalid params: ") + e.what());
  } catch (const std::exception& e) {
    result = rpc_error(ErrorCode::kInternalError, std::string("internal error: ") + e.what());
  }
  if (notification) return std::nullopt;
  if (auto* err = std::get_if<RpcError>(&result)) {
    return error_object(id, err->code, err->message, err->data);
  }
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(std::get<json>(result))}};
}

std::optional<std::string> Dispatcher::handle(std::string_view body) const {
  if (body.size() > limits_.max_body_bytes) {
    return error_response(nullptr, ErrorCode::kInvalidRequest,
                          "request body of " + std::to_string(body.size()) +
                              " bytes exceeds the limit of " +
                              std::to_string(limits_.max_body_bytes));
  }
  if (nesting_depth(body, kMaxNesting) > kMaxNesting) {
    return error_response(nullptr, ErrorCode::kInvalidRequest,
                          "request nests deeper than " + std::to_string(kMaxNesting) + " levels");
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return error_response(nullptr, ErrorCode::kParseError, "parse error: the body is not JSON");
  }
  if (!doc.is_array()) {
    auto response = handle_call(doc);
    if (!response) return std::nullopt;
    return serialize(*response);
  }
  if (doc.empty()) {
    return error_response(nullptr, ErrorCode::kInvalidRequest, "invalid request: empty batch");
  }
  if (doc.size() > limits_.max_batch) {
    return error_response(nullptr, ErrorCode::kInvalidRequest,
                          "batch of " + std::to_string(doc.size()) +
                              " calls exceeds the limit of " + std::to_string(limits_.max_batch));
  }
  json responses = json::array();
  for (const auto& call : doc) {
    if (auto response = handle_call(call)) responses.push_back(std::move(*response));
  }
  if (responses.empty()) return std::nullopt;
  return serialize(responses);
}

}  // namespace cc::rpc

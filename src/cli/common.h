// cli/common.h — owns how subcommands report: errors go to stderr as "corecell: error: ..." and
// end the command with exit code 1; usage errors are CLI11's (exit 2).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace cc::cli {

[[noreturn]] inline void fail(const std::string& message) {
  std::fprintf(stderr, "corecell: error: %s\n", message.c_str());
  throw CLI::RuntimeError(1);
}

[[noreturn]] inline void fail(const Error& err) { fail(err.message); }

// Returns the value of a successful Result or ends the command with its error.
template <typename T>
T or_fail(Result<T> r) {
  if (!r.ok()) fail(r.error());
  return std::move(r).value();
}

inline void or_fail(const Status& st) {
  if (!st.ok()) fail(st.error());
}

// A JSON value as a table cell: strings without quotes, anything else as JSON.
inline std::string text_of(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace cc::cli

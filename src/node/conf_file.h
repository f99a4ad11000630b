// node/conf_file.h — owns the syntax of kcnd.conf-style files (kcnd.conf, kpnd.conf, kend.conf):
// the shell-assignment subset Kaia's packaged files use, parsed into ordered KEY/VALUE pairs with
// their line numbers. It knows nothing about which keys exist (node/config.h does that).
// It must never execute anything: command substitution ($(...), backticks) is refused, and the
// environment is never read — a $VAR names a key set earlier in the same file.
//
// Supported, per line:
//   # comment                  full-line comment; blank lines are skipped
//   [export ]KEY=VALUE [# c]   KEY is [A-Za-z_][A-Za-z0-9_]*, no spaces around '='
// VALUE is one shell word made of any mix of:
//   unquoted text   backslash escapes the next character; $VAR ${VAR} $((EXPR)) are expanded
//   "double"        \$ \` \" \\ are escapes (any other backslash is literal, as in sh);
//                   $VAR ${VAR} $((EXPR)) are expanded
//   'single'        literal, no escapes, no expansion
// $((EXPR)) is integer arithmetic: + - * / (truncating), unary + -, parentheses, decimal literals
// and keys set earlier (NAME, $NAME or ${NAME}) whose values are integers; 64-bit, overflow and
// division by zero are errors. A key may be set twice; both entries are returned (the later wins).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cc::node {

// Limits that keep a hostile or mistaken file from costing unbounded memory or time.
inline constexpr std::size_t kMaxConfFileBytes = 1u << 20;    // whole file
inline constexpr std::size_t kMaxConfLineBytes = 16u << 10;   // one line, as written
inline constexpr std::size_t kMaxConfValueBytes = 64u << 10;  // one value, after expansion
inline constexpr int kMaxConfArithmeticDepth = 32;            // nesting inside $((...))

struct ConfEntry {
  std::string key;
  std::string value;  // quotes removed, escapes and expansions applied
  int line = 0;       // 1-based line number in the file
};

struct ConfFile {
  std::string source;  // the file name used in messages, e.g. "/etc/kcnd/conf/kcnd.conf"
  std::vector<ConfEntry> entries;  // in file order

  // The entry that takes effect for key (the last one), or nullptr.
  [[nodiscard]] const ConfEntry* find(std::string_view key) const;
};

// Parses conf-file text. `source` names the file in messages; every error message starts with
// "<source>:<line>: " and says what is wrong and how to write it instead.
[[nodiscard]] Result<ConfFile> parse_conf(std::string_view text, const std::string& source);

// Reads (at most kMaxConfFileBytes) and parses a conf file; `source` is the path as given.
[[nodiscard]] Result<ConfFile> read_conf_file(const std::filesystem::path& path);

// True for a valid key name: [A-Za-z_][A-Za-z0-9_]*.
[[nodiscard]] bool is_conf_key_name(std::string_view name);

}  // namespace cc::node

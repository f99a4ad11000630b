#include "node/conf_file.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>

#include "util/files.h"

namespace cc::node {
namespace {

struct Var {
  std::string value;
  int line = 0;
};
using Vars = std::unordered_map<std::string, Var>;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Text from a file, made safe to quote in a message: bounded, control bytes shown as \xNN.
std::string printable(std::string_view text, std::size_t max = 40) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

// Parses one line. Positions in messages are 1-based columns of the line as written.
class LineParser {
 public:
  LineParser(std::string_view line, int line_no, const std::string& source, const Vars& vars)
      : s_(line), line_no_(line_no), source_(source), vars_(vars) {}

  // Returns an entry, or an entry with an empty key for a blank/comment line.
  Result<ConfEntry> parse() {
    skip_blanks();
    if (at_end() || peek() == '#') return ConfEntry{};
    // An optional "export " prefix, as in files meant to be sourced by a shell.
    if (s_.substr(pos_).starts_with("export") && pos_ + 6 < s_.size() && is_blank(s_[pos_ + 6])) {
      pos_ += 6;
      skip_blanks();
      if (at_end() || peek() == '#') return fail("conf.syntax", "'export' without KEY=VALUE");
    }
    std::size_t key_start = pos_;
    while (!at_end() && is_name_char(peek())) ++pos_;
    std::string key(s_.substr(key_start, pos_ - key_start));
    if (key.empty() || at_end() || peek() != '=') return bad_assignment(key_start, key);
    if (!is_conf_key_name(key)) {
      return fail("conf.bad_key", "invalid key name '" + printable(key) +
                                      "': a key starts with a letter or '_' and contains only "
                                      "letters, digits and '_'");
    }
    ++pos_;  // '='
    value_start_ = pos_;
    std::string value;
    CC_TRY_STATUS(parse_word(value));
    bool blank_after_equals = pos_ == value_start_ && !at_end();
    skip_blanks();
    if (!at_end() && peek() != '#') {
      if (blank_after_equals) {
        return fail(
            "conf.syntax",
            "spaces around '=' are not allowed in this shell syntax; write " + key + "=VALUE");
      }
      return fail("conf.syntax",
                  "unexpected text after the value of " + key + ": '" + printable(s_.substr(pos_)) +
                      "'; quote a value that contains spaces, e.g. " + key + "=\"a b\"");
    }
    return ConfEntry{std::move(key), std::move(value), line_no_};
  }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0';
  }
  void skip_blanks() {
    while (!at_end() && is_blank(peek())) ++pos_;
  }
  std::string col(std::size_t p) const { return "column " + std::to_string(p + 1); }

  Error fail(const std::string& code, const std::string& what) const {
    return make_error(code, source_ + ":" + std::to_string(line_no_) + ": " + what);
  }

  // The line does not start with NAME=; say what it looks like instead.
  Error bad_assignment(std::size_t key_start, const std::string& key) {
    if (key.empty()) {
      if (peek() == '=') return fail("conf.bad_key", "missing key name before '='");
      if (is_digit(peek())) {
        std::size_t end = pos_;
        while (end < s_.size() && s_[end] != '=' && !is_blank(s_[end])) ++end;
        return fail("conf.bad_key", "invalid key name '" + printable(s_.substr(pos_, end - pos_)) +
                                        "': a key must not start with a digit");
      }
      return fail("conf.syntax",
                  "expected KEY=VALUE, found '" + printable(s_.substr(key_start)) + "'");
    }
    std::size_t p = pos_;
    while (p < s_.size() && is_blank(s_[p])) ++p;
    if (p < s_.size() && s_[p] == '=') {
      return fail("conf.syntax", "spaces around '=' are not allowed in this shell syntax; write " +
                                     key + "=VALUE");
    }
    if (peek() == '+' && peek(1) == '=') {
      return fail("conf.syntax", "'+=' is not supported; write the whole value: " + key + "=...");
    }
    if (at_end() || is_blank(peek())) {
      return fail("conf.syntax", "expected KEY=VALUE, found '" + printable(s_.substr(key_start)) +
                                     "' (commands are not allowed in a configuration file)");
    }
    std::size_t end = pos_;
    while (end < s_.size() && s_[end] != '=' && !is_blank(s_[end])) ++end;
    return fail("conf.bad_key", "invalid key name '" +
                                    printable(s_.substr(key_start, end - key_start)) +
                                    "': a key contains only letters, digits and '_'");
  }

  Status append(std::string& out, std::string_view text) const {
    if (out.size() + text.size() > kMaxConfValueBytes) {
      return fail("conf.value_too_long", "the value is longer than " +
                                             std::to_string(kMaxConfValueBytes) +
                                             " bytes after expansion");
    }
    out.append(text);
    return ok_status();
  }

  // One shell word: unquoted, "double" and 'single' parts, ending at an unquoted blank or EOL.
  Status parse_word(std::string& out) {
    while (!at_end() && !is_blank(peek())) {
      char c = peek();
      if (c == '\'') {
        std::size_t open = pos_++;
        std::size_t close = s_.find('\'', pos_);
        if (close == std::string_view::npos) {
          return fail("conf.unterminated_quote", "unterminated single quote (opened at " +
                                                     col(open) +
                                                     "); a quoted value must end on the same line");
        }
        CC_TRY_STATUS(append(out, s_.substr(pos_, close - pos_)));
        pos_ = close + 1;
      } else if (c == '"') {
        CC_TRY_STATUS(parse_double_quoted(out));
      } else if (c == '\\') {
        if (pos_ + 1 >= s_.size()) {
          return fail("conf.syntax",
                      "a backslash at the end of a line (line continuation) is not supported; "
                      "put the whole value on one line");
        }
        CC_TRY_STATUS(append(out, s_.substr(pos_ + 1, 1)));
        pos_ += 2;
      } else if (c == '$') {
        CC_TRY_STATUS(parse_dollar(out));
      } else if (c == '`') {
        return command_substitution();
      } else if (c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')') {
        return fail("conf.syntax", std::string("unquoted '") + c + "' at " + col(pos_) +
                                       " (a shell operator); quote the value if it is meant "
                                       "literally, e.g. KEY=\"a" +
                                       c + "b\"");
      } else if (c == '~' && (pos_ == value_start_ || s_[pos_ - 1] == ':')) {
        return fail("conf.syntax",
                    "'~' at " + col(pos_) +
                        " is not expanded to a home directory here; write the full path");
      } else {
        CC_TRY_STATUS(append(out, s_.substr(pos_, 1)));
        ++pos_;
      }
    }
    return ok_status();
  }

  Status parse_double_quoted(std::string& out) {
    std::size_t open = pos_++;
    while (!at_end()) {
      char c = peek();
      if (c == '"') {
        ++pos_;
        return ok_status();
      }
      if (c == '\\') {
        char n = peek(1);
        if (n == '$' || n == '`' || n == '"' || n == '\\') {
          CC_TRY_STATUS(append(out, s_.substr(pos_ + 1, 1)));
          pos_ += 2;
        } else {
          // POSIX sh keeps a backslash before any other character inside double quotes.
          CC_TRY_STATUS(append(out, "\\"));
          ++pos_;
        }
      } else if (c == '$') {
        CC_TRY_STATUS(parse_dollar(out));
      } else if (c == '`') {
        return command_substitution();
      } else {
        CC_TRY_STATUS(append(out, s_.substr(pos_, 1)));
        ++pos_;
      }
    }
    return fail("conf.unterminated_quote", "unterminated double quote (opened at " + col(open) +
                                               "); a quoted value must end on the same line");
  }

  Error command_substitution() const {
    return fail("conf.command_substitution",
                "command substitution at " + col(pos_) +
                    " is not supported: corecell never runs commands from its configuration; "
                    "write the value itself");
  }

  Result<const Var*> lookup(const std::string& name, std::size_t at) const {
    auto it = vars_.find(name);
    if (it == vars_.end()) {
      return fail("conf.unknown_variable",
                  "unknown variable $" + name + " at " + col(at) +
                      ": only keys set on earlier lines of this file can be used (the "
                      "environment is not read)");
    }
    if (it->second.value.empty()) {
      // sh would expand to nothing (LOG_DIR=$DATA_DIR/logs becomes /logs); that is a mistake.
      return fail("conf.empty_variable", "$" + name + " at " + col(at) + " is empty (set on line " +
                                             std::to_string(it->second.line) + "); give " + name +
                                             " a value before this line");
    }
    return &it->second;
  }

  // At '$': a variable, ${VAR}, $((arithmetic)), a refused form, or a literal '$'.
  Status parse_dollar(std::string& out) {
    std::size_t at = pos_;
    char n = peek(1);
    if (n == '(') {
      if (peek(2) != '(') return command_substitution();
      pos_ += 3;
      CC_TRY_ASSIGN(std::int64_t v, parse_arith_expr(at, 0));
      skip_blanks();
      if (peek() != ')' || peek(1) != ')') {
        if (at_end()) return arith_fail(at, "missing '))'");
        if (peek() == ')') {
          return arith_fail(at, "missing '))' (only one ')' at " + col(pos_) + ")");
        }
        return arith_fail(at, "unexpected '" + printable(s_.substr(pos_, 1)) + "' at " + col(pos_) +
                                  " (expected an operator or '))')");
      }
      pos_ += 2;
      return append(out, std::to_string(v));
    }
    if (n == '{') {
      std::size_t close = s_.find('}', pos_ + 2);
      if (close == std::string_view::npos) {
        return fail("conf.syntax", "unterminated ${ at " + col(at) + "; write ${NAME}");
      }
      std::string name(s_.substr(pos_ + 2, close - pos_ - 2));
      if (!is_conf_key_name(name)) {
        return fail("conf.syntax", "unsupported expansion ${" + printable(name) + "} at " +
                                       col(at) + ": only ${NAME} is supported");
      }
      CC_TRY_ASSIGN(const Var* var, lookup(name, at));
      pos_ = close + 1;
      return append(out, var->value);
    }
    if (is_name_start(n)) {
      std::size_t p = pos_ + 1;
      while (p < s_.size() && is_name_char(s_[p])) ++p;
      std::string name(s_.substr(pos_ + 1, p - pos_ - 1));
      CC_TRY_ASSIGN(const Var* var, lookup(name, at));
      pos_ = p;
      return append(out, var->value);
    }
    if (is_digit(n) || std::string_view("@*#?$!-").find(n) != std::string_view::npos) {
      if (n != '\0') {
        return fail("conf.syntax", std::string("special shell parameter $") + n + " at " + col(at) +
                                       " is not supported; write \\$ for a literal $");
      }
    }
    // sh keeps a '$' that starts no expansion ("$", "$/", "$ ").
    ++pos_;
    return append(out, "$");
  }

  // --- $((...)) arithmetic: recursive descent over the line itself ---

  Error arith_fail(std::size_t at, const std::string& what) const {
    return fail("conf.arithmetic", "bad arithmetic $((...)) at " + col(at) + ": " + what);
  }

  Result<std::int64_t> parse_arith_expr(std::size_t at, int depth) {
    if (depth > kMaxConfArithmeticDepth) return arith_fail(at, "nested too deeply");
    CC_TRY_ASSIGN(std::int64_t acc, parse_arith_term(at, depth));
    for (;;) {
      skip_blanks();
      char op = peek();
      if (op != '+' && op != '-') return acc;
      ++pos_;
      CC_TRY_ASSIGN(std::int64_t rhs, parse_arith_term(at, depth));
      std::int64_t r = 0;
      bool overflow =
          op == '+' ? __builtin_add_overflow(acc, rhs, &r) : __builtin_sub_overflow(acc, rhs, &r);
      if (overflow) return arith_fail(at, "the result does not fit in 64 bits");
      acc = r;
    }
  }

  Result<std::int64_t> parse_arith_term(std::size_t at, int depth) {
    CC_TRY_ASSIGN(std::int64_t acc, parse_arith_unary(at, depth));
    for (;;) {
      skip_blanks();
      char op = peek();
      if (op == '%') return arith_fail(at, "only + - * / are supported");
      if (op != '*' && op != '/') return acc;
      ++pos_;
      CC_TRY_ASSIGN(std::int64_t rhs, parse_arith_unary(at, depth));
      std::int64_t r = 0;
      if (op == '*') {
        if (__builtin_mul_overflow(acc, rhs, &r)) {
          return arith_fail(at, "the result does not fit in 64 bits");
        }
      } else {
        if (rhs == 0) return arith_fail(at, "division by zero");
        if (acc == std::numeric_limits<std::int64_t>::min() && rhs == -1) {
          return arith_fail(at, "the result does not fit in 64 bits");
        }
        r = acc / rhs;
      }
      acc = r;
    }
  }

  Result<std::int64_t> parse_arith_unary(std::size_t at, int depth) {
    if (depth > kMaxConfArithmeticDepth) return arith_fail(at, "nested too deeply");
    skip_blanks();
    char c = peek();
    if (c == '+' || c == '-') {
      ++pos_;
      CC_TRY_ASSIGN(std::int64_t v, parse_arith_unary(at, depth + 1));
      if (c == '+') return v;
      if (v == std::numeric_limits<std::int64_t>::min()) {
        return arith_fail(at, "the result does not fit in 64 bits");
      }
      return -v;
    }
    return parse_arith_primary(at, depth);
  }

  Result<std::int64_t> parse_arith_primary(std::size_t at, int depth) {
    skip_blanks();
    char c = peek();
    if (c == '(') {
      ++pos_;
      CC_TRY_ASSIGN(std::int64_t v, parse_arith_expr(at, depth + 1));
      skip_blanks();
      if (peek() != ')') return arith_fail(at, "missing ')' at " + col(pos_));
      ++pos_;
      return v;
    }
    if (is_digit(c)) {
      std::size_t start = pos_;
      while (!at_end() && is_name_char(peek())) ++pos_;
      std::string_view lit = s_.substr(start, pos_ - start);
      if (lit.size() > 1 && lit[0] == '0') {
        return arith_fail(at, "'" + printable(lit) +
                                  "' has a leading zero (the shell would read it as octal or "
                                  "hex); write a plain decimal number");
      }
      auto v = parse_int(lit);
      if (!v) {
        return arith_fail(at,
                          "'" + printable(lit) + "' is not a decimal integer that fits in 64 bits");
      }
      return *v;
    }
    std::size_t name_at = pos_;
    std::string name;
    if (c == '$' && peek(1) == '{') {
      std::size_t close = s_.find('}', pos_ + 2);
      if (close == std::string_view::npos) return arith_fail(at, "unterminated ${");
      name = std::string(s_.substr(pos_ + 2, close - pos_ - 2));
      if (!is_conf_key_name(name)) return arith_fail(at, "only ${NAME} is supported");
      pos_ = close + 1;
    } else {
      if (c == '$') ++pos_;
      std::size_t start = pos_;
      if (!at_end() && is_name_start(peek())) {
        while (!at_end() && is_name_char(peek())) ++pos_;
      }
      name = std::string(s_.substr(start, pos_ - start));
      if (name.empty()) {
        if (at_end()) return arith_fail(at, "missing '))'");
        if (c == ')') return arith_fail(at, "missing operand before ')' at " + col(pos_));
        return arith_fail(at, "unexpected '" + printable(s_.substr(pos_, 1)) + "' at " + col(pos_) +
                                  "; use integers, keys and + - * / ( )");
      }
    }
    CC_TRY_ASSIGN(const Var* var, lookup(name, name_at));
    auto v = parse_int(var->value);
    if (!v) {
      return arith_fail(at, name + " is \"" + printable(var->value) + "\" (line " +
                                std::to_string(var->line) + "), not an integer");
    }
    return *v;
  }

  static std::optional<std::int64_t> parse_int(std::string_view text) {
    bool neg = false;
    if (!text.empty() && text[0] == '-') {
      neg = true;
      text.remove_prefix(1);
    }
    if (text.empty() || text.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char ch : text) {
      if (!is_digit(ch)) return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    // 19 digits always fit in uint64; INT64_MIN has one more magnitude than INT64_MAX.
    std::uint64_t limit =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (neg ? 1u : 0u);
    if (v > limit) return std::nullopt;
    if (neg)
      return v == limit ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v);
    return static_cast<std::int64_t>(v);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t value_start_ = 0;
  int line_no_;
  const std::string& source_;
  const Vars& vars_;
};

}  // namespace

bool is_conf_key_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0])) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

const ConfEntry* ConfFile::find(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->key == key) return &*it;
  }
  return nullptr;
}

Result<ConfFile> parse_conf(std::string_view text, const std::string& source) {
  if (text.size() > kMaxConfFileBytes) {
    return make_error("conf.too_large", source + " is " + std::to_string(text.size()) +
                                            " bytes; a configuration file may be at most " +
                                            std::to_string(kMaxConfFileBytes) + " bytes");
  }
  ConfFile file;
  file.source = source;
  Vars vars;
  int line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    ++line_no;
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    std::string where = source + ":" + std::to_string(line_no) + ": ";
    if (line.size() > kMaxConfLineBytes) {
      return make_error("conf.line_too_long", where + "the line is " + std::to_string(line.size()) +
                                                  " bytes; the limit is " +
                                                  std::to_string(kMaxConfLineBytes));
    }
    if (!line.empty() && line.back() == '\r') {
      return make_error("conf.syntax", where +
                                           "the line ends with a carriage return (Windows line "
                                           "ending); convert the file, e.g. with dos2unix");
    }
    if (line.find('\0') != std::string_view::npos) {
      return make_error("conf.syntax",
                        where + "the line contains a NUL byte; is this a text file?");
    }
    LineParser parser(line, line_no, source, vars);
    CC_TRY_ASSIGN(ConfEntry entry, parser.parse());
    if (entry.key.empty()) continue;
    vars[entry.key] = Var{entry.value, line_no};
    file.entries.push_back(std::move(entry));
  }
  return file;
}

Result<ConfFile> read_conf_file(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxConfFileBytes);
  if (!text.ok()) return text.error().context("reading configuration file");
  return parse_conf(*text, path.string());
}

}  // namespace cc::node

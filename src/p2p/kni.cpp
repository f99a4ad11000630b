#include "p2p/kni.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace cc::p2p {
namespace {

constexpr std::size_t kMaxUrlLength = 1024;
constexpr const char* kForm =
    "kni://<128-hex node ID>@<host>:<port>[?subport=<p>&discport=<p>&ntype=<cn|pn|en|bn>]";

Error bad(const std::string& code, const std::string& what) {
  return make_error("kni." + code, "invalid kni URL: " + what + "; expected " + kForm);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto pos = s.find(sep);
    parts.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return parts;
    s.remove_prefix(pos + 1);
  }
}

// Decimal 0..65535 without sign, spaces or leading zeros ("0" itself is fine).
Result<std::uint16_t> parse_port(std::string_view s, const std::string& name) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit) ||
      (s.size() > 1 && s[0] == '0')) {
    return bad("port", name + " \"" + std::string(s) + "\" is not a number in 0..65535");
  }
  unsigned long v = std::stoul(std::string(s));
  if (v > 65535) return bad("port", name + " " + std::string(s) + " is larger than 65535");
  return static_cast<std::uint16_t>(v);
}

bool valid_ipv4(std::string_view s) {
  auto parts = split(s, '.');
  if (parts.size() != 4) return false;
  for (auto p : parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return false;
    if (!std::all_of(p.begin(), p.end(), is_digit)) return false;
    if (std::stoi(std::string(p)) > 255) return false;
  }
  return true;
}

// RFC 1123 host name: dot-separated labels of letters, digits and '-', 1..63 chars each, no
// label starting or ending with '-', 253 chars at most.
bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (auto label : split(s, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    }
  }
  return true;
}

Status check_host(std::string_view host) {
  if (host.empty()) return bad("host", "the host is empty");
  if (host.front() == '[') return bad("host", "IPv6 hosts are not supported, use an IPv4 address");
  bool numeric =
      std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
  if (numeric) {
    if (!valid_ipv4(host)) {
      return bad("host", "\"" + std::string(host) + "\" is not a valid IPv4 address");
    }
  } else if (!valid_hostname(host)) {
    return bad("host", "\"" + std::string(host) + "\" is neither an IPv4 address nor a host name");
  }
  return ok_status();
}

}  // namespace

Result<KniUrl> KniUrl::parse(std::string_view text) {
  if (text.size() > kMaxUrlLength) {
    return bad("length", "it is " + std::to_string(text.size()) + " characters long");
  }
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad("scheme", "no scheme (kni:// or enode://)");
  std::string scheme = lower(text.substr(0, sep));
  if (scheme != "kni" && scheme != "enode") {
    return bad("scheme", "scheme \"" + std::string(text.substr(0, sep)) + "\" is not kni or enode");
  }
  std::string_view rest = text.substr(sep + 3);

  auto at = rest.find('@');
  if (at == std::string_view::npos) {
    return bad("missing_host", "no @<host>:<port> after the node ID");
  }
  std::string_view id = rest.substr(0, at);
  if (id.size() != 128 || !std::all_of(id.begin(), id.end(), is_hex)) {
    return bad("node_id",
               "the node ID must be 128 hex characters (the 64-byte public key, no "
               "0x), got " +
                   std::to_string(id.size()) + " characters");
  }
  KniUrl url;
  auto id_bytes = fixed_from_hex<64>(id);
  if (!id_bytes.ok()) return bad("node_id", id_bytes.error().message);
  url.node_id = *id_bytes;
  if (!crypto::validate_public_key(url.node_id).ok()) {
    return bad("node_id", "the node ID is not a valid secp256k1 public key");
  }
  rest.remove_prefix(at + 1);

  auto q = rest.find('?');
  std::string_view authority = rest.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
  if (authority.find_first_of("/#@") != std::string_view::npos) {
    return bad("syntax", "unexpected '/', '#' or '@' after the host");
  }
  auto colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {
    return bad("host", "IPv6 hosts are not supported, use an IPv4 address");
  }
  if (colon == std::string_view::npos) return bad("missing_port", "no :<port> after the host");
  url.host = std::string(authority.substr(0, colon));
  CC_TRY_STATUS(check_host(url.host));
  CC_TRY_ASSIGN(url.port, parse_port(authority.substr(colon + 1), "port"));
  if (url.port == 0) return bad("port", "the TCP port must not be 0");
  url.discport = url.port;

  if (q != std::string_view::npos) {
    if (query.find('#') != std::string_view::npos) return bad("syntax", "unexpected '#'");
    bool seen_subport = false, seen_discport = false, seen_ntype = false;
    for (auto param : split(query, '&')) {
      auto eq = param.find('=');
      std::string_view key = param.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
      if (eq == std::string_view::npos || value.empty()) {
        return bad("query", "parameter \"" + std::string(param) + "\" has no value");
      }
      bool* seen = key == "subport"    ? &seen_subport
                   : key == "discport" ? &seen_discport
                   : key == "ntype"    ? &seen_ntype
                                       : nullptr;
      if (seen == nullptr) {
        return bad("query", "unknown parameter \"" + std::string(key) +
                                "\" (known: subport, discport, ntype)");
      }
      if (*seen) return bad("query", "parameter \"" + std::string(key) + "\" appears twice");
      *seen = true;
      if (key == "subport") {
        CC_TRY_ASSIGN(url.subport, parse_port(value, "subport"));
      } else if (key == "discport") {
        CC_TRY_ASSIGN(url.discport, parse_port(value, "discport"));
      } else {
        url.ntype = lower(value);
        if (url.ntype != "cn" && url.ntype != "pn" && url.ntype != "en" && url.ntype != "bn") {
          return bad("ntype", "ntype \"" + std::string(value) + "\" is not one of cn, pn, en, bn");
        }
      }
    }
  }
  return url;
}

std::string KniUrl::to_string() const {
  std::string out = "kni://" + to_hex(node_id) + "@" + host + ":" + std::to_string(port);
  std::vector<std::string> params;
  if (subport != 0) params.push_back("subport=" + std::to_string(subport));
  if (discport != port) params.push_back("discport=" + std::to_string(discport));
  if (!ntype.empty()) params.push_back("ntype=" + ntype);
  for (std::size_t i = 0; i < params.size(); ++i) out += (i == 0 ? "?" : "&") + params[i];
  return out;
}

}  // namespace cc::p2p

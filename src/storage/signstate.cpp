#include "storage/signstate.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "crypto/keccak.h"
#include "util/files.h"

namespace cc::storage {
namespace {

constexpr char kMagic[8] = {'C', 'C', 'S', 'I', 'G', 'N', 'S', 'T'};
constexpr std::size_t kPreambleBytes = 16;  // magic + version + body length
constexpr std::size_t kChecksumBytes = 32;
constexpr std::size_t kFixedBodyBytes = 20 + 8 + 8 + 8 + 4;
constexpr std::size_t kRecordBytes = 8 + 4 + 1 + 8 + 32;
constexpr std::size_t kMaxFileBytes =
    kPreambleBytes + kFixedBodyBytes + kRecordBytes * kSignStateMaxRecords + kChecksumBytes;

// Writes into a buffer sized up front (plain indexed stores: GCC 12 reports false overflows on
// repeated vector::insert of small arrays).
class Writer {
 public:
  explicit Writer(std::size_t size) : out_(size) {}
  void raw(const std::uint8_t* data, std::size_t n) {
    std::memcpy(out_.data() + pos_, data, n);
    pos_ += n;
  }
  void u8(std::uint8_t v) { out_[pos_++] = v; }
  void u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) u8(static_cast<std::uint8_t>(v >> shift));
  }
  void u64(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) u8(static_cast<std::uint8_t>(v >> shift));
  }
  template <std::size_t N>
  void fixed(const FixedBytes<N>& v) {
    raw(v.data(), N);
  }
  [[nodiscard]] std::size_t pos() const { return pos_; }
  [[nodiscard]] Bytes& bytes() { return out_; }

 private:
  Bytes out_;
  std::size_t pos_ = 0;
};

// A bounds-checked reader; callers check the total length first, so running short is a bug in
// this file's arithmetic, but it still fails as a value rather than reading past the end.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  [[nodiscard]] bool take(std::size_t n, ByteView& out) {
    if (data_.size() - pos_ < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] bool u8(std::uint8_t& v) {
    ByteView b;
    if (!take(1, b)) return false;
    v = b[0];
    return true;
  }
  [[nodiscard]] bool u32(std::uint32_t& v) {
    ByteView b;
    if (!take(4, b)) return false;
    v = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
        std::uint32_t{b[3]};
    return true;
  }
  [[nodiscard]] bool u64(std::uint64_t& v) {
    ByteView b;
    if (!take(8, b)) return false;
    v = read_be64(b);
    return true;
  }
  template <std::size_t N>
  [[nodiscard]] bool fixed(FixedBytes<N>& v) {
    ByteView b;
    if (!take(N, b)) return false;
    std::copy(b.begin(), b.end(), v.begin());
    return true;
  }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

auto record_key(const SignRecord& r) { return std::make_tuple(r.height, r.round, r.kind); }

Error truncated(const std::string& what) {
  return make_error("signstate.truncated", "sign-state data ends inside " + what);
}

}  // namespace

Bytes encode_sign_state(const SignState& state) {
  const std::size_t body_len = kFixedBodyBytes + kRecordBytes * state.records.size();
  Writer w(kPreambleBytes + body_len + kChecksumBytes);
  w.raw(reinterpret_cast<const std::uint8_t*>(kMagic), sizeof kMagic);
  w.u32(kSignStateVersion);
  w.u32(static_cast<std::uint32_t>(body_len));
  w.fixed(state.address);
  w.u64(state.max_height);
  w.u64(state.floor);
  w.u64(state.max_epoch);
  w.u32(static_cast<std::uint32_t>(state.records.size()));
  for (const auto& r : state.records) {
    w.u64(r.height);
    w.u32(r.round);
    w.u8(r.kind);
    w.u64(r.epoch);
    w.fixed(r.digest);
  }
  const Hash32 sum = crypto::keccak256(ByteView(w.bytes().data(), w.pos()));
  w.fixed(sum);
  return std::move(w.bytes());
}

Result<SignState> decode_sign_state(ByteView data) {
  if (data.size() < sizeof kMagic)
    return truncated("the magic (" + std::to_string(data.size()) +
                     " bytes, a complete file is at least " +
                     std::to_string(kPreambleBytes + kFixedBodyBytes + kChecksumBytes) + ")");
  if (std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return make_error("signstate.magic", "not a sign-state file (magic is not \"CCSIGNST\")");
  Reader rd(data.subspan(sizeof kMagic));
  std::uint32_t version = 0;
  std::uint32_t body_len = 0;
  if (!rd.u32(version)) return truncated("the version field");
  if (version != kSignStateVersion)
    return make_error("signstate.version", "sign-state version " + std::to_string(version) +
                                               " is not supported (this " + "build reads version " +
                                               std::to_string(kSignStateVersion) + ")");
  if (!rd.u32(body_len)) return truncated("the body length field");
  const std::size_t expected_total = kPreambleBytes + std::size_t{body_len} + kChecksumBytes;
  if (data.size() < expected_total)
    return truncated("the body or checksum (" + std::to_string(data.size()) + " bytes, the " +
                     "length field says " + std::to_string(expected_total) + ")");
  if (data.size() > expected_total)
    return make_error("signstate.trailing", std::to_string(data.size() - expected_total) +
                                                " unexpected bytes after the checksum");
  // The checksum first: any other complaint about a file with a bad checksum would mislead.
  Hash32 sum = crypto::keccak256(data.subspan(0, kPreambleBytes + body_len));
  if (!std::equal(sum.begin(), sum.end(), data.begin() + kPreambleBytes + body_len))
    return make_error("signstate.checksum",
                      "sign-state checksum mismatch (the file is corrupt or was partly written)");

  SignState st;
  Reader body(data.subspan(kPreambleBytes, body_len));
  std::uint32_t count = 0;
  if (!body.fixed(st.address) || !body.u64(st.max_height) || !body.u64(st.floor) ||
      !body.u64(st.max_epoch) || !body.u32(count))
    return truncated("the fixed body fields (length field " + std::to_string(body_len) + ")");
  if (count > kSignStateMaxRecords)
    return make_error("signstate.too_many", "sign-state holds " + std::to_string(count) +
                                                " records; the limit is " +
                                                std::to_string(kSignStateMaxRecords));
  if (std::size_t{body_len} != kFixedBodyBytes + kRecordBytes * count)
    return make_error("signstate.length",
                      "sign-state body length " + std::to_string(body_len) + " does not match " +
                          std::to_string(count) + " records (expected " +
                          std::to_string(kFixedBodyBytes + kRecordBytes * count) + ")");
  st.records.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    SignRecord r;
    if (!body.u64(r.height) || !body.u32(r.round) || !body.u8(r.kind) || !body.u64(r.epoch) ||
        !body.fixed(r.digest))
      return truncated("record " + std::to_string(i));
    if (r.height > st.max_height)
      return make_error("signstate.record_height", "sign-state record " + std::to_string(i) +
                                                       " is at height " + std::to_string(r.height) +
                                                       ", above max_height " +
                                                       std::to_string(st.max_height));
    if (!st.records.empty() && !(record_key(st.records.back()) < record_key(r)))
      return make_error("signstate.order", "sign-state record " + std::to_string(i) +
                                               " is not after the previous one by (height, " +
                                               "round, kind) (duplicate or unsorted)");
    st.records.push_back(r);
  }
  return st;
}

std::string sign_state_fix(const std::filesystem::path& path) {
  return "the node will not sign without it. Restore " + path.string() +
         " from a backup; or, only if you are sure no other process signed with this validator "
         "key at the heights it covered, remove it (the node then starts signing above the "
         "network head)";
}

Result<std::optional<SignState>> load_sign_state(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxFileBytes);
  if (!text.ok()) {
    if (text.error().code == "file.missing") return std::optional<SignState>{};
    return make_error("signstate.unreadable", "cannot read sign-state file " + path.string() +
                                                  " (" + text.error().message + "); " +
                                                  sign_state_fix(path));
  }
  auto state = decode_sign_state(view(*text));
  if (!state.ok())
    return make_error(state.error().code, "sign-state file " + path.string() + " is unusable: " +
                                              state.error().message + "; " + sign_state_fix(path));
  return std::optional<SignState>{std::move(state).value()};
}

Status save_sign_state(const std::filesystem::path& path, const SignState& state) {
  Status st = atomic_write_file(path, encode_sign_state(state), 0600);
  if (!st.ok())
    return make_error("signstate.write", "persisting sign-state file " + path.string() +
                                             " failed: " + st.error().message);
  return ok_status();
}

}  // namespace cc::storage

// ha/etcd_lease.cpp — the `etcd` lease backend (see ha/etcd_lease.h for the key schema): every
// decision is one etcd transaction guarded by the holder key's create_revision (the epoch), so
// two agents can never both see their acquire succeed, and a renew or release by anyone but the
// current holding is refused by etcd itself. HTTP is one POST per call, endpoint by endpoint,
// starting with the last one that answered.
#include "ha/etcd_lease.h"

#include <httplib.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

namespace cc::ha {
namespace {

using etcd_json = nlohmann::json;

// gRPC status codes the gateway reports in {"error","code"} bodies that mean "this member cannot
// answer now" (no leader, timeout, overloaded): the next endpoint may.
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcNotFound = 5;  // "etcdserver: requested lease not found"
constexpr int kGrpcResourceExhausted = 8;
constexpr int kGrpcUnavailable = 14;
// How often a guarded write is retried when only the state key changed under it (two acquirers
// racing for a free lease; the holder key decides, so this is bounded contention, not a loop).
constexpr int kEtcdWriteAttempts = 4;
// etcd's own minimum TTL with default timings is ceil(1.5 * election timeout) = 2 s.
constexpr std::int64_t kEtcdMinTtlSeconds = 2;

std::string etcd_b64(const std::string& raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the encoder writes a terminating NUL
  return out;
}

bool etcd_unb64(const std::string& b64, std::string& out) {
  out.assign(b64.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(),
                        b64.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  out.resize(len);
  return true;
}

// obj[name] when obj is an object that has it, else null: etcd's JSON is read without throwing.
const etcd_json& etcd_member(const etcd_json& obj, const char* name) {
  static const etcd_json null_json;
  if (!obj.is_object()) return null_json;
  auto it = obj.find(name);
  return it == obj.end() ? null_json : *it;
}

// responses[i] of a txn reply, or null.
const etcd_json& etcd_txn_response(const etcd_json& txn_reply, std::size_t i) {
  static const etcd_json null_json;
  const etcd_json& responses = etcd_member(txn_reply, "responses");
  return responses.is_array() && i < responses.size() ? responses[i] : null_json;
}

bool etcd_succeeded(const etcd_json& txn_reply) {
  const etcd_json& s = etcd_member(txn_reply, "succeeded");
  return s.is_boolean() && s.get<bool>();
}

// etcd's int64s arrive as JSON strings ("42"); absent fields are zero (proto3 omits defaults).
std::int64_t etcd_int(const etcd_json& obj, const char* name) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(name);
  if (it == obj.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return 0;
  const auto& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && p == s.data() + s.size()) ? v : 0;
}

// One key as a range returned it (exists == false: no such key).
struct EtcdKv {
  bool exists = false;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

EtcdKv etcd_first_kv(const etcd_json& range_response) {
  EtcdKv kv;
  if (!range_response.is_object()) return kv;
  auto it = range_response.find("kvs");
  if (it == range_response.end() || !it->is_array() || it->empty()) return kv;
  const etcd_json& k = (*it)[0];
  kv.exists = true;
  if (const etcd_json& v = etcd_member(k, "value"); v.is_string()) {
    etcd_unb64(v.get<std::string>(), kv.value);
  }
  kv.create_revision = etcd_int(k, "create_revision");
  kv.mod_revision = etcd_int(k, "mod_revision");
  kv.lease = etcd_int(k, "lease");
  return kv;
}

// <prefix>/state as stored. `epoch` absent in the JSON means "this key's mod_revision": the
// acquire writes the state in the same transaction that creates the holder key, whose
// create_revision (the epoch) is not known before that transaction commits.
struct EtcdStoredState {
  std::string holder;
  std::uint64_t epoch = 0;
  std::uint64_t watermark = 0;
  bool exact = false;
  std::string handover_to;
};

// The three keys read in one transaction (one consistent revision).
struct EtcdSnapshot {
  EtcdKv holder_kv;
  std::string holder;  // parsed from holder_kv
  EtcdKv state_kv;
  EtcdStoredState state;  // parsed from state_kv (zero when absent)
  EtcdKv paused_kv;
  std::string paused_by;
};

// A gateway answer: ok, or an etcd error that retrying elsewhere would not change.
struct EtcdAnswer {
  etcd_json body;
  int grpc_code = 0;  // 0: success
  std::string error;  // etcd's message when grpc_code != 0
  [[nodiscard]] bool ok() const { return grpc_code == 0; }
};

class EtcdLeaseStore final : public LeaseStore {
 public:
  explicit EtcdLeaseStore(EtcdLeaseOptions options) : opt_(std::move(options)) {
    holder_key_ = opt_.prefix + "/holder";
    state_key_ = opt_.prefix + "/state";
    paused_key_ = opt_.prefix + "/paused";
    for (std::size_t i = 0; i < opt_.endpoints.size(); ++i) {
      endpoint_list_ += (i ? "," : "") + opt_.endpoints[i];
    }
  }

  [[nodiscard]] std::string describe() const override {
    return "etcd " + endpoint_list_ + " " + opt_.prefix;
  }

  [[nodiscard]] Result<LeaseState> read() override {
    std::lock_guard<std::mutex> lock(mu_);
    CC_TRY_ASSIGN(EtcdSnapshot snap, snapshot());
    LeaseState out;
    out.holder = snap.state.holder;
    out.epoch = snap.state.epoch;
    if (snap.holder_kv.exists) {
      out.holder = snap.holder;
      out.epoch = static_cast<std::uint64_t>(snap.holder_kv.create_revision);
      CC_TRY_ASSIGN(std::int64_t ttl_s, time_to_live(snap.holder_kv.lease));
      // The key outlives its lease only for the moment etcd takes to revoke an expired lease.
      out.held = ttl_s >= 0;
      out.ttl_left = std::chrono::seconds(std::max<std::int64_t>(ttl_s, 0));
    }
    out.watermark = snap.state.watermark;
    out.watermark_exact = snap.state.exact;
    out.handover_to = snap.state.handover_to;
    out.paused = snap.paused_kv.exists;
    out.paused_by = snap.paused_by;
    return out;
  }

  [[nodiscard]] Result<LeaseGrant> acquire(const std::string& holder,
                                           std::chrono::milliseconds ttl) override {
    if (holder.empty()) {
      return make_error("lease.config", "acquiring a lease needs a non-empty holder name");
    }
    if (ttl.count() <= 0) {
      return make_error("lease.config", "the lease TTL must be positive (got " +
                                            std::to_string(ttl.count()) + " ms)");
    }
    std::int64_t ttl_s = std::max<std::int64_t>(kEtcdMinTtlSeconds, (ttl.count() + 999) / 1000);
    std::lock_guard<std::mutex> lock(mu_);
    for (int attempt = 0; attempt < kEtcdWriteAttempts; ++attempt) {
      CC_TRY_ASSIGN(EtcdSnapshot snap, snapshot());
      if (snap.holder_kv.exists) return held_error(snap);

      LeaseGrant grant;
      grant.requested_at = LeaseClock::now();  // etcd starts counting after this
      CC_TRY_ASSIGN(EtcdAnswer granted, call("/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}}));
      if (!granted.ok()) return rejected("/v3/lease/grant", granted);
      std::int64_t lease_id = etcd_int(granted.body, "ID");
      std::int64_t granted_s = etcd_int(granted.body, "TTL");
      if (lease_id == 0 || granted_s <= 0) {
        return make_error("lease.unavailable",
                          "etcd (" + endpoint_list_ +
                              ") granted no usable lease: " + granted.body.dump().substr(0, 300));
      }

      // Free now (no holder key) and the state unchanged since the snapshot: create the holder
      // key on the new etcd lease and carry the watermark, exactness and handover target over.
      etcd_json state_value = {{"holder", holder},
                               {"watermark", snap.state.watermark},
                               {"exact", snap.state.exact},
                               {"handover_to", snap.state.handover_to}};
      etcd_json txn = {
          {"compare", etcd_json::array({compare_create(holder_key_, 0),
                                        compare_mod(state_key_, snap.state_kv.mod_revision)})},
          {"success",
           etcd_json::array({put_op(holder_key_, etcd_json{{"holder", holder}}.dump(), lease_id),
                             put_op(state_key_, state_value.dump(), 0)})},
          {"failure", etcd_json::array()}};
      auto answer = call("/v3/kv/txn", txn);
      if (!answer.ok() || !answer->ok() || !etcd_succeeded(answer->body)) {
        // Not ours (or unknown): give the etcd lease back. Should the txn have committed after
        // all, revoking deletes the holder key with it; if etcd cannot be reached for that
        // either, the phantom holding (which nobody acts on) ends with its TTL.
        revoke(lease_id);
        if (!answer.ok()) return answer.error();
        if (!answer->ok()) return rejected("/v3/kv/txn", *answer);
        continue;  // the holder key or the state changed since the snapshot: look again
      }
      // Both puts of the txn carry its revision, which is the holder key's create_revision.
      std::int64_t revision = etcd_int(etcd_member(answer->body, "header"), "revision");
      if (revision <= 0) {
        revoke(lease_id);
        return make_error("lease.unavailable",
                          "etcd (" + endpoint_list_ +
                              ") answered the acquire transaction without a revision: " +
                              answer->body.dump().substr(0, 300));
      }
      grant.epoch = static_cast<std::uint64_t>(revision);
      grant.ttl = std::chrono::seconds(granted_s);
      // The txn compared the state key's mod revision with the snapshot's: these are the values
      // the lease carried when it became ours.
      grant.watermark = snap.state.watermark;
      grant.watermark_exact = snap.state.exact;
      return grant;
    }
    return make_error("lease.unavailable",
                      "the etcd keys under " + opt_.prefix + " kept changing during " +
                          std::to_string(kEtcdWriteAttempts) +
                          " acquire attempts; another agent is acquiring too, retry later");
  }

  [[nodiscard]] Result<LeaseGrant> renew(const std::string& holder, std::uint64_t epoch,
                                         std::uint64_t watermark) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (int attempt = 0; attempt < kEtcdWriteAttempts; ++attempt) {
      CC_TRY_ASSIGN(EtcdSnapshot snap, snapshot());
      CC_TRY_STATUS(check_holding(snap, holder, epoch));
      LeaseGrant grant;
      grant.requested_at = LeaseClock::now();
      CC_TRY_ASSIGN(std::int64_t ttl_s, keep_alive(snap, holder, epoch));
      EtcdStoredState next{holder, epoch, std::max(snap.state.watermark, watermark),
                           /*exact=*/false, /*handover_to=*/""};
      CC_TRY_ASSIGN(bool written, guarded_state_write(snap, epoch, next, /*delete_holder=*/false));
      if (!written) continue;
      grant.epoch = epoch;
      grant.ttl = std::chrono::seconds(ttl_s);
      return grant;
    }
    return contention_error("renew");
  }

  [[nodiscard]] Status release(const std::string& holder, std::uint64_t epoch,
                               std::uint64_t watermark, bool watermark_exact,
                               const std::string& handover_to) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (int attempt = 0; attempt < kEtcdWriteAttempts; ++attempt) {
      CC_TRY_ASSIGN(EtcdSnapshot snap, snapshot());
      CC_TRY_STATUS(check_holding(snap, holder, epoch));
      // A keepalive first: it fails once the etcd lease has expired, even while etcd has not
      // yet deleted the holder key, so a lapsed holding is lost, not released (and cannot
      // record exactness or a handover target).
      CC_TRY_STATUS(keep_alive(snap, holder, epoch));
      EtcdStoredState next{holder, epoch, std::max(snap.state.watermark, watermark),
                           watermark_exact, handover_to};
      CC_TRY_ASSIGN(bool written, guarded_state_write(snap, epoch, next, /*delete_holder=*/true));
      if (!written) continue;
      revoke(snap.holder_kv.lease);  // the key is gone already; this only tidies etcd up
      return ok_status();
    }
    return contention_error("release");
  }

  [[nodiscard]] Status set_paused(bool paused, const std::string& by) override {
    std::lock_guard<std::mutex> lock(mu_);
    Result<EtcdAnswer> answer =
        paused ? call("/v3/kv/put", {{"key", etcd_b64(paused_key_)},
                                     {"value", etcd_b64(etcd_json{{"by", by}}.dump())}})
               : call("/v3/kv/deleterange", {{"key", etcd_b64(paused_key_)}});
    if (!answer.ok()) return answer.error();
    if (!answer->ok()) return rejected(paused ? "/v3/kv/put" : "/v3/kv/deleterange", *answer);
    return ok_status();
  }

 private:
  // POSTs `body` to `path`, endpoint by endpoint starting with the last that answered. An error
  // only when none answered (lease.unavailable); etcd's own refusals come back in EtcdAnswer.
  [[nodiscard]] Result<EtcdAnswer> call(const std::string& path, const etcd_json& body) {
    std::string payload = body.dump();
    std::string errors;  // "endpoint: why" for every endpoint tried, in the order tried
    auto failed = [&errors](const std::string& endpoint, const std::string& why) {
      errors += (errors.empty() ? "" : "; ") + endpoint + ": " + why;
    };
    const std::size_t n = opt_.endpoints.size();
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t i = (last_good_ + k) % n;
      const std::string& endpoint = opt_.endpoints[i];
      httplib::Client client(endpoint);
      client.set_connection_timeout(opt_.request_timeout);
      client.set_read_timeout(opt_.request_timeout);
      client.set_write_timeout(opt_.request_timeout);
      auto res = client.Post(path, payload, "application/json");
      if (!res) {
        failed(endpoint, httplib::to_string(res.error()));
        continue;
      }
      // Streaming calls (keepalive) answer {"result":{..}} per line; one request, one line.
      std::string text = res->body;
      if (auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
      etcd_json reply = etcd_json::parse(text, nullptr, false);
      bool stream_error = false;
      if (etcd_member(reply, "result").is_object()) {
        etcd_json inner = reply["result"];
        reply = std::move(inner);
      } else if (etcd_member(reply, "error").is_object()) {
        etcd_json inner = reply["error"];  // {"grpc_code","http_code","message"}
        reply = std::move(inner);
        stream_error = true;
      }
      if (reply.is_discarded() || !reply.is_object()) {
        failed(endpoint, "HTTP " + std::to_string(res->status) +
                             " with a body that is not etcd JSON: " + res->body.substr(0, 200));
        continue;
      }
      int code = static_cast<int>(etcd_int(reply, "code"));
      if (code == 0) code = static_cast<int>(etcd_int(reply, "grpc_code"));
      if (res->status == 200 && code == 0 && !stream_error && !reply.contains("error")) {
        last_good_ = i;
        return EtcdAnswer{std::move(reply), 0, ""};
      }
      std::string message = etcd_member(reply, "message").is_string()
                                ? etcd_member(reply, "message").get<std::string>()
                            : etcd_member(reply, "error").is_string()
                                ? etcd_member(reply, "error").get<std::string>()
                                : reply.dump().substr(0, 200);
      if (code == 0) code = 2;  // an error body without a code: gRPC "unknown"
      if (res->status >= 500 || code == kGrpcUnavailable || code == kGrpcDeadlineExceeded ||
          code == kGrpcResourceExhausted) {
        failed(endpoint, "HTTP " + std::to_string(res->status) + ": " + message);
        continue;  // this member cannot answer (no leader, overloaded): ask the next
      }
      last_good_ = i;
      return EtcdAnswer{std::move(reply), code, message};
    }
    return make_error("lease.unavailable",
                      "no etcd endpoint answered POST " + path + " (" + errors +
                          "); the lease cannot be proven either way. Check that etcd runs, has "
                          "a quorum, and that these endpoints are right and reachable from "
                          "this host");
  }

  [[nodiscard]] Error rejected(const std::string& path, const EtcdAnswer& answer) const {
    return make_error("lease.unavailable", "etcd (" + endpoint_list_ + ") refused POST " + path +
                                               ": " + answer.error + " (gRPC code " +
                                               std::to_string(answer.grpc_code) + ")");
  }

  [[nodiscard]] Error corrupt(const std::string& key, const std::string& what) const {
    return make_error("lease.corrupt",
                      "the etcd key " + key + " (at " + endpoint_list_ + ") is not a corecell " +
                          "lease value (" + what + "); stop every HA agent of this cell, then " +
                          "fix it or remove it with `etcdctl del " + key +
                          "` (removing the state key forgets the replicated watermark)");
  }

  [[nodiscard]] static etcd_json compare_create(const std::string& key, std::int64_t revision) {
    return {{"target", "CREATE"},
            {"result", "EQUAL"},
            {"key", etcd_b64(key)},
            {"create_revision", std::to_string(revision)}};
  }
  [[nodiscard]] static etcd_json compare_mod(const std::string& key, std::int64_t revision) {
    return {{"target", "MOD"},
            {"result", "EQUAL"},
            {"key", etcd_b64(key)},
            {"mod_revision", std::to_string(revision)}};
  }
  [[nodiscard]] static etcd_json compare_lease(const std::string& key, std::int64_t lease) {
    return {{"target", "LEASE"},
            {"result", "EQUAL"},
            {"key", etcd_b64(key)},
            {"lease", std::to_string(lease)}};
  }
  [[nodiscard]] static etcd_json range_op(const std::string& key) {
    return {{"request_range", {{"key", etcd_b64(key)}}}};
  }
  // A put request; lease 0: the key has no lease (it outlives every holding).
  [[nodiscard]] static etcd_json put_op(const std::string& key, const std::string& value,
                                        std::int64_t lease) {
    etcd_json put = {{"key", etcd_b64(key)}, {"value", etcd_b64(value)}};
    if (lease != 0) put["lease"] = std::to_string(lease);
    return {{"request_put", put}};
  }

  // Reads the holder, state and paused keys in one transaction.
  [[nodiscard]] Result<EtcdSnapshot> snapshot() {
    etcd_json txn = {{"compare", etcd_json::array()},
                     {"success", etcd_json::array({range_op(holder_key_), range_op(state_key_),
                                                   range_op(paused_key_)})}};
    CC_TRY_ASSIGN(EtcdAnswer answer, call("/v3/kv/txn", txn));
    if (!answer.ok()) return rejected("/v3/kv/txn", answer);
    const etcd_json& responses = etcd_member(answer.body, "responses");
    if (!responses.is_array() || responses.size() != 3) {
      return make_error("lease.unavailable", "etcd (" + endpoint_list_ +
                                                 ") answered a 3-key read with " +
                                                 answer.body.dump().substr(0, 300));
    }
    auto range_of = [&](std::size_t i) {
      return etcd_first_kv(etcd_member(etcd_txn_response(answer.body, i), "response_range"));
    };
    EtcdSnapshot snap;
    snap.holder_kv = range_of(0);
    snap.state_kv = range_of(1);
    snap.paused_kv = range_of(2);
    if (snap.holder_kv.exists) {
      etcd_json h = etcd_json::parse(snap.holder_kv.value, nullptr, false);
      if (!etcd_member(h, "holder").is_string()) {
        return corrupt(holder_key_, "expected {\"holder\":\"name\"}");
      }
      snap.holder = etcd_member(h, "holder").get<std::string>();
    }
    if (snap.state_kv.exists) {
      etcd_json s = etcd_json::parse(snap.state_kv.value, nullptr, false);
      if (!s.is_object()) return corrupt(state_key_, "not a JSON object");
      try {
        snap.state.holder = s.at("holder").get<std::string>();
        snap.state.epoch = s.contains("epoch")
                               ? s["epoch"].get<std::uint64_t>()
                               : static_cast<std::uint64_t>(snap.state_kv.mod_revision);
        snap.state.watermark = s.at("watermark").get<std::uint64_t>();
        snap.state.exact = s.at("exact").get<bool>();
        snap.state.handover_to = s.at("handover_to").get<std::string>();
      } catch (const etcd_json::exception& e) {
        return corrupt(state_key_, e.what());
      }
    }
    if (snap.paused_kv.exists) {
      etcd_json p = etcd_json::parse(snap.paused_kv.value, nullptr, false);
      if (etcd_member(p, "by").is_string()) {
        snap.paused_by = etcd_member(p, "by").get<std::string>();
      }
    }
    return snap;
  }

  // Seconds left on an etcd lease; -1 when etcd no longer has it.
  [[nodiscard]] Result<std::int64_t> time_to_live(std::int64_t lease_id) {
    CC_TRY_ASSIGN(EtcdAnswer answer,
                  call("/v3/lease/timetolive", {{"ID", std::to_string(lease_id)}}));
    if (answer.grpc_code == kGrpcNotFound) return std::int64_t{-1};
    if (!answer.ok()) return rejected("/v3/lease/timetolive", answer);
    return etcd_int(answer.body, "TTL");
  }

  // Best effort: a lease that cannot be revoked expires by itself.
  void revoke(std::int64_t lease_id) {
    if (lease_id != 0) (void)call("/v3/lease/revoke", {{"ID", std::to_string(lease_id)}});
  }

  // lease.lost unless the snapshot shows `holder` holding `epoch`.
  [[nodiscard]] Status check_holding(const EtcdSnapshot& snap, const std::string& holder,
                                     std::uint64_t epoch) const {
    std::string who = holder + " (epoch " + std::to_string(epoch) + ")";
    if (!snap.holder_kv.exists) {
      return make_error("lease.lost", "nobody holds the etcd lease " + opt_.prefix +
                                          " any more (expired or released; last holder " +
                                          (snap.state.holder.empty() ? "none" : snap.state.holder) +
                                          ", epoch " + std::to_string(snap.state.epoch) + "); " +
                                          who + " must acquire it again");
    }
    if (static_cast<std::uint64_t>(snap.holder_kv.create_revision) != epoch ||
        snap.holder != holder) {
      return make_error("lease.lost", "the etcd lease " + opt_.prefix + " is held by " +
                                          snap.holder + " (epoch " +
                                          std::to_string(snap.holder_kv.create_revision) +
                                          "), not by " + who);
    }
    return ok_status();
  }

  // Extends the holding's etcd lease; lease.lost when etcd says it has expired (etcd never
  // revives an expired lease: it answers TTL 0 once the lease is gone).
  [[nodiscard]] Result<std::int64_t> keep_alive(const EtcdSnapshot& snap, const std::string& holder,
                                                std::uint64_t epoch) {
    CC_TRY_ASSIGN(EtcdAnswer answer,
                  call("/v3/lease/keepalive", {{"ID", std::to_string(snap.holder_kv.lease)}}));
    // Only "not found" or TTL 0 prove the lease gone; any other refusal proves nothing.
    if (!answer.ok() && answer.grpc_code != kGrpcNotFound) {
      return rejected("/v3/lease/keepalive", answer);
    }
    std::int64_t ttl_s = answer.ok() ? etcd_int(answer.body, "TTL") : 0;
    if (ttl_s <= 0) {
      return make_error("lease.lost", "the etcd lease " + opt_.prefix + " of " + holder +
                                          " (epoch " + std::to_string(epoch) +
                                          ") expired before it was renewed; it must be "
                                          "acquired again");
    }
    return ttl_s;
  }

  // Writes `next` to the state key (and deletes the holder key for a release) if the holding is
  // still `epoch` on the same etcd lease and the state is as in `snap`. false: only the state
  // changed (retry); lease.lost: the holding changed.
  [[nodiscard]] Result<bool> guarded_state_write(const EtcdSnapshot& snap, std::uint64_t epoch,
                                                 const EtcdStoredState& next, bool delete_holder) {
    etcd_json value = {{"holder", next.holder},
                       {"epoch", next.epoch},
                       {"watermark", next.watermark},
                       {"exact", next.exact},
                       {"handover_to", next.handover_to}};
    etcd_json success = etcd_json::array();
    if (delete_holder) {
      etcd_json del = {{"request_delete_range", {{"key", etcd_b64(holder_key_)}}}};
      success.push_back(std::move(del));
    }
    success.push_back(put_op(state_key_, value.dump(), 0));
    etcd_json txn = {
        {"compare", etcd_json::array({compare_create(holder_key_, static_cast<std::int64_t>(epoch)),
                                      compare_lease(holder_key_, snap.holder_kv.lease),
                                      compare_mod(state_key_, snap.state_kv.mod_revision)})},
        {"success", success},
        {"failure", etcd_json::array({range_op(holder_key_)})}};
    CC_TRY_ASSIGN(EtcdAnswer answer, call("/v3/kv/txn", txn));
    if (!answer.ok()) return rejected("/v3/kv/txn", answer);
    if (etcd_succeeded(answer.body)) return true;
    const etcd_json& responses = etcd_member(answer.body, "responses");
    EtcdKv now = responses.is_array() && responses.size() == 1
                     ? etcd_first_kv(etcd_member(responses[0], "response_range"))
                     : EtcdKv{};
    if (!now.exists || static_cast<std::uint64_t>(now.create_revision) != epoch ||
        now.lease != snap.holder_kv.lease) {
      return make_error("lease.lost", "the etcd lease " + opt_.prefix + " of " + next.holder +
                                          " (epoch " + std::to_string(epoch) +
                                          ") ended while it was being " +
                                          (delete_holder ? "released" : "renewed") +
                                          "; it must be acquired again");
    }
    return false;
  }

  [[nodiscard]] Result<LeaseGrant> held_error(const EtcdSnapshot& snap) {
    CC_TRY_ASSIGN(std::int64_t ttl_s, time_to_live(snap.holder_kv.lease));
    return make_error("lease.held",
                      "the etcd lease " + opt_.prefix + " is held by " + snap.holder + " (epoch " +
                          std::to_string(snap.holder_kv.create_revision) + ") for another " +
                          (ttl_s > 0 ? std::to_string(ttl_s) + " s" : std::string("< 1 s")) +
                          " unless renewed; wait for it to expire or have " + snap.holder +
                          " release it");
  }

  [[nodiscard]] Error contention_error(const std::string& what) const {
    return make_error("lease.unavailable", "the etcd state key " + state_key_ +
                                               " kept changing during " +
                                               std::to_string(kEtcdWriteAttempts) + " " + what +
                                               " attempts; is another process writing it?");
  }

  EtcdLeaseOptions opt_;
  std::string endpoint_list_;
  std::string holder_key_, state_key_, paused_key_;
  std::mutex mu_;              // one call at a time per object
  std::size_t last_good_ = 0;  // guarded by mu_
};

// "http://host:port" with a numeric port and nothing after it; "" when valid, else why not.
std::string etcd_endpoint_problem(const std::string& endpoint) {
  const std::string scheme = "http://";
  if (endpoint.rfind(scheme, 0) != 0) {
    return endpoint.rfind("https://", 0) == 0 ? "https is not supported; use http:// (on a "
                                                "trusted network, or through a local TLS proxy)"
                                              : "it must start with http://";
  }
  std::string rest = endpoint.substr(scheme.size());
  if (rest.find('/') != std::string::npos) return "it must not have a path";
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return "it must be http://host:port";
  std::string port = rest.substr(colon + 1);
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return "the port \"" + port + "\" is not a number from 1 to 65535";
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<LeaseStore>> make_etcd_lease_store(EtcdLeaseOptions options) {
  if (options.endpoints.empty()) {
    return make_error("lease.config",
                      "the etcd lease backend needs at least one endpoint (http://host:port)");
  }
  for (const auto& endpoint : options.endpoints) {
    std::string problem = etcd_endpoint_problem(endpoint);
    if (!problem.empty()) {
      std::string message = "the etcd endpoint \"" + endpoint + "\" is not usable: ";
      message += problem;
      message += " (example: http://10.0.0.5:2379)";
      return make_error("lease.config", message);
    }
  }
  if (options.prefix.empty() || options.prefix.front() != '/' || options.prefix == "/" ||
      options.prefix.back() == '/') {
    return make_error("lease.config", "the etcd key prefix \"" + options.prefix +
                                          "\" must be absolute, without a trailing slash (example: "
                                          "/corecell/cell-1)");
  }
  if (options.request_timeout.count() <= 0) {
    return make_error("lease.config", "the etcd request timeout must be positive");
  }
  return std::unique_ptr<LeaseStore>(std::make_unique<EtcdLeaseStore>(std::move(options)));
}

}  // namespace cc::ha

// util/verdict.h — owns Verdict<T, Rejection>: the typed result of validating untrusted input
// (a transaction, a header): either the validated value (e.g. the sender) or a rejection whose
// `reason` the caller acts on (drop the peer, answer an RPC error). Rejection must have a
// `reason` member. I/O failures are not verdicts; they travel as Result errors.
#pragma once

#include <utility>
#include <variant>

namespace cc {

template <typename T, typename Rejection>
class [[nodiscard]] Verdict {
 public:
  Verdict(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Verdict(Rejection rej) : v_(std::move(rej)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const Rejection& rejection() const { return std::get<1>(v_); }
  [[nodiscard]] auto reason() const { return rejection().reason; }

 private:
  std::variant<T, Rejection> v_;
};

}  // namespace cc

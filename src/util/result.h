// util/result.h — owns the project's error type and the Result<T> return for expected failures.
// Expected failures (bad file, bad input, I/O) travel as values; broken invariants use
// CC_ASSERT (util/assert.h). Never throw across a layer boundary for an expected failure.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace cc {

// A failure with a stable machine-readable code and an operator-readable message that names
// the file/field and, where there is one, the fix.
struct Error {
  std::string code;     // e.g. "nodekey.malformed", "rlp.non_canonical"
  std::string message;  // full sentence for operators

  // Prefixes the message with context ("loading /x/nodekey: ...").
  [[nodiscard]] Error context(const std::string& where) const {
    return Error{code, where + ": " + message};
  }
};

[[nodiscard]] inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error err) : v_(std::move(err)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    check_ok();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check_ok();
    return std::get<0>(v_);
  }
  T&& value() && {
    check_ok();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const Error& error() const {
    if (ok()) std::abort();  // reading the error of a success is a programming bug
    return std::get<1>(v_);
  }

 private:
  void check_ok() const {
    if (!ok()) std::abort();  // using the value of a failure is a programming bug
  }
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error err) : err_(std::move(err)), failed_(true) {}  // NOLINT(google-explicit-constructor)
  [[nodiscard]] bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const Error& error() const {
    if (!failed_) std::abort();
    return err_;
  }

 private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

[[nodiscard]] inline Status ok_status() { return Status{}; }

}  // namespace cc

// Propagates a failed Result/Status from the enclosing function.
#define CC_TRY_STATUS(expr)                                  \
  do {                                                       \
    auto cc_try_status_ = (expr);                            \
    if (!cc_try_status_.ok()) return cc_try_status_.error(); \
  } while (0)

#define CC_CONCAT_INNER(a, b) a##b
#define CC_CONCAT(a, b) CC_CONCAT_INNER(a, b)
// CC_TRY_ASSIGN(auto x, expr): declares x from a successful Result or returns its error.
#define CC_TRY_ASSIGN(decl, expr) CC_TRY_ASSIGN_IMPL(CC_CONCAT(cc_try_, __LINE__), decl, expr)
#define CC_TRY_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                        \
  if (!tmp.ok()) return tmp.error();        \
  decl = std::move(tmp).value()

// consensus/detail/thread_annotations.h — owns a std::mutex wrapper that Clang's thread-safety
// analysis (-Wthread-safety) understands, and the attribute macros that go with it. libstdc++'s
// std::mutex carries no capability attributes, so GUARDED_BY on it would check nothing.
// (Generic: it belongs in util/ once util/ grows one; the macros are #ifndef-guarded for that.)
#pragma once

#include <mutex>

#if defined(__clang__)
#define CC_TSA(x) __attribute__((x))
#else
#define CC_TSA(x)
#endif

#ifndef CC_CAPABILITY
#define CC_CAPABILITY(name) CC_TSA(capability(name))
#endif
#ifndef CC_SCOPED_CAPABILITY
#define CC_SCOPED_CAPABILITY CC_TSA(scoped_lockable)
#endif
#ifndef CC_GUARDED_BY
#define CC_GUARDED_BY(x) CC_TSA(guarded_by(x))
#endif
#ifndef CC_REQUIRES
#define CC_REQUIRES(...) CC_TSA(requires_capability(__VA_ARGS__))
#endif
#ifndef CC_EXCLUDES
#define CC_EXCLUDES(...) CC_TSA(locks_excluded(__VA_ARGS__))
#endif
#ifndef CC_ACQUIRE
#define CC_ACQUIRE(...) CC_TSA(acquire_capability(__VA_ARGS__))
#endif
#ifndef CC_RELEASE
#define CC_RELEASE(...) CC_TSA(release_capability(__VA_ARGS__))
#endif

namespace cc::consensus::detail {

class CC_CAPABILITY("mutex") Mutex {
 public:
  void lock() CC_ACQUIRE() { mu_.lock(); }
  void unlock() CC_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class CC_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CC_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() CC_RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace cc::consensus::detail

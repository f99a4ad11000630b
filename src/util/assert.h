// util/assert.h — owns CC_ASSERT, the check for broken internal invariants.
// Only for states the code itself must never reach; never for network, file or user input
// (those get a Result or a typed validation verdict).
#pragma once

#include <cstdio>
#include <cstdlib>

#define CC_ASSERT(cond)                                                                     \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "corecell: invariant broken at %s:%d: %s\n", __FILE__, __LINE__, \
                   #cond);                                                                  \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

// cli/progress.h — owns how commands that move many bytes show it (util/progress.h's meter):
// a bar redrawn on stderr when stderr is a terminal, plain lines on stderr otherwise.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "snapshot/archive.h"
#include "util/progress.h"

namespace cc::cli {

inline snapshot::ProgressFn progress_printer(const std::string& label) {
  auto meter = std::make_shared<util::ProgressMeter>(label, ::isatty(STDERR_FILENO) != 0,
                                                     std::chrono::steady_clock::now());
  return [meter](std::uint64_t done, std::uint64_t total) {
    if (auto line = meter->update(done, total, std::chrono::steady_clock::now())) {
      std::fputs(line->c_str(), stderr);
      std::fflush(stderr);
    }
  };
}

}  // namespace cc::cli

// util/log.h — owns logger creation: one named spdlog logger per layer ("crypto", "storage",
// "node", ...), all writing one line per event to stderr (and, when configured, a file).
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace cc {

// The logger for a layer; created on first use with the process-wide sinks and level.
[[nodiscard]] std::shared_ptr<spdlog::logger> logger(const std::string& name);

// Sets the level of every logger from Kaia's VERBOSITY scale (0 silent .. 5 trace; 3 = info).
void set_verbosity(int verbosity);

// Adds a file sink (DATA_DIR/logs/<file>) to every logger created from now on and existing ones.
void add_log_file(const std::string& path);

}  // namespace cc

#include "util/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>
#include <vector>

namespace cc {
namespace {
std::mutex g_mutex;
std::vector<spdlog::sink_ptr>& sinks() {
  static std::vector<spdlog::sink_ptr> s{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
  return s;
}
spdlog::level::level_enum g_level = spdlog::level::info;
}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto lg = std::make_shared<spdlog::logger>(name, sinks().begin(), sinks().end());
  lg->set_level(g_level);
  lg->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v");
  spdlog::register_logger(lg);
  return lg;
}

void set_verbosity(int verbosity) {
  std::lock_guard lock(g_mutex);
  switch (verbosity) {
    case 0:
      g_level = spdlog::level::off;
      break;
    case 1:
      g_level = spdlog::level::err;
      break;
    case 2:
      g_level = spdlog::level::warn;
      break;
    case 3:
      g_level = spdlog::level::info;
      break;
    case 4:
      g_level = spdlog::level::debug;
      break;
    default:
      g_level = spdlog::level::trace;
      break;
  }
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
}

void add_log_file(const std::string& path) {
  std::lock_guard lock(g_mutex);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  sinks().push_back(sink);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->sinks().push_back(sink); });
}

}  // namespace cc

#include "tapsrv/io/service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace tapsrv::io {

namespace {

// sd_notify keeps NOTIFY_SOCKET in the environment (unset_environment 0), since tapsrv sends
// several messages over its life; a failure to notify is not a reason to stop serving.
void notify(const std::string& message) noexcept { (void)sd_notify(0, message.c_str()); }

// STATUS= is one line: a newline would end the assignment early.
std::string one_line(std::string_view s) {
  std::string out{s};
  for (char& c : out) {
    if (c == '\n') { c = ' '; }
  }
  return out;
}

}  // namespace

void notify_ready(std::string_view status) noexcept {
  try {
    notify("READY=1\nSTATUS=" + one_line(status));
  } catch (...) {  // std::bad_alloc: not worth dying for
  }
}

void notify_stopping() noexcept { notify("STOPPING=1"); }

}  // namespace tapsrv::io

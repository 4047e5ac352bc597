#include "app/control_setup.hpp"

#include <grp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "app/control_paths.hpp"
#include "app/control_protocol.hpp"

namespace tapsrv::app {

std::optional<OpenedControl> open_control_socket(const Config& cfg) {
  if (!cfg.control) { return std::nullopt; }
  // Root's group by default; an unprivileged tapsrv cannot give a file to it, so its own.
  gid_t gid = ::geteuid() == 0 ? 0 : ::getegid();
  if (cfg.control_group) {
    errno = 0;
    const group* g = ::getgrnam(cfg.control_group->c_str());
    if (g == nullptr) {
      throw std::system_error(errno != 0 ? errno : ENOENT, std::generic_category(),
                              "--control-group: no group " + *cfg.control_group);
    }
    gid = g->gr_gid;
  }
  std::string path;
  if (cfg.control_path) {
    path = *cfg.control_path;
  } else {
    auto p = default_control_path(cfg.ifname);
    if (!p) {
      spdlog::warn("no control socket ({}); tapsrv status and stats will not reach this one",
                   p.error().message);
      return std::nullopt;
    }
    path = *p;
  }
  return OpenedControl{io::ControlListener::open(path, gid), gid};
}

ControlIdentity control_identity(const Config& cfg, std::string_view version) {
  ControlIdentity id{.version = std::string{version}, .interface = cfg.ifname, .listeners = {}};
  for (const auto& p : cfg.ports) {
    id.listeners.push_back(
        {endpoint_text(cfg.address.addr, p.port), std::string{service::name(p.service)}});
  }
  return id;
}

}  // namespace tapsrv::app

// The server side of the control socket, run by the event loop: it accepts, checks each peer's
// credentials, reads one request and streams the answer, never more than a bounded amount of
// work per wake-up, so that a status of a million connections does not stall the packet path.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/control_protocol.hpp"
#include "app/status_format.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/io/control_socket.hpp"
#include "tapsrv/tcp/engine.hpp"

namespace tapsrv::app {

struct ControlIdentity {
  std::string version;
  std::string interface;
  std::vector<ListenerEntry> listeners;
};

class ControlServer {
 public:
  /// Most clients at once (more are told so and closed) and connections serialised per
  /// wake-up, over all clients; a client's unsent answer is topped up only below kHighWater.
  static constexpr std::size_t kMaxClients = 16;
  static constexpr std::size_t kConnsPerWakeup = 256;
  static constexpr std::size_t kHighWater = 64 * 1024;

  /// `engine` and `stats` must outlive the server. `group`: who besides root and tapsrv's
  /// own uid (read at each accept, so after privileges were dropped) may ask.
  ControlServer(io::ControlListener listener, const tcp::Engine& engine, const Stats& stats,
                ControlIdentity identity, gid_t group);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Appends the descriptors to poll (listener, then each client) to `fds`.
  void add_poll_fds(std::vector<pollfd>& fds) const;
  /// After poll(): `fds` are the entries add_poll_fds() appended, with their revents.
  void on_ready(std::span<const pollfd> fds, Instant now);
  [[nodiscard]] std::size_t client_count() const noexcept { return clients_.size(); }
  /// Removes the socket file now (the destructor does it too); false when it could not.
  bool remove_socket() noexcept { return listener_.remove(); }
  [[nodiscard]] const std::string& path() const noexcept { return listener_.path(); }

 private:
  struct Client;
  void accept_all();
  /// Reads the request; false when the client is finished with.
  bool on_readable(Client& c);
  /// Serialises within `budget` and writes what the socket takes; false when finished with.
  bool pump(Client& c, Instant now, std::size_t& budget);
  void start(Client& c, const Request& r);

  io::ControlListener listener_;
  const tcp::Engine& engine_;
  const Stats& stats_;
  ControlIdentity identity_;
  gid_t group_;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace tapsrv::app

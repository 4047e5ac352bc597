#include "app/control_cli.hpp"

#include "app/control_protocol.hpp"

namespace tapsrv::app {
namespace {

void add_common(CLI::App& sub, ClientOptions& o) {
  sub.add_option("-i,--ifname", o.ifname, "the tapsrv of this TAP interface");
  sub.add_option("--control", o.control, "its control socket, instead of finding it by -i");
  sub.add_flag("-j,--json", o.json, "print one JSON document");
}

}  // namespace

void add_client_subcommands(CLI::App& cli, ClientCli& c) {
  c.status = cli.add_subcommand(
      "status", "list a running tapsrv's connections (like ss -tin), listeners and states");
  add_common(*c.status, c.options);
  c.status->add_option("--state", c.state, "only connections in this state (any case)");
  c.stats = cli.add_subcommand("stats", "print a running tapsrv's counters and drops");
  add_common(*c.stats, c.options);
  auto* prom =
      c.stats->add_flag("--prometheus", c.options.prometheus, "Prometheus text exposition format");
  prom->excludes(c.stats->get_option("--json"));
}

int run_client(ClientCli& c) {
  if (c.state) {
    c.options.state = parse_state_name(*c.state);
    if (!c.options.state) {
      std::fprintf(stderr,
                   "tapsrv: error: invalid --state '%s': one of LISTEN, SYN_SENT, SYN_RECEIVED, "
                   "ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, "
                   "TIME_WAIT, CLOSED (any case)\n",
                   c.state->c_str());
      return 2;
    }
  }
  if (c.options.ifname && c.options.control) {
    std::fprintf(stderr, "tapsrv: error: give -i IFNAME or --control PATH, not both\n");
    return 2;
  }
  if (c.status->parsed()) { return run_status(c.options, stdout); }
  return run_stats(c.options, stdout);
}

}  // namespace tapsrv::app

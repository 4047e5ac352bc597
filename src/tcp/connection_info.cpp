// Connection::info(): the figures `tapsrv status` shows, read from the TCB without changing it.
#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

ConnectionInfo Connection::info(Instant now) const noexcept {
  // Linux reports an unset ssthresh as TCP_INFINITE_SSTHRESH (0x7fffffff); so do we, in bytes.
  constexpr std::uint32_t kInfiniteSsthresh = 0x7fffffffU;
  ConnectionInfo i;
  i.id = id_;
  i.state = state_;
  i.recv_q = rcv_buf_.size();
  i.send_q = snd_buf_.size();
  i.mss = mss_;
  if (wscale_ok_) { i.wscale = std::pair{snd_wscale_, rcv_wscale_}; }
  i.sack = sack_enabled_;
  i.timestamps = ts_enabled_;
  i.ecn = ecn_.enabled();
  i.cwnd = cwnd();
  i.ssthresh = std::min(ssthresh(), kInfiniteSsthresh);
  i.srtt = rtt_.srtt();
  i.rttvar = rtt_.rttvar();
  i.rto = rtt_.rto();
  i.retransmits = retransmits_;
  i.bytes_sent = bytes_sent_;
  i.bytes_acked = bytes_acked_;
  i.bytes_received = bytes_received_;
  const Instant born = created_.value_or(now);
  i.age = now > born ? now - born : Duration{};
  i.in_state = now > state_since_ && created_ ? now - state_since_ : Duration{};
  return i;
}

}  // namespace tapsrv::tcp

// TIME_WAIT without a connection (RFC 9293 §3.10.7.4, RFC 6191): what is left of a connection
// once both FINs are acknowledged is a small record, as Linux's inet_timewait_sock, kept in a
// table of its own with its own limit (Linux tcp_max_tw_buckets), outside --max-conns.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/tcp/outbox.hpp"
#include "tapsrv/wire/seq.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {

/// Our RFC 7323 TSval at `now`: a millisecond clock plus a per-connection offset, so that it
/// says nothing about the host's uptime (RFC 7323 §5.4). Connections and records share it.
[[nodiscard]] inline std::uint32_t ts_clock(Instant now, std::uint32_t offset) noexcept {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  return static_cast<std::uint32_t>(ms.count()) + offset;
}

/// Everything TIME_WAIT needs of a connection (Linux tcp_timewait_sock: tw_snd_nxt, tw_rcv_nxt,
/// tw_rcv_wnd, tw_ts_recent, tw_ts_offset): no buffers, no handler, no timers but one.
struct TimeWaitRecord {
  FourTuple id{};
  wire::SeqNum snd_nxt{};  // our FIN is acknowledged: SND.UNA = SND.NXT
  wire::SeqNum rcv_nxt{};  // just past the peer's FIN
  std::uint32_t ts_recent = 0;
  std::uint32_t ts_offset = 0;    // our TSval is the millisecond clock plus this (RFC 7323 §5.4)
  std::uint32_t max_snd_wnd = 0;  // for the RFC 5961 §5.2 test of ACKs that are too old
  // The table's list, oldest (first to expire) first; indices into its slab.
  std::uint32_t prev = 0;
  std::uint32_t next = 0;
  std::uint16_t window = 0;  // the window field of our last ACK (already scaled down)
  std::uint8_t rcv_wscale = 0;
  bool ts_enabled : 1 = false;
  bool challenged : 1 = false;  // last_challenge is set
  Instant expiry{};             // 2 MSL after entering TIME_WAIT, or after a repeated FIN
  Instant last_challenge{};     // RFC 5961 §7: one challenge ACK per interval

  /// The window, in bytes, the peer may send into (RFC 9293 §3.10.7.4 acceptability).
  [[nodiscard]] std::uint32_t receive_window() const noexcept {
    return std::uint32_t{window} << rcv_wscale;
  }
};
// A full Connection is kilobytes (and its buffers more); a record must stay a cache line.
static_assert(sizeof(TimeWaitRecord) <= 64, "TIME_WAIT records must stay small");

/// The TIME_WAIT records of an engine, each in a hash table by 4-tuple and in a list ordered by
/// expiry. Since every record lives 2 MSL from its last refresh, refreshing moves it to the
/// tail and the head is always the next to expire (and the one recycled when the table is full).
class TimeWaitTable {
 public:
  /// What the engine does after a segment reached a record.
  enum class Verdict : std::uint8_t {
    Done,    // answered (or dropped) by the record; the record stays or was closed
    Reopen,  // a SYN of a new incarnation (RFC 6191): the record is gone, open at the listener
  };

  /// `cfg`, `stats` and `obs` must outlive the table.
  TimeWaitTable(const Config& cfg, Stats& stats, Observer& obs, const FourTupleHash& hash);

  /// Takes over a connection that has just entered TIME_WAIT. When the table holds
  /// Config::max_time_wait records, the oldest is recycled first (tcp_time_wait_recycled).
  /// With a limit of 0 the connection goes straight to CLOSED, as Linux with tcp_max_tw_buckets 0.
  void add(const TimeWaitRecord& r);
  [[nodiscard]] bool contains(const FourTuple& id) const noexcept { return index_.contains(id); }
  /// Null when there is none; valid until the next call that adds or removes a record.
  [[nodiscard]] const TimeWaitRecord* find(const FourTuple& id) const noexcept;
  /// RFC 9293 §3.10.7.4 in TIME_WAIT (Linux tcp_timewait_state_process) for a segment of the
  /// record `id`, which must exist. On Reopen, `*iss` is the ISS the new connection must use.
  Verdict on_segment(Instant now, const FourTuple& id, const wire::TcpSegment& seg, Outbox& out,
                     wire::SeqNum* iss);
  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;
  /// Closes every record whose 2 MSL are over (TIME_WAIT -> CLOSED, timeout).
  void expire(Instant now);
  /// Closes every record (shutdown); held_at_clear() then says how many there were.
  void clear();
  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  /// The most records held at once.
  [[nodiscard]] std::size_t peak() const noexcept { return peak_; }
  /// Records the last clear() closed (what a shutdown found), 0 before any.
  [[nodiscard]] std::size_t held_at_clear() const noexcept { return held_at_clear_; }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffU;
  void link_tail(std::uint32_t i) noexcept;
  void unlink(std::uint32_t i) noexcept;
  /// Removes record `i`, telling the observer TIME_WAIT -> CLOSED for `cause`.
  void close(std::uint32_t i, Cause cause, const wire::TcpSegment* seg);
  void send_ack(Instant now, const TimeWaitRecord& r, Outbox& out);
  /// Whether a challenge ACK may go now (RFC 5961 §7), noting it if so.
  [[nodiscard]] bool may_challenge(Instant now, TimeWaitRecord& r) noexcept;
  /// RFC 9293 §3.10.7.4 first: whether `seg` is acceptable against RCV.NXT and the window.
  [[nodiscard]] static bool acceptable(const TimeWaitRecord& r, const wire::TcpSegment& seg);

  const Config& cfg_;
  Stats& stats_;
  Observer& obs_;
  std::vector<TimeWaitRecord> slab_;  // grows to the most records ever held at once
  std::vector<std::uint32_t> free_;   // unused slots of slab_
  std::unordered_map<FourTuple, std::uint32_t, FourTupleHash> index_;
  std::uint32_t head_ = kNone;  // oldest
  std::uint32_t tail_ = kNone;
  std::size_t peak_ = 0;
  std::size_t held_at_clear_ = 0;
};

}  // namespace tapsrv::tcp

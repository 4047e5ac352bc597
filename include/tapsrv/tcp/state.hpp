// The eleven connection states of RFC 9293 §3.3.2 and the transitions of its Figure 5.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace tapsrv::tcp {

enum class State : std::uint8_t {
  Closed,
  Listen,
  SynSent,
  SynReceived,
  Established,
  FinWait1,
  FinWait2,
  CloseWait,
  Closing,
  LastAck,
  TimeWait,
};

/// "SYN_RECEIVED", as the log lines and netstat spell it.
std::string_view name(State s) noexcept;

/// A set of states, for "in any of these states" (Seastar's in_state bitmask).
class StateSet {
 public:
  constexpr StateSet(std::initializer_list<State> states) noexcept {
    for (State s : states) { bits_ |= bit(s); }
  }
  [[nodiscard]] constexpr bool contains(State s) const noexcept { return (bits_ & bit(s)) != 0; }

 private:
  static constexpr std::uint16_t bit(State s) noexcept {
    return static_cast<std::uint16_t>(1U << static_cast<unsigned>(s));
  }
  std::uint16_t bits_ = 0;
};

/// States past the handshake, in which sequence numbers of both sides are known.
inline constexpr StateSet kSynchronized{State::SynReceived, State::Established, State::FinWait1,
                                        State::FinWait2,    State::CloseWait,   State::Closing,
                                        State::LastAck,     State::TimeWait};
/// States in which the peer may still send us data.
inline constexpr StateSet kReceiving{State::Established, State::FinWait1, State::FinWait2};
/// States in which we may still send data.
inline constexpr StateSet kSending{State::Established, State::CloseWait};

/// True when RFC 9293 Figure 5 (plus RST and timeouts to CLOSED) allows from -> to.
[[nodiscard]] bool is_legal_transition(State from, State to) noexcept;

}  // namespace tapsrv::tcp

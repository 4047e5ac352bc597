#include "tapsrv/tcp/state.hpp"

namespace tapsrv::tcp {

std::string_view name(State s) noexcept {
  switch (s) {
    case State::Closed: return "CLOSED";
    case State::Listen: return "LISTEN";
    case State::SynSent: return "SYN_SENT";
    case State::SynReceived: return "SYN_RECEIVED";
    case State::Established: return "ESTABLISHED";
    case State::FinWait1: return "FIN_WAIT_1";
    case State::FinWait2: return "FIN_WAIT_2";
    case State::CloseWait: return "CLOSE_WAIT";
    case State::Closing: return "CLOSING";
    case State::LastAck: return "LAST_ACK";
    case State::TimeWait: return "TIME_WAIT";
  }
  return "?";
}

bool is_legal_transition(State from, State to) noexcept {
  if (to == State::Closed) { return from != State::Closed; }  // RST, abort or timeout
  switch (from) {
    case State::Closed: return to == State::Listen || to == State::SynSent;
    case State::Listen: return to == State::SynReceived || to == State::SynSent;
    case State::SynSent: return to == State::SynReceived || to == State::Established;
    // A passive SYN_RECEIVED that is reset goes back to LISTEN (RFC 9293 §3.10.7.4).
    case State::SynReceived:
      return to == State::Established || to == State::FinWait1 || to == State::Listen ||
             to == State::CloseWait;
    case State::Established: return to == State::FinWait1 || to == State::CloseWait;
    case State::FinWait1:
      return to == State::FinWait2 || to == State::Closing || to == State::TimeWait;
    case State::FinWait2: return to == State::TimeWait;
    case State::CloseWait: return to == State::LastAck;
    case State::Closing: return to == State::TimeWait;
    case State::LastAck: return false;
    case State::TimeWait: return false;
  }
  return false;
}

}  // namespace tapsrv::tcp

package io.spindle.iscsi.negotiation;

import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.List;

/**
 * What a negotiator produced for one text of the peer.
 *
 * @param pairs              the keys to send back, in order: answers in the order of the offers, then this
 *                           side's own declarations and offers
 * @param authenticationKeys CHAP (RFC 7143 §12.1.3) keys received, for the authenticator to answer
 * @param sendTargets        the value of a SendTargets inquiry (RFC 7143 §13.3), or null
 */
public record Reply(List<Pair> pairs, List<Pair> authenticationKeys, String sendTargets) {

  public Reply {
    pairs = List.copyOf(pairs);
    authenticationKeys = List.copyOf(authenticationKeys);
  }
}

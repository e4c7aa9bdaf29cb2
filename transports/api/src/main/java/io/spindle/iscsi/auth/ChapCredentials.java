package io.spindle.iscsi.auth;

/**
 * Looks up the secret an initiator proves it knows, by the CHAP_N it sends. Called on the
 * connection's context: it must not block (keep the table in memory, reloaded with the configuration).
 */
@FunctionalInterface
public interface ChapCredentials {

  /** The secret of {@code user}, or null if the user is unknown (or not allowed on this target). */
  ChapSecret secretFor(String user);
}

package io.spindle.cluster.impl;

import io.spindle.cluster.StateStore;
import io.vertx.core.Future;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The single-node {@link StateStore}: concurrent maps, completed futures. */
public final class InMemoryStateStore implements StateStore {

  private final Map<String, SessionRecord> sessions = new ConcurrentHashMap<>();
  private final Map<String, List<TaskSnapshot>> tasks = new ConcurrentHashMap<>();

  @Override
  public Future<Void> putSession(SessionRecord session) {
    sessions.put(session.key(), session);
    return Future.succeededFuture();
  }

  @Override
  public Future<SessionRecord> getSession(String sessionKey) {
    return Future.succeededFuture(sessions.get(sessionKey));
  }

  @Override
  public Future<Void> removeSession(String sessionKey) {
    sessions.remove(sessionKey);
    tasks.remove(sessionKey);
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> putTasks(String sessionKey, List<TaskSnapshot> list) {
    if (list.isEmpty()) {
      tasks.remove(sessionKey);
    } else {
      tasks.put(sessionKey, List.copyOf(list));
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<List<TaskSnapshot>> getTasks(String sessionKey) {
    return Future.succeededFuture(tasks.getOrDefault(sessionKey, List.of()));
  }
}

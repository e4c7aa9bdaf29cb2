package io.spindle.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CHAP secrets and the admin token from a file or an environment variable instead of inline. */
class SecretSourceTest {

  @AfterEach
  void reset() {
    SecretSource.base(null);
    SecretSource.environment = System::getenv;
  }

  static JsonObject config(Object secret) {
    return new JsonObject().put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:3260")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", "iqn.2026-11.io.spindle:t")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "1M")))
            .put("acl", new JsonArray().add(new JsonObject().put("initiator", "iqn.2026-11.io.spindle:client")
                .put("chap", new JsonObject().put("user", "client").put("secret", secret))))));
  }

  static ChapCredential chap(ServerConfig c) {
    return c.targets().get(0).acl().get(0).chap();
  }

  static Path secretFile(Path dir, String mode) throws Exception {
    Path f = dir.resolve("client.secret");
    Files.writeString(f, "client-secret-from-file\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
    return f;
  }

  @Test
  void aSecretFileRelativeToTheConfigDirectory(@TempDir Path dir) throws Exception {
    secretFile(dir, "rw-------");
    SecretSource.base(dir);
    ServerConfig c = ServerConfig.fromJson(config(new JsonObject().put("file", "client.secret")));
    assertEquals("client-secret-from-file", chap(c).secret());
    // A saved config keeps the reference, never the value.
    JsonObject saved = c.toJson(true).getJsonArray("targets").getJsonObject(0).getJsonArray("acl").getJsonObject(0)
        .getJsonObject("chap");
    assertEquals(new JsonObject().put("file", "client.secret"), saved.getJsonObject("secret"));
    assertEquals("client-secret-from-file", chap(ServerConfig.fromJson(c.toJson())).secret());
  }

  @Test
  void aSecretFileOthersCanReadIsRefused(@TempDir Path dir) throws Exception {
    Path f = secretFile(dir, "rw-r--r--");
    String m = assertThrows(ConfigException.class, () -> ServerConfig.fromJson(config(
        new JsonObject().put("file", f.toString())))).getMessage();
    assertEquals("targets[0].acl[0].chap.secret: " + f + " is readable or writable by group or others (mode rw-r--r--);"
        + " chmod 600 " + f, m);
    assertTrue(!m.contains("client-secret-from-file"));
  }

  @Test
  void aSecretFromTheEnvironment() {
    SecretSource.environment = Map.of("SPINDLE_CHAP_CLIENT", "client-secret-from-env")::get;
    assertEquals("client-secret-from-env", chap(ServerConfig.fromJson(config(
        new JsonObject().put("env", "SPINDLE_CHAP_CLIENT")))).secret());
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(config(
        new JsonObject().put("env", "SPINDLE_NOT_SET")))).getMessage().contains("SPINDLE_NOT_SET is not set"));
  }

  @Test
  void badReferencesAreNamed() {
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(config(
        new JsonObject().put("path", "x")))).getMessage().startsWith("targets[0].acl[0].chap.secret.path: unknown field"));
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(config(
        new JsonObject().put("file", "/nonexistent/secret")))).getMessage().contains("cannot read /nonexistent/secret"));
  }

  @Test
  void theAdminTokenIsNeverInline(@TempDir Path dir) throws Exception {
    JsonObject j = config("client-secret-1234").put("admin", new JsonObject().put("token", "inline-token-0123456789"));
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(j)).getMessage()
        .startsWith("admin.token: must be {\"file\": PATH} or {\"env\": NAME}"));
    Path t = dir.resolve("t");
    Files.writeString(t, "short\n");
    Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rw-------"));
    AdminConfig a = ServerConfig.fromJson(j.put("admin", new JsonObject().put("token", new JsonObject()
        .put("file", t.toString())))).operations().admin();
    assertEquals("127.0.0.1:9180", a.address().toString());
    assertTrue(assertThrows(ConfigException.class, a::requireToken).getMessage().contains("at least 16 characters"));
    Files.writeString(t, "long-enough-token-0123\n");
    assertEquals("long-enough-token-0123", a.requireToken());
  }
}

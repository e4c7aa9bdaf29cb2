package io.spindle.scsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class LunOptionsTest {

  private static String error(String json) {
    return assertThrows(IllegalArgumentException.class, () -> LunOptions.fromJson(new JsonObject(json), "luns[0]"))
        .getMessage();
  }

  @Test
  void parsesEveryOption() {
    LunOptions o = LunOptions.fromJson(new JsonObject("{\"path\":\"a.img\",\"size\":\"1M\",\"blockSize\":4096,"
        + "\"readOnly\":true,\"removable\":true,\"thin\":false,\"vendor\":\"ACME\",\"product\":\"Disk\",\"serial\":\"s1\"}"),
        "luns[0]");
    assertEquals(4096, o.blockSize());
    assertTrue(o.readOnly());
    assertTrue(o.removable());
    assertFalse(o.thin());
    assertEquals("ACME", o.vendor());
    assertEquals("s1", o.serial());
    assertTrue(LunOptions.memory(4096).thin(), "thin by default");
  }

  @Test
  void errorsNameTheField() {
    assertTrue(error("{\"path\":\"a\",\"size\":\"1M\",\"removable\":\"yes\"}").startsWith("luns[0].removable:"));
    assertTrue(error("{\"path\":\"a\",\"size\":\"1M\",\"thin\":1}").startsWith("luns[0].thin:"));
    assertTrue(error("{\"path\":\"a\",\"size\":\"1M\",\"blockSize\":1024}").startsWith("luns[0].blockSize:"));
    assertTrue(error("{\"path\":\"a\",\"size\":\"1M\",\"blockSize\":\"512\"}").startsWith("luns[0].blockSize:"));
    assertTrue(error("{\"path\":\"a\",\"size\":\"1M\",\"vendor\":\"WAY TOO LONG\"}").startsWith("luns[0].vendor:"));
    assertTrue(error("{\"path\":\"a\",\"size\":\"1M\",\"serial\":\" \"}").startsWith("luns[0].serial:"));
    assertTrue(error("{\"path\":\"a\",\"size\":\"1M\",\"colour\":\"red\"}").startsWith("luns[0].colour:"));
    assertTrue(error("{\"size\":\"1M\"}").startsWith("luns[0].path:"));
  }
}

package io.spindle.iscsi.negotiation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ValuesTest {

  @Test
  void booleanAnd() {
    assertEquals("Yes", Values.select(Key.IMMEDIATE_DATA, "Yes", "Yes"));
    assertEquals("No", Values.select(Key.IMMEDIATE_DATA, "Yes", "No"));
    assertEquals("No", Values.select(Key.IMMEDIATE_DATA, "No", "Yes"));
    assertTrue(Values.acceptable(Key.IMMEDIATE_DATA, "Yes", "No"));
    assertFalse(Values.acceptable(Key.IMMEDIATE_DATA, "No", "Yes"));
  }

  @Test
  void booleanOr() {
    assertEquals("Yes", Values.select(Key.INITIAL_R2T, "No", "Yes"));
    assertEquals("No", Values.select(Key.INITIAL_R2T, "No", "No"));
    assertEquals("Yes", Values.select(Key.INITIAL_R2T, "Yes", "No"));
    assertTrue(Values.acceptable(Key.INITIAL_R2T, "No", "Yes"));
    assertFalse(Values.acceptable(Key.INITIAL_R2T, "Yes", "No"));
  }

  @Test
  void numericalMinAndMax() {
    assertEquals("4096", Values.select(Key.MAX_BURST_LENGTH, "4096", "262144"));
    assertEquals("262144", Values.select(Key.MAX_BURST_LENGTH, "16777215", "262144"));
    assertEquals("10", Values.select(Key.DEFAULT_TIME2WAIT, "2", "10"));
    assertEquals("5", Values.select(Key.DEFAULT_TIME2WAIT, "5", "0"));
    assertTrue(Values.acceptable(Key.MAX_BURST_LENGTH, "65536", "512"));
    assertFalse(Values.acceptable(Key.MAX_BURST_LENGTH, "65536", "65537"));
    assertFalse(Values.acceptable(Key.MAX_BURST_LENGTH, "65536", "511"));
    assertTrue(Values.acceptable(Key.DEFAULT_TIME2WAIT, "2", "3"));
    assertFalse(Values.acceptable(Key.DEFAULT_TIME2WAIT, "2", "1"));
  }

  @Test
  void listTakesFirstOfOfferersListTheResponderAccepts() {
    assertEquals("CRC32C", Values.select(Key.HEADER_DIGEST, "CRC32C,None", "None,CRC32C"));
    assertEquals("None", Values.select(Key.HEADER_DIGEST, "CRC32C,None", "None"));
    assertEquals("CRC32C", Values.select(Key.HEADER_DIGEST, "Fancy,CRC32C", "None,CRC32C"));
    // RFC 7143 §6.2.1: None is chosen only when offered.
    assertEquals("Reject", Values.select(Key.HEADER_DIGEST, "CRC32C", "None"));
    assertTrue(Values.acceptable(Key.HEADER_DIGEST, "CRC32C,None", "None"));
    assertFalse(Values.acceptable(Key.HEADER_DIGEST, "CRC32C", "None"));
    assertFalse(Values.acceptable(Key.HEADER_DIGEST, "CRC32C,None", "CRC32C,None"));
  }

  @Test
  void numbersAndRanges() {
    assertEquals(8192, Values.parseNumber("8192"));
    assertEquals(0x2000, Values.parseNumber("0x2000"));
    assertEquals(-1, Values.parseNumber("12a"));
    assertEquals(-1, Values.parseNumber("-1"));
    assertEquals(-1, Values.parseNumber(""));
    assertEquals(-1, Values.parseNumber("99999999999999999999"));
    assertFalse(Values.valid(Key.MAX_RECV_DATA_SEGMENT_LENGTH, "511"));
    assertTrue(Values.valid(Key.MAX_RECV_DATA_SEGMENT_LENGTH, "512"));
    assertTrue(Values.valid(Key.MAX_RECV_DATA_SEGMENT_LENGTH, "16777215"));
    assertFalse(Values.valid(Key.MAX_RECV_DATA_SEGMENT_LENGTH, "16777216"));
    assertTrue(Values.valid(Key.IF_MARK_INT, "1~2048"));
    assertFalse(Values.valid(Key.IF_MARK_INT, "2048~1"));
    assertFalse(Values.valid(Key.IMMEDIATE_DATA, "yes"));
  }

  @Test
  void keyTableDefaultsAndLookup() {
    assertSame(Key.ISCSI_PROTOCOL_LEVEL, Key.of("iSCSIProtocolLevel"));
    assertNull(Key.of("maxburstlength"), "keys are case-sensitive");
    assertEquals("8192", Key.MAX_RECV_DATA_SEGMENT_LENGTH.defaultValue);
    assertEquals("262144", Key.MAX_BURST_LENGTH.defaultValue);
    assertEquals("65536", Key.FIRST_BURST_LENGTH.defaultValue);
    assertEquals("Yes", Key.INITIAL_R2T.defaultValue);
    assertEquals("Yes", Key.IMMEDIATE_DATA.defaultValue);
    assertEquals("2", Key.DEFAULT_TIME2WAIT.defaultValue);
    assertEquals("20", Key.DEFAULT_TIME2RETAIN.defaultValue);
    assertEquals("None", Key.HEADER_DIGEST.defaultValue);
    assertEquals(Key.Scope.CONNECTION, Key.MAX_RECV_DATA_SEGMENT_LENGTH.scope);
    assertEquals(Key.Scope.SESSION, Key.MAX_BURST_LENGTH.scope);
    SessionParameters d = SessionParameters.DEFAULT;
    assertEquals(1, d.maxConnections());
    assertTrue(d.initialR2T());
    assertTrue(d.immediateData());
    assertEquals(262144, d.maxBurstLength());
    assertEquals(65536, d.firstBurstLength());
    assertEquals(0, d.errorRecoveryLevel());
    assertEquals(1, d.protocolLevel());
    assertEquals("RFC3720", d.taskReporting());
  }
}

package io.spindle.rdma.disni;

import io.spindle.rdma.RdmaProvider;
import io.spindle.rdma.tck.RdmaProviderTck;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The provider contract on real verbs through DiSNI, when this host has an RDMA device
 * ({@code ibv_devices} lists one) and libdisni. Otherwise every test is skipped with the reason.
 * docs/DISNI.md shows how to get there with soft-RoCE (rdma_rxe) or siw. The device address comes
 * from {@code -Ddisni.address=...}, else the first address of the first device's interface.
 */
@ExtendWith({DisniProviderTckTest.RequiresDevice.class, DisniLimits.class})
class DisniProviderTckTest extends RdmaProviderTck {

  /** Disables the whole class, with the reason, unless ibv_devices lists a device and libdisni loads. */
  static final class RequiresDevice implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      if (context.getTestMethod().isPresent()) return ConditionEvaluationResult.enabled("checked for the class");
      String missing = ibvDevices();
      if (missing != null) return ConditionEvaluationResult.disabled("no RDMA device on this host: " + missing);
      NativeProbe.Result r = NativeProbe.host().check();
      return r.ok() ? ConditionEvaluationResult.enabled("RDMA device and libdisni present")
          : ConditionEvaluationResult.disabled(r.problem());
    }
  }

  private static String ibvDevicesReason;

  /** Null when ibv_devices lists at least one device; else why not. */
  static String ibvDevices() {
    try {
      Process p = new ProcessBuilder("ibv_devices").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return ibvDevicesReason = "ibv_devices did not finish";
      }
      // Output: a header line, a dashed line, then one line per device.
      long devices = out.lines().skip(2).filter(l -> !l.isBlank()).count();
      return devices > 0 ? null : (ibvDevicesReason = "ibv_devices lists none");
    } catch (IOException e) {
      return ibvDevicesReason = "ibv_devices is not installed (apt-get install ibverbs-utils)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ibvDevicesReason = "interrupted";
    }
  }

  @Override
  protected RdmaProvider provider() {
    return RdmaProvider.load(DisniProvider.NAME);
  }

  @Override
  protected JsonObject deviceOptions() {
    String address = System.getProperty("disni.address");
    return address == null ? new JsonObject() : new JsonObject().put("deviceAddress", address);
  }

  @Override
  protected String host() {
    return System.getProperty("disni.address", super.host());
  }
}

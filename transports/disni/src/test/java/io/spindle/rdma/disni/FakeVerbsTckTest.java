package io.spindle.rdma.disni;

import io.spindle.rdma.RdmaProvider;
import io.spindle.rdma.tck.RdmaProviderTck;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The provider contract for the DiSNI provider's own logic (posting, chaining, buffers, completion
 * dispatch, connection management), over the fake verbs layer that behaves as DiSNI 2.1 does. The
 * tests DiSNI 2.1 cannot pass are skipped with the reason ({@link DisniLimits}).
 */
@ExtendWith(DisniLimits.class)
class FakeVerbsTckTest extends RdmaProviderTck {

  @Override
  protected RdmaProvider provider() {
    return Fakes.provider(Verbs.Features.DISNI_2_1);
  }

  @Override
  protected JsonObject deviceOptions() {
    return new JsonObject().put("deviceAddress", "127.0.0.1");
  }
}

package io.spindle.rdma.disni;

import io.spindle.rdma.RdmaProvider;
import io.spindle.rdma.tck.RdmaProviderTck;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The provider contract with a verbs library that lifts DiSNI 2.1's limits (private data on
 * request, accept and reject; Send with Invalidate): the code paths waiting for a patched libdisni.
 */
@ExtendWith(DisniLimits.class)
class FakeVerbsLiftedLimitsTckTest extends RdmaProviderTck {

  @Override
  protected RdmaProvider provider() {
    return Fakes.provider(Verbs.Features.ALL);
  }

  @Override
  protected JsonObject deviceOptions() {
    return new JsonObject().put("deviceAddress", "127.0.0.1");
  }
}

package io.spindle.rdma.iwarp;

import io.spindle.rdma.RdmaProvider;
import io.spindle.rdma.tck.RdmaProviderTck;
import io.vertx.core.json.JsonObject;

/** The provider contract over loopback, MPA revision 2 with peer-to-peer RTR (the defaults). */
class IwarpProviderTckTest extends RdmaProviderTck {

  @Override
  protected RdmaProvider provider() {
    return RdmaProvider.load(IwarpProvider.NAME);
  }

  @Override
  protected JsonObject deviceOptions() {
    return new JsonObject().put("instances", 1);
  }
}

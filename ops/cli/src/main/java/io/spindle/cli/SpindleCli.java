package io.spindle.cli;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code spindle-cli}: a thin client of the admin API (docs/ADMIN-API.md) through the server's
 * {@code --admin HOST:PORT} HTTP bridge, in the spirit of targetcli. Every command is one admin
 * operation; {@code --json} prints the reply as it came.
 */
public final class SpindleCli {

  public static final String DEFAULT_ADMIN = "127.0.0.1:9180";

  static final String USAGE = String.join("\n",
      "usage: spindle-cli [--admin [https://]HOST:PORT] [--token-file FILE] [--cacert PEM] [--json] COMMAND",
      "",
      "  targets                              list targets with their LUNs and session counts",
      "  target add NAME [alias=TEXT] [acl=any] LUNSPEC...   add a target (LUNSPEC: lun=0,backing=memory,size=1G)",
      "  target remove NAME                   remove a target (its sessions close after the grace period)",
      "  lun add TARGET LUN KEY=VALUE...       add a LUN, e.g. lun add iqn.x:disk 1 backing=file path=d1.img size=10G",
      "  lun remove TARGET LUN                remove a LUN",
      "  portals                              list portals and where they listen",
      "  portal add HOST:PORT [KEY=VALUE...]  add a portal (transport=tcp portalGroupTag=1 ...)",
      "  portal remove HOST:PORT              remove a portal (as configured)",
      "  sessions [TARGET]                    list sessions with negotiated parameters",
      "  connections                          list transport connections",
      "  logout TSIH                          end a session",
      "  stats [TARGET]                       per target, LUN and session counters",
      "  reload [FILE]                        reload the server's config file, or apply FILE",
      "  config                               print the running configuration (secrets redacted)",
      "  save                                 write the running configuration to the server's config file",
      "  export FILE                          write the running configuration with its secrets to FILE",
      "                                       (a backup; created readable by its owner only, mode 0600)",
      "",
      "--admin defaults to $SPINDLE_ADMIN or " + DEFAULT_ADMIN + "; https://HOST:PORT for a server with admin.tls.",
      "--token-file (default $SPINDLE_ADMIN_TOKEN_FILE): the file holding the server's admin token, sent as",
      "Authorization: Bearer. --cacert (default $SPINDLE_ADMIN_CACERT): PEM certificate(s) to trust for https",
      "(implies https). Exit codes: 0 done, 1 the server refused (message printed), 2 bad usage, 3 cannot",
      "reach the server.");

  private SpindleCli() {
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the exit code. */
  public static int run(String[] argv, PrintStream out, PrintStream err) {
    List<String> args = new ArrayList<>(Arrays.asList(argv));
    String admin = System.getenv().getOrDefault("SPINDLE_ADMIN", DEFAULT_ADMIN);
    String tokenFile = System.getenv("SPINDLE_ADMIN_TOKEN_FILE");
    String cacert = System.getenv("SPINDLE_ADMIN_CACERT");
    boolean json = false;
    for (int i = 0; i < args.size(); ) {
      switch (args.get(i)) {
        case "--json" -> {
          json = true;
          args.remove(i);
        }
        case "--admin" -> {
          if (i + 1 >= args.size()) return usage(err, "--admin needs HOST:PORT");
          admin = args.get(i + 1);
          args.remove(i);
          args.remove(i);
        }
        case "--token-file", "--cacert" -> {
          if (i + 1 >= args.size()) return usage(err, args.get(i) + " needs a FILE");
          if (args.get(i).equals("--cacert")) cacert = args.get(i + 1);
          else tokenFile = args.get(i + 1);
          args.remove(i);
          args.remove(i);
        }
        case "--help", "-h" -> {
          out.println(USAGE);
          return 0;
        }
        default -> i++;
      }
    }
    Request r;
    try {
      r = request(args);
    } catch (IllegalArgumentException e) {
      return usage(err, e.getMessage());
    }
    String token = null;
    if (tokenFile != null && !tokenFile.isEmpty()) {
      try {
        token = Files.readString(Path.of(tokenFile)).strip();
      } catch (IOException e) {
        return usage(err, "cannot read the token file " + tokenFile + ": " + e.getMessage());
      }
    }
    String base = admin.contains("://") ? admin : (cacert != null ? "https://" : "http://") + admin;
    HttpResponse<String> resp;
    try {
      HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
      if (cacert != null) client.sslContext(Tls.trusting(Path.of(cacert)));
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + "/admin/" + r.op()))
          .timeout(Duration.ofSeconds(90)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(r.body().encode()));
      if (token != null) req.header("Authorization", "Bearer " + token);
      resp = client.build().send(req.build(), HttpResponse.BodyHandlers.ofString());
    } catch (java.security.GeneralSecurityException e) {
      return usage(err, "cannot use the certificate(s) in " + cacert + ": " + e.getMessage());
    } catch (IOException | IllegalArgumentException e) {
      err.println("spindle-cli: cannot reach the admin API at " + base + ": " + (e.getMessage() == null ? e.toString() : e.getMessage())
          + " (start the server with --admin " + admin + ")");
      return 3;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 3;
    }
    JsonObject reply;
    try {
      reply = new JsonObject(resp.body());
    } catch (DecodeException e) {
      err.println("spindle-cli: HTTP " + resp.statusCode() + " from " + admin + ": " + resp.body());
      return 1;
    }
    if (resp.statusCode() != 200) {
      JsonObject e = reply.getJsonObject("error", new JsonObject());
      if (json) out.println(reply.encodePrettily());
      err.println("spindle-cli: " + r.op() + " failed (" + e.getValue("code") + "): " + e.getString("message"));
      if (resp.statusCode() == 401 && token == null) err.println("spindle-cli: give --token-file FILE or set SPINDLE_ADMIN_TOKEN_FILE");
      return 1;
    }
    if (r.exportTo() != null) return export(r.exportTo(), reply.getJsonObject("config"), out, err);
    out.print(json ? reply.encodePrettily() + "\n" : Render.render(r.op(), reply));
    return 0;
  }

  private static int usage(PrintStream err, String problem) {
    err.println("spindle-cli: " + problem);
    err.println("Try --help.");
    return 2;
  }

  /**
   * Writes a backup with secrets: the file is created with mode 0600 before anything is written,
   * so the secrets are never readable by others, not even for a moment.
   */
  private static int export(Path file, JsonObject config, PrintStream out, PrintStream err) {
    try {
      Files.deleteIfExists(file);
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        Files.createFile(file);
      }
      Files.writeString(file, config.encodePrettily() + "\n");
    } catch (IOException e) {
      err.println("spindle-cli: cannot write " + file + ": " + e.getMessage());
      return 1;
    }
    out.println("configuration with secrets written to " + file + " (mode 0600)");
    return 0;
  }

  /** An admin operation and its request body; {@code exportTo} is where {@code export} writes the reply. */
  record Request(String op, JsonObject body, Path exportTo) {
    Request(String op, JsonObject body) {
      this(op, body, null);
    }
  }

  static Request request(List<String> a) {
    if (a.isEmpty()) throw new IllegalArgumentException("no command");
    String cmd = a.get(0);
    String sub = a.size() > 1 ? a.get(1) : null;
    switch (cmd) {
      case "targets":
        return new Request("targets.list", new JsonObject());
      case "target":
        if ("add".equals(sub)) {
          need(a, 4, "target add NAME LUNSPEC...");
          JsonObject t = new JsonObject().put("name", a.get(2));
          JsonArray luns = new JsonArray();
          for (String s : a.subList(3, a.size())) {
            if (s.startsWith("alias=")) t.put("alias", s.substring(6));
            else if (s.equals("acl=any")) t.put("acl", "any"); // no ACL: every initiator, no authentication
            else luns.add(keyValues(List.of(s.split(","))));
          }
          return new Request("targets.add", new JsonObject().put("target", t.put("luns", luns)));
        }
        if ("remove".equals(sub)) {
          need(a, 3, "target remove NAME");
          return new Request("targets.remove", new JsonObject().put("name", a.get(2)));
        }
        break;
      case "lun":
        if ("add".equals(sub)) {
          need(a, 5, "lun add TARGET LUN KEY=VALUE...");
          JsonObject lun = keyValues(a.subList(4, a.size())).put("lun", number(a.get(3), "LUN"));
          return new Request("luns.add", new JsonObject().put("target", a.get(2)).put("lun", lun));
        }
        if ("remove".equals(sub)) {
          need(a, 4, "lun remove TARGET LUN");
          return new Request("luns.remove", new JsonObject().put("target", a.get(2)).put("lun", number(a.get(3), "LUN")));
        }
        break;
      case "portals":
        return new Request("portals.list", new JsonObject());
      case "portal":
        if ("add".equals(sub)) {
          need(a, 3, "portal add HOST:PORT [KEY=VALUE...]");
          return new Request("portals.add", new JsonObject().put("portal",
              keyValues(a.subList(3, a.size())).put("address", a.get(2))));
        }
        if ("remove".equals(sub)) {
          need(a, 3, "portal remove HOST:PORT");
          return new Request("portals.remove", new JsonObject().put("address", a.get(2)));
        }
        break;
      case "sessions":
        return new Request("sessions.list", sub == null ? new JsonObject() : new JsonObject().put("target", sub));
      case "connections":
        return new Request("connections.list", new JsonObject());
      case "logout":
        need(a, 2, "logout TSIH");
        return new Request("sessions.logout", new JsonObject().put("tsih", number(sub, "TSIH")));
      case "stats":
        return new Request("stats", sub == null ? new JsonObject() : new JsonObject().put("target", sub));
      case "reload":
        if (sub == null) return new Request("reload", new JsonObject());
        try {
          return new Request("reload", new JsonObject().put("config", new JsonObject(Files.readString(Path.of(sub)))));
        } catch (IOException | DecodeException e) {
          throw new IllegalArgumentException(sub + ": " + e.getMessage());
        }
      case "config":
        return new Request("config.get", new JsonObject());
      case "save":
        return new Request("config.save", new JsonObject());
      case "export":
        need(a, 2, "export FILE");
        return new Request("config.export", new JsonObject(), Path.of(sub));
      default:
        throw new IllegalArgumentException("unknown command \"" + cmd + "\"");
    }
    throw new IllegalArgumentException("usage: " + cmd + " add|remove ...");
  }

  private static void need(List<String> a, int n, String usage) {
    if (a.size() < n) throw new IllegalArgumentException("usage: " + usage);
  }

  private static long number(String s, String what) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " \"" + s + "\" is not a number");
    }
  }

  /** {@code key=value} pairs; whole numbers and true/false become JSON numbers and booleans. */
  static JsonObject keyValues(List<String> pairs) {
    JsonObject j = new JsonObject();
    for (String p : pairs) {
      int eq = p.indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("\"" + p + "\" is not KEY=VALUE");
      String k = p.substring(0, eq);
      String v = p.substring(eq + 1);
      if (v.matches("-?\\d{1,18}")) j.put(k, Long.parseLong(v));
      else if (v.equals("true") || v.equals("false")) j.put(k, Boolean.parseBoolean(v));
      else j.put(k, v);
    }
    return j;
  }
}

// node_oracles.mjs: the Node oracles of the differential URL harness (see README.md here).
//
// Reads JSONL {"id": N, "url": "..."} on stdin; writes one JSONL line per input, in order:
//   {"id": N, "views": {"node_url": RAW, "whatwg_url": RAW}}
// RAW is {"ok": true, "scheme": S, "host": H, "port": P|null, "kind": "name"|"ipv4"|"ipv6"} or
// {"ok": false, "error": "..."}. oracles.py canonicalizes RAW (default port, IP text form, ...).
//
//   node_url    Node's global URL (WHATWG URL Standard; ada in Node 20), which http.request,
//               https.request and fetch use. `hostname` is already IDNA-processed (UTS #46) and
//               IPv4/IPv6 are already parsed and serialized; http.request (urlToHttpOptions)
//               percent-decodes the userinfo (a malformed escape throws URIError) and strips the
//               brackets of an IPv6 hostname, and net.connect treats what net.isIP accepts as an
//               address and hands anything else to dns.lookup (getaddrinfo).
//   whatwg_url  the same through the `whatwg-url` npm package, the standard's reference
//               implementation. It is loaded from $EGRESS_NODE_MODULES, by default
//               <repo>/.local/node/node_modules (infra/local/install.sh installs it there).
//
// Exit status 3 with a message on stderr when whatwg-url cannot be loaded.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");
const nodeModules = process.env.EGRESS_NODE_MODULES || path.join(repoRoot, ".local", "node", "node_modules");

// --without-whatwg-url: only node_url (oracles.py --allow-missing passes it when the package is absent).
const withWhatwg = !process.argv.slice(2).includes("--without-whatwg-url");
let WhatwgURL = null;
if (withWhatwg) {
  try {
    const require = createRequire(path.join(nodeModules, "noop.js"));
    WhatwgURL = require(path.join(nodeModules, "whatwg-url")).URL;
  } catch (e) {
    process.stderr.write(`node_oracles: cannot load whatwg-url from ${nodeModules}: ${e.message}\n` +
      "  run infra/local/install.sh, or point EGRESS_NODE_MODULES at a node_modules holding whatwg-url\n");
    process.exit(3);
  }
}

function view(Ctor, raw, httpRequest) {
  let u;
  try {
    u = new Ctor(raw);
    if (httpRequest && (u.username || u.password)) {
      // http.request(url) -> urlToHttpOptions: auth is decodeURIComponent(username) + ":" +
      // decodeURIComponent(password), which throws (URIError) before any connection.
      decodeURIComponent(u.username);
      decodeURIComponent(u.password);
    }
  } catch (e) {
    return { ok: false, error: `${e.name}: ${e.code || e.message}`.slice(0, 120) };
  }
  let host = u.hostname;
  if (host === "") return { ok: false, error: "empty host" };
  let kind = "name";
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
    if (isIPv6(host)) kind = "ipv6";
    else return { ok: false, error: "bracketed host is not an IPv6 address" };
  } else if (isIPv4(host)) {
    kind = "ipv4";
  } else if (isIPv6(host)) {
    kind = "ipv6";
  }
  return {
    ok: true,
    scheme: u.protocol.replace(/:$/, ""),
    host,
    port: u.port === "" ? null : u.port,
    kind,
  };
}

const out = [];
const lines = readFileSync(0, "utf8").split("\n");
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  if (line.trim() === "") continue;
  let inp;
  try {
    inp = JSON.parse(line);
  } catch (e) {
    process.stderr.write(`node_oracles: input line ${i + 1}: ${e.message}\n`);
    process.exit(2);
  }
  out.push(JSON.stringify({
    id: inp.id,
    views: withWhatwg
      ? { node_url: view(URL, inp.url, true), whatwg_url: view(WhatwgURL, inp.url, false) }
      : { node_url: view(URL, inp.url, true) },
  }));
}
process.stdout.write(out.length ? out.join("\n") + "\n" : "");

#!/usr/bin/env python3
"""The enforcing proxy's lab: network namespaces, a DNS responder, an origin, canaries, relays, and Squid
started through infra/proxy/entrypoint.sh (DESIGN §12, "Local end-to-end tests").

    lab.py up --prefix P --dir D --helper BIN     set everything up, print one line `READY <json>`, then
                                                  hold until stdin closes (or SIGTERM), and take it all down
    lab.py dns|origin|canary|relay ...            the lab's servers (run inside a namespace by `up`)

Topology. Three namespaces, linked by veth pairs with addresses from 198.18.0.0/15 (RFC 2544, set aside
for testing network devices) and no default route anywhere:

    P-agent 198.18.0.1 --- 198.18.0.2 P-proxy 198.18.1.1 --- 198.18.1.2 P-origin

The agent reaches only the proxy's address; the proxy reaches the origin; loopback in the proxy namespace
holds the DNS responder (:53), the canaries (:80, :443) and the relays to the gateway and moto, which stay
on the root namespace's loopback (socat over Unix sockets: no route between the namespaces is needed).
Nothing else exists, so nothing else can be contacted.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import image  # beside this file (a script's directory is on sys.path)

AGENT_IP, PROXY_AGENT_IP = "198.18.0.1", "198.18.0.2"
PROXY_ORIGIN_IP, ORIGIN_IP = "198.18.1.1", "198.18.1.2"
PROXY_PORT = 3128
DOMAIN = "egress-lab.com"
# The proxy's one exception (a CONNECT to the gateway's own API, no token) is pointed at this origin name.
GATEWAY_API_LABEL = "gateway-api"
CANARY_IP = "127.0.0.1"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


# --- servers ---------------------------------------------------------------------------------------


def serve_dns(log_path, port):
    """Answers A queries for the lab's names and logs every query (one line: the name)."""
    from dnslib import QTYPE, RR, A
    from dnslib.server import BaseResolver, DNSServer

    rebind = {"n": 0}
    lock = threading.Lock()

    class Resolver(BaseResolver):
        def resolve(self, request, handler):
            reply = request.reply()
            name = str(request.q.qname).rstrip(".").lower()
            with lock, open(log_path, "a") as f:
                f.write(name + "\n")
            if request.q.qtype != QTYPE.A or not (name == DOMAIN or name.endswith("." + DOMAIN)):
                return reply  # no AAAA, nothing outside the lab: NOERROR with no answer
            label = name[: -len(DOMAIN) - 1] if name != DOMAIN else ""
            ttl = 60
            if label == "canary":
                ip = CANARY_IP
            elif label == "rebind":
                # Rebinding: origin, then the canary, alternately, with TTL 0.
                with lock:
                    rebind["n"] += 1
                    ip = ORIGIN_IP if rebind["n"] % 2 else CANARY_IP
                ttl = 0
            elif label == "mixed":
                # An internal address beside the origin's: only the origin's may ever reach Squid.
                for ip in (CANARY_IP, ORIGIN_IP):
                    reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(ip), ttl=ttl))
                return reply
            else:
                ip = ORIGIN_IP
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(ip), ttl=ttl))
            return reply

    server = DNSServer(Resolver(), address="127.0.0.1", port=port)
    server.start()


class OriginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without TCP_NODELAY, Nagle and delayed ACKs add 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        if self.path.startswith("/redirect-to/"):
            target = self.path[len("/redirect-to/"):]
            self.send_response(302)
            self.send_header("Location", f"http://{target}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"origin": True, "host": host, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_origin(cert, key):
    """HTTP on :80 and :8080, HTTPS on :443 (a certificate for *.egress-lab.com from the lab's CA). :8080
    is plain HTTP on a port the policy allows, so a tunnel that carries non-TLS bytes there would get an
    answer if the proxy let it through."""
    for port in (80, 8080):
        plain = ThreadingHTTPServer((ORIGIN_IP, port), OriginHandler)
        threading.Thread(target=plain.serve_forever, daemon=True).start()
    tls = ThreadingHTTPServer((ORIGIN_IP, 443), OriginHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    tls.serve_forever()


def serve_canary(log_path, ports):
    """Counts every connection on each port (one log line per connection) and closes it."""

    def accept(port):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((CANARY_IP, port))
        s.listen(64)
        while True:
            conn, peer = s.accept()
            with open(log_path, "a") as f:
                f.write(f"{port} {peer[0]}\n")
            conn.close()

    for p in ports[1:]:
        threading.Thread(target=accept, args=(p,), daemon=True).start()
    accept(ports[0])


# --- setup -----------------------------------------------------------------------------------------


class Lab:
    def __init__(self, prefix, workdir, helper):
        self.prefix, self.dir, self.helper = prefix, Path(workdir), helper
        self.ns = {k: f"{prefix}-{k}" for k in ("agent", "proxy", "origin")}
        self.procs = {}
        self.stack = dict(
            line.split("=", 1)
            for line in (ROOT / ".local/run/stack.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )

    def spawn(self, name, args, ns=None, env=None, log=None):
        cmd = (["ip", "netns", "exec", self.ns[ns]] if ns else []) + args
        out = open(log or self.dir / f"{name}.log", "ab")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        self.procs[name] = p
        return p

    def nsx(self, ns, *args):
        return sh("ip", "netns", "exec", self.ns[ns], *args)

    def link(self, a, a_ip, b, b_ip, tag):
        va, vb = f"{self.prefix}{tag}a", f"{self.prefix}{tag}b"
        sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
        sh("ip", "link", "set", va, "netns", self.ns[a])
        sh("ip", "link", "set", vb, "netns", self.ns[b])
        self.nsx(a, "ip", "addr", "add", f"{a_ip}/24", "dev", va)
        self.nsx(b, "ip", "addr", "add", f"{b_ip}/24", "dev", vb)
        self.nsx(a, "ip", "link", "set", va, "up")
        self.nsx(b, "ip", "link", "set", vb, "up")

    def make_ca(self):
        d = self.dir
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=egress lab CA",
           "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=origin.{DOMAIN}",
           "-keyout", str(d / "origin.key"), "-out", str(d / "origin.csr"))
        (d / "origin.ext").write_text(f"subjectAltName=DNS:{DOMAIN},DNS:*.{DOMAIN}\n")
        sh("openssl", "x509", "-req", "-in", str(d / "origin.csr"), "-CA", str(d / "ca.pem"), "-CAkey",
           str(d / "ca.key"), "-CAcreateserial", "-days", "1", "-extfile", str(d / "origin.ext"),
           "-out", str(d / "origin.pem"))

    def wait_port(self, ns, host, port, proto="tcp", seconds=20):
        deadline = time.time() + seconds
        flag = "-tln" if proto == "tcp" else "-uln"
        while time.time() < deadline:
            out = self.nsx(ns, "ss", flag).stdout
            if f"{host}:{port} " in out:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{host}:{port}/{proto} in {ns} did not come up")

    def relay(self, name, port):
        """The namespace's 127.0.0.1:port reaches the root namespace's 127.0.0.1:port (over a Unix socket)."""
        sock = self.dir / f"{name}.sock"
        self.spawn(f"{name}-root", ["socat", f"UNIX-LISTEN:{sock},fork,unlink-early,mode=600",
                                    f"TCP:127.0.0.1:{port}"])
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        self.spawn(f"{name}-ns", ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
                                  f"UNIX-CONNECT:{sock}"], ns="proxy")
        self.wait_port("proxy", "127.0.0.1", port)

    def up(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        self.link("agent", AGENT_IP, "proxy", PROXY_AGENT_IP, "ap")
        self.link("proxy", PROXY_ORIGIN_IP, "origin", ORIGIN_IP, "po")
        self.make_ca()
        py = sys.executable
        me = str(Path(__file__).resolve())
        self.spawn("dns", [py, me, "dns", "--log", str(self.dir / "dns-queries.log")], ns="proxy")
        self.spawn("origin", [py, me, "origin", "--cert", str(self.dir / "origin.pem"),
                              "--key", str(self.dir / "origin.key")], ns="origin")
        self.spawn("canary", [py, me, "canary", "--log", str(self.dir / "canary.log")], ns="proxy")
        # The benchmark puts a timing forwarder in front of the gateway (EGRESS_LAB_GATEWAY_URL).
        gateway_url = os.environ.get("EGRESS_LAB_GATEWAY_URL") or self.stack["EGRESS_LAMBDA_URL"]
        gw_port = self.gw_port = gateway_url.rsplit(":", 1)[1].rstrip("/")
        moto_port = self.moto_port = self.stack["MOTO_PORT"]
        self.relay("gateway", gw_port)
        self.relay("moto", moto_port)
        self.wait_port("proxy", "127.0.0.1", 53, proto="udp")
        self.wait_port("origin", ORIGIN_IP, 443)
        self.wait_port("proxy", CANARY_IP, 443)
        # The proxy as its image runs it (image.py): the Dockerfile's files at its paths under image/, its
        # ENTRYPOINT, ENV and the task definition's variables; the lab's differences are declared there.
        root = self.dir / "image"
        stage = image.dockerfile_final_stage()
        entrypoint = image.install(root, Path(self.helper), stage)
        lab = {
            "EGRESS_GATEWAY_URL": f"http://127.0.0.1:{gw_port}",
            "EGRESS_GATEWAY_DEV_PRINCIPAL": "arn:aws:iam::000000000000:role/egress-proxy",
            "AWS_REGION": self.stack["AWS_REGION"],
            "EGRESS_KILL_SWITCH_PARAMETER": self.stack["EGRESS_KILL_SWITCH_PARAMETER"],
            "EGRESS_PROXY_LISTEN": f"{PROXY_AGENT_IP}:{PROXY_PORT}",
            "EGRESS_PROXY_RUN_DIR": str(self.dir / "squid"),
            "EGRESS_PROXY_DNS": "127.0.0.1",
            "EGRESS_PROXY_ACCESS_LOG": f"stdio:{self.dir / 'squid' / 'access.log'}",
            "EGRESS_PROXY_CACHE_LOG": f"{self.dir / 'squid' / 'cache.log'}",
            "EGRESS_PROXY_CUT_TUNNELS": "1",
            "EGRESS_PROXY_ACL_CHILDREN": "1",
            "EGRESS_PROXY_ACL_QUEUE": "10",
            "EGRESS_PROXY_RANGES_EXCLUDE": "198.18.0.0/15",
            "EGRESS_PROXY_GATEWAY_HOSTS": f"{GATEWAY_API_LABEL}.{DOMAIN}",
        }
        # The process environment minus every setting of ours (a stray EGRESS_* of the caller must not
        # reach the proxy undeclared), plus the stack's AWS endpoints and credentials (the task role's).
        env = {k: v for k, v in os.environ.items() if not k.startswith("EGRESS_")}
        env.update({k: v for k, v in self.stack.items() if k.startswith("AWS_")})
        env.update(image.environment(root, stage, image.task_environment(), lab))
        env["PATH"] = image.image_path(root, env.get("PATH", "/usr/bin:/bin"))
        env["RUST_LOG"] = "info"
        self.spawn("proxy", entrypoint, ns="proxy", env=env)
        self.wait_port("proxy", PROXY_AGENT_IP, PROXY_PORT, seconds=30)
        # The entrypoint writes `ready` once the agents' leg sees the tunnel leg up.
        ready = self.dir / "squid" / "ready"
        deadline = time.monotonic() + 40
        while not ready.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the proxy never became ready (squid/cache.log, proxy.log)")
            time.sleep(0.1)
        return {
            "namespaces": self.ns,
            "dir": str(self.dir),
            "proxy": f"{PROXY_AGENT_IP}:{PROXY_PORT}",
            "origin_ip": ORIGIN_IP,
            "domain": DOMAIN,
            "ca": str(self.dir / "ca.pem"),
            "pids": {k: p.pid for k, p in self.procs.items()},
        }

    def command(self, words):
        """`relay-down NAME` / `relay-up NAME`: stop (by PID) or restart the namespace side of a relay;
        `pause NAME` / `resume NAME`: SIGSTOP / SIGCONT the root side (answers hang instead of failing)."""
        try:
            verb, name = words
            if verb == "relay-down":
                p = self.procs.pop(f"{name}-ns")
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            elif verb == "relay-up":
                port = {"gateway": self.gw_port, "moto": self.moto_port}[name]
                sock = self.dir / f"{name}.sock"
                self.spawn(f"{name}-ns", ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
                                          f"UNIX-CONNECT:{sock}"], ns="proxy")
                self.wait_port("proxy", "127.0.0.1", port)
            elif verb in ("pause", "resume"):
                sig = signal.SIGSTOP if verb == "pause" else signal.SIGCONT
                os.killpg(self.procs[f"{name}-root"].pid, sig)
            else:
                return f"ERROR unknown command {verb}"
            return f"OK {verb} {name}"
        except Exception as e:  # noqa: BLE001 - the test reads the answer
            return f"ERROR {e}"

    def down(self):
        # Deleting a namespace does not end its processes: stop them first.
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.3)
        for ns in self.ns.values():
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()
        for ns in self.ns.values():
            sh("ip", "netns", "del", ns, check=False)
        # The logs stay for a look when asked (EGRESS_LAB_KEEP=1); otherwise nothing is left behind.
        if os.environ.get("EGRESS_LAB_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("--prefix", required=True)
    u.add_argument("--dir", required=True)
    u.add_argument("--helper", required=True)
    d = sub.add_parser("dns")
    d.add_argument("--log", required=True)
    d.add_argument("--port", type=int, default=53)
    o = sub.add_parser("origin")
    o.add_argument("--cert", required=True)
    o.add_argument("--key", required=True)
    c = sub.add_parser("canary")
    c.add_argument("--log", required=True)
    a = ap.parse_args()

    if a.cmd == "dns":
        serve_dns(a.log, a.port)
        while True:
            time.sleep(3600)
    if a.cmd == "origin":
        serve_origin(a.cert, a.key)
    if a.cmd == "canary":
        Path(a.log).touch()
        serve_canary(a.log, [443, 80])
    if a.cmd == "up":
        lab = Lab(a.prefix, a.dir, a.helper)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            info = lab.up()
            print("READY " + json.dumps(info), flush=True)
            # Serve the test's commands until it closes our stdin (or dies, which closes it too).
            for line in sys.stdin:
                print(lab.command(line.split()), flush=True)
        except Exception as e:  # noqa: BLE001 - reported to the test, then everything is taken down
            print(f"FAILED {e}", flush=True)
        finally:
            lab.down()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Agent-side clients of the proxy lab (run inside the agent namespace by proxy/tests/e2e.rs). Each
prints one JSON document (or, for `hold`, one line per event).

    client.py requests --proxy URL --ca CA URL      Python requests through HTTPS_PROXY / HTTP_PROXY
    client.py connect --proxy H:P --auth U:P AUTH   one raw CONNECT; the proxy's status and headers
    client.py many --proxy H:P --auth U:P --n N --concurrency C AUTH...
                                                     N raw CONNECTs (targets in turn), C at a time
    client.py tunnel --proxy H:P --auth U:P [--ca CA --sni NAME | --plain] AUTH
                                                     one CONNECT, then one GET inside it: over TLS with
                                                     the server name NAME, or as plain bytes
    client.py hold --proxy H:P --auth U:P --ca CA HOST
                                                     an open TLS tunnel to HOST; prints OPEN, then
                                                     CLOSED <seconds> when the proxy cuts it (max 30 s)
"""

import argparse
import base64
import json
import socket
import ssl
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def via_requests(proxy, ca, url):
    import requests

    try:
        r = requests.get(url, proxies={"http": proxy, "https": proxy}, verify=ca, timeout=10,
                         allow_redirects=False)
        return {"status": r.status_code, "body": r.text[:2000], "headers": dict(r.headers)}
    except requests.exceptions.ProxyError as e:
        return {"error": "proxy", "detail": str(e)[:500]}
    except requests.exceptions.RequestException as e:
        return {"error": type(e).__name__, "detail": str(e)[:500]}


def head_of(sock):
    status, headers, _ = head_and_rest(sock)
    return status, headers


def head_and_rest(sock):
    """A response head read from `sock`: status, headers, and what was read past the head."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2) if lines and lines[0] else []
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def open_tunnel(proxy, auth, authority, timeout=10):
    host, port = proxy.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    cred = base64.b64encode(auth.encode()).decode() if auth else None
    req = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
    if cred:
        req += f"Proxy-Authorization: Basic {cred}\r\n"
    s.sendall((req + "\r\n").encode())
    status, headers = head_of(s)
    return s, status, headers


def connect_once(proxy, auth, authority):
    started = time.monotonic()
    try:
        s, status, headers = open_tunnel(proxy, auth, authority)
        s.close()
        return {"target": authority, "status": status, "headers": headers,
                "seconds": round(time.monotonic() - started, 3)}
    except OSError as e:
        return {"target": authority, "status": 0, "error": str(e), "seconds": round(time.monotonic() - started, 3)}


def read_response(sock):
    status, headers, body = head_and_rest(sock)
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < min(length, 65536):
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return status, body.decode("latin-1")


def tunnel(proxy, auth, authority, ca, sni, plain):
    """CONNECT, then a GET through the tunnel; reports how far it got."""
    out = {"target": authority}
    try:
        s, status, _ = open_tunnel(proxy, auth, authority)
    except OSError as e:
        return {**out, "connect": 0, "error": str(e)}
    out["connect"] = status
    if status != 200:
        s.close()
        return out
    host = authority.rsplit(":", 1)[0]
    try:
        if plain:
            conn = s
        else:
            ctx = ssl.create_default_context(cafile=ca)
            # The server name is the test's variable; the origin's certificate covers every lab name.
            ctx.check_hostname = False
            conn = ctx.wrap_socket(s, server_hostname=sni or None)
            out["handshake"] = "ok"
        conn.sendall(f"GET /through-tunnel HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        out["http"], out["body"] = read_response(conn)
    except (OSError, ValueError) as e:
        out["error"] = f"{type(e).__name__}: {e}"[:300]
    finally:
        s.close()
    return out


def hold(proxy, auth, ca, host):
    s, status, _ = open_tunnel(proxy, auth, f"{host}:443")
    if status != 200:
        print(f"REFUSED {status}", flush=True)
        return
    ctx = ssl.create_default_context(cafile=ca)
    tls = ctx.wrap_socket(s, server_hostname=host)
    started = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            tls.sendall(f"GET /held HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status, headers = head_of(tls)
            length = int(headers.get("content-length", "0"))
            body = b""
            while len(body) < length:
                chunk = tls.recv(length - len(body))
                if not chunk:
                    raise ConnectionError("eof")
                body += chunk
            if status != 200:
                raise ConnectionError(f"status {status}")
        except (OSError, ConnectionError, ValueError):
            print(f"CLOSED {time.monotonic() - (started or time.monotonic()):.3f}", flush=True)
            return
        if started is None:
            print("OPEN", flush=True)
            # The test flips the switch after OPEN and tells us when (a line on stdin).
            sys.stdin.readline()
            started = time.monotonic()
        time.sleep(0.2)
    print("STILL_OPEN", flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("requests")
    r.add_argument("--proxy", required=True)
    r.add_argument("--ca", required=True)
    r.add_argument("url")
    c = sub.add_parser("connect")
    c.add_argument("--proxy", required=True)
    c.add_argument("--auth", default="")
    c.add_argument("authority")
    m = sub.add_parser("many")
    m.add_argument("--proxy", required=True)
    m.add_argument("--auth", required=True)
    m.add_argument("--n", type=int, required=True)
    m.add_argument("--concurrency", type=int, required=True)
    m.add_argument("targets", nargs="+")
    t = sub.add_parser("tunnel")
    t.add_argument("--proxy", required=True)
    t.add_argument("--auth", required=True)
    t.add_argument("--ca")
    t.add_argument("--sni", default="")
    t.add_argument("--plain", action="store_true")
    t.add_argument("authority")
    h = sub.add_parser("hold")
    h.add_argument("--proxy", required=True)
    h.add_argument("--auth", required=True)
    h.add_argument("--ca", required=True)
    h.add_argument("host")
    a = ap.parse_args()
    if a.cmd == "requests":
        print(json.dumps(via_requests(a.proxy, a.ca, a.url)))
    elif a.cmd == "connect":
        print(json.dumps(connect_once(a.proxy, a.auth, a.authority)))
    elif a.cmd == "many":
        n = min(a.n, 1000)  # bounded
        targets = [a.targets[i % len(a.targets)] for i in range(n)]
        with ThreadPoolExecutor(max_workers=min(a.concurrency, 200)) as pool:
            results = list(pool.map(lambda t: connect_once(a.proxy, a.auth, t), targets))
        print(json.dumps(results))
    elif a.cmd == "tunnel":
        print(json.dumps(tunnel(a.proxy, a.auth, a.authority, a.ca, a.sni, a.plain)))
    elif a.cmd == "hold":
        hold(a.proxy, a.auth, a.ca, a.host)


if __name__ == "__main__":
    main()

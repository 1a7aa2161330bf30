#!/usr/bin/env python3
"""Oracle side of the differential URL harness: what host and port real HTTP client stacks connect to.

    python3 tests/differential/oracles.py --in INPUTS.jsonl --out VIEWS.jsonl   (`-` = stdin/stdout)

Input lines are {"id": <int>, "url": "<string>"}; for each one, in order, an output line
{"id": <int>, "views": {"<oracle>": VIEW, ...}} where VIEW is exactly one of

    {"ok": true, "kind": "name"|"ipv4"|"ipv6", "host": H, "port": P}
    {"ok": false, "error": "<short text>"}

The Python oracles (python_http_client, python_urllib_request, python_requests, urllib3, curl via
libcurl and ctypes) run in this process; node_url + whatwg_url (node_oracles.mjs), java_uri
(JavaOracle.java) and go_url (go_oracle.go) run as ONE batch subprocess each over all inputs, in
parallel with the Python work. Every oracle hands back a raw view (scheme, host text, port text,
kind); canonical() below is the one place that turns raw views into VIEWs, so all oracles are
compared on the same footing. README.md in this directory describes each oracle and the contract.

A missing runtime (node, java, go, the whatwg-url package, libcurl, the requests/urllib3/idna
packages) is an error unless --allow-missing is given, in which case that oracle's key is left out
of every "views" object and the summary line names it as missing.

The script needs requests, urllib3 and idna: when the repo's venv (.local/venv, made by
infra/local/install.sh with the pinned versions) exists, it re-executes itself with that venv's
python, whatever python started it.
"""
from __future__ import annotations

import argparse
import ctypes
import http.client
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV_PYTHON = os.path.join(ROOT, ".local", "venv", "bin", "python")
_REEXEC_GUARD = "EGRESS_ORACLES_REEXEC"

# Prefer the repo's venv, whose versions infra/local/requirements.txt pins: another interpreter's
# requests/urllib3 may parse differently (urllib3 2.7 and 2.8 already do).
# (Only when run as a script: importing this module never replaces the interpreter.)
if (
    __name__ == "__main__"
    and os.path.exists(VENV_PYTHON)
    and os.path.realpath(sys.prefix) != os.path.realpath(os.path.dirname(os.path.dirname(VENV_PYTHON)))
    and not os.environ.get(_REEXEC_GUARD)
):
    os.environ[_REEXEC_GUARD] = "1"
    os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__), *sys.argv[1:]])

try:
    import idna  # requests and urllib3 import it lazily; fail early and clearly
    import requests
    import urllib3
    import urllib3.util

    _PY_PACKAGES_ERROR = None
except ImportError as _e:  # pragma: no cover - depends on the environment
    _PY_PACKAGES_ERROR = f"{_e} (run infra/local/install.sh, or use a python that has requests, urllib3, idna)"

# Every key that can appear in "views", in output order. python_urllib_request stands beside
# python_http_client because urllib.request.urlopen really does connect elsewhere than urlsplit()
# says (it percent-decodes the host and keeps the userinfo; see README.md).
ALL_ORACLES = [
    "python_http_client",
    "python_urllib_request",
    "python_requests",
    "urllib3",
    "curl",
    "node_url",
    "whatwg_url",
    "java_uri",
    "go_url",
]

DEFAULT_PORTS = {"http": 80, "https": 443}

# Oracles whose names end in glibc's getaddrinfo() (Python's socket module, libcurl, Node's
# dns.lookup, Java's name service on Linux). getaddrinfo reads a "name" numerically when
# inet_aton/inet_pton accept it (e.g. "0x7f.1"), so canonical() applies that reading to their names.
# Go's default resolver on Linux is its own pure-Go one, which does not.
GLIBC_RESOLVER = set(ALL_ORACLES) - {"go_url"}


class OracleError(Exception):
    """A raw view's reason for not connecting."""


def short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 160 else text[:157] + "..."


# --- canonical form --------------------------------------------------------------------------------


def _ipv6_text(packed: bytes) -> str:
    """RFC 5952 text (lowercase, longest run of >= 2 zero groups as '::', no dotted quad).

    Python 3.11's str(IPv6Address) gives the same; 3.13 writes IPv4-mapped addresses with a dotted
    quad, so the text is built here to be independent of the interpreter's version.
    """
    groups = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    best_start, best_len, start = -1, 0, -1
    for i, g in enumerate([*groups, 1]):
        if g == 0:
            if start < 0:
                start = i
        elif start >= 0:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = -1
    hexes = [f"{g:x}" for g in groups]
    if best_len >= 2:
        return ":".join(hexes[:best_start]) + "::" + ":".join(hexes[best_start + best_len :])
    return ":".join(hexes)


_GAI_CACHE: dict[bytes, tuple[str, str] | None] = {}


def glibc_numeric(host: bytes) -> tuple[str, str] | None:
    """(kind, address text) when glibc's getaddrinfo reads HOST as a numeric address, else None.

    getaddrinfo(host, NULL, AI_NUMERICHOST) never touches DNS: it succeeds exactly for the strings
    glibc parses as an address itself (inet_aton-style IPv4 -- "0x7f.1", "2130706433", "010.0.0.1"
    -- and inet_pton IPv6 with an optional %scope), which it then connects to without a lookup.
    A scoped IPv6 result keeps "%<scope>" so canonical() refuses it.
    """
    if host in _GAI_CACHE:
        return _GAI_CACHE[host]
    result = None
    if host and b"\x00" not in host:
        try:
            infos = socket.getaddrinfo(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
        except (socket.gaierror, UnicodeError, ValueError, OSError):
            infos = []
        if infos:
            family, _, _, _, sockaddr = infos[0]
            if family == socket.AF_INET:
                result = ("ipv4", sockaddr[0])
            elif family == socket.AF_INET6:
                text = _ipv6_text(socket.inet_pton(socket.AF_INET6, sockaddr[0].split("%")[0]))
                if sockaddr[3] or "%" in sockaddr[0]:
                    text += "%" + str(sockaddr[3])
                result = ("ipv6", text)
    _GAI_CACHE[host] = result
    return result


def _is_ipv6_text(text: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6, text)
        return True
    except (OSError, ValueError):
        return False


def fail(error: str) -> dict:
    return {"ok": False, "error": error if len(error) <= 160 else error[:157] + "..."}


def canonical(oracle: str, raw: dict) -> dict:
    """The one place raw oracle views become contract VIEWs.

    raw: {"ok": true, "scheme": S, "host": H, "port": P|None, "kind": K} or {"ok": false, "error": E}.
    P may be an int or the port's text (None or "" = the scheme's default port).
    """
    if not raw.get("ok"):
        return fail(str(raw.get("error") or "not ok"))
    scheme = str(raw.get("scheme") or "").lower()
    if scheme not in DEFAULT_PORTS:
        # Every one of these stacks only connects for http and https.
        return fail(f"unsupported scheme {scheme!r}")
    port = raw.get("port")
    if port is None or port == "":
        port = DEFAULT_PORTS[scheme]
    elif isinstance(port, str):
        if not (port.isascii() and port.isdigit()):
            return fail(f"bad port {port!r}")
        port = int(port)
    elif not isinstance(port, int) or isinstance(port, bool):
        return fail(f"bad port {port!r}")
    if not 0 <= port <= 65535:
        return fail(f"port out of range: {port}")

    host = raw.get("host")
    kind = raw.get("kind")
    if not isinstance(host, str) or not host:
        return fail("empty host")
    if kind == "name":
        if not host.isascii():
            return fail("non-ascii name")
        if oracle in GLIBC_RESOLVER:
            numeric = glibc_numeric(host.encode("ascii"))
            if numeric:
                kind, host = numeric
            elif "%" in host and _is_ipv6_text(host.split("%", 1)[0]):
                # An IPv6 literal with a zone glibc cannot resolve to an interface: getaddrinfo
                # fails on it (EAI_NONAME) rather than asking DNS.
                return fail("ipv6 zone id")
    if kind == "name":
        name = host.lower()
        if name.endswith("."):
            name = name[:-1]
        if not name:
            # "." (the DNS root) has no form left once its trailing dot is removed.
            return fail(f"no host name left in {host!r}")
        return {"ok": True, "kind": "name", "host": name, "port": port}
    if kind == "ipv4":
        try:
            return {"ok": True, "kind": "ipv4", "host": str(ipaddress.IPv4Address(host)), "port": port}
        except ValueError:
            return fail(f"oracle said ipv4 but {host!r} is not")
    if kind == "ipv6":
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if "%" in host:
            return fail("ipv6 zone id")
        try:
            packed = ipaddress.IPv6Address(host).packed
        except ValueError:
            return fail(f"oracle said ipv6 but {host!r} is not")
        return {"ok": True, "kind": "ipv6", "host": _ipv6_text(packed), "port": port}
    return fail(f"oracle gave no kind ({kind!r})")


# --- Python oracles ---------------------------------------------------------------------------------


def socket_layer(scheme: str, host: str, port) -> dict:
    """What socket.create_connection((host, port)) would connect to, without connecting.

    Python's socket module encodes a str host with the stdlib "idna" codec (IDNA 2003,
    encodings.idna: nameprep, splits on . U+3002 U+FF0E U+FF61, ASCII passes unchanged) and hands
    the bytes to getaddrinfo, which reads numeric forms itself (glibc_numeric).
    """
    try:
        encoded = host.encode("idna")
    except UnicodeError as e:
        raise OracleError(f"idna codec: {e}") from None
    numeric = glibc_numeric(encoded)
    if numeric:
        kind, text = numeric
        return {"ok": True, "scheme": scheme, "host": text, "port": port, "kind": kind}
    return {"ok": True, "scheme": scheme, "host": encoded.decode("ascii"), "port": port, "kind": "name"}


class _HTTPSPorts(http.client.HTTPConnection):
    """http.client.HTTPSConnection's host/port parsing (default_port 443) without its SSL context."""

    default_port = http.client.HTTPS_PORT


def python_http_client(url: str) -> dict:
    """urlsplit() -> .hostname/.port, then http.client.HTTPConnection(host, port) -> socket layer."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as e:
        raise OracleError(short(e)) from None
    scheme = parts.scheme
    if not host:
        raise OracleError("no host")
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
        if port is None:
            raise OracleError(f"unsupported scheme {scheme!r}")
    try:
        conn = http.client.HTTPConnection(host, port)  # validates the host; does not connect
    except (http.client.InvalidURL, ValueError) as e:
        raise OracleError(short(e)) from None
    return socket_layer(scheme, conn.host, conn.port)


def python_urllib_request(url: str) -> dict:
    """urllib.request.urlopen's path: Request(url).host (percent-decoded, userinfo kept), then
    HTTP(S)Connection(host) splitting off the port itself, the request line and Host header that
    h.request() builds before it connects, then the socket layer."""
    try:
        req = urllib.request.Request(url)
    except ValueError as e:
        raise OracleError(short(e)) from None
    scheme = req.type
    if scheme not in DEFAULT_PORTS:
        raise OracleError(f"unsupported scheme {scheme!r}")
    if not req.host:
        raise OracleError("URLError: no host given")
    cls = _HTTPSPorts if scheme == "https" else http.client.HTTPConnection
    try:
        conn = cls(req.host)
        # h.request() in do_open: the request line and the Host header are built (and validated:
        # no control characters or space in the path, ASCII request line, latin-1 header values)
        # before endheaders() connects. Nothing here is sent: the connection is never opened.
        conn.putrequest(req.get_method(), req.selector, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", req.host)
    except (http.client.InvalidURL, ValueError) as e:  # UnicodeEncodeError is a ValueError
        raise OracleError(short(e)) from None
    return socket_layer(scheme, conn.host, conn.port)


_POOL_MANAGER = None


def _urllib3_connect(scheme, host, port) -> dict:
    """PoolManager.connection_from_host -> pool._new_conn() (an unconnected HTTP(S)Connection) ->
    urllib3.util.connection.create_connection's own steps -> socket layer."""
    global _POOL_MANAGER
    if _POOL_MANAGER is None:
        _POOL_MANAGER = urllib3.PoolManager(num_pools=8)
    pool = _POOL_MANAGER.connection_from_host(host, port=port, scheme=scheme)
    conn = pool._new_conn()
    dns_host, dns_port = conn._dns_host, conn.port
    if dns_host.startswith("["):
        dns_host = dns_host.strip("[]")
    try:
        dns_host.encode("idna")
    except UnicodeError:
        raise OracleError(f"LocationParseError: {dns_host!r}, label empty or too long") from None
    return socket_layer(pool.scheme, dns_host, dns_port)


def python_requests(url: str) -> dict:
    """requests: Request("GET", url).prepare() (prepare_url: urllib3.parse_url + IDNA via the
    idna package; prepare_auth: userinfo becomes a latin-1 Basic header), then what HTTPAdapter
    does with the prepared URL: stdlib urlparse() -> scheme/hostname/port
    (requests.adapters._urllib3_request_context), PoolManager.connection_from_host, connection."""
    try:
        prepared = requests.Request("GET", url).prepare()
        parsed = urllib.parse.urlparse(prepared.url)
        scheme = parsed.scheme.lower()
        host, port = parsed.hostname, parsed.port
        if scheme not in DEFAULT_PORTS:
            raise OracleError(f"InvalidSchema: no connection adapter for {scheme!r}")
        return _urllib3_connect(scheme, host, port)
    except OracleError:
        raise
    except Exception as e:  # noqa: BLE001 - any exception means requests does not connect
        raise OracleError(short(e)) from None


def python_urllib3(url: str) -> dict:
    """urllib3.PoolManager.urlopen(url): parse_url(url) (IDNA 2008 via the idna package for
    non-ASCII hosts) -> connection_from_host(u.host, u.port, u.scheme) -> connection."""
    try:
        u = urllib3.util.parse_url(url)
        return _urllib3_connect(u.scheme, u.host, u.port)
    except OracleError:
        raise
    except Exception as e:  # noqa: BLE001
        raise OracleError(short(e)) from None


# --- libcurl through ctypes -------------------------------------------------------------------------

# Values from curl/urlapi.h (libcurl4-openssl-dev 7.88.1); hard-coded so that only the runtime
# library libcurl.so.4 is needed. CURLUPart is an enum starting at CURLUPART_URL = 0.
CURLUPART_URL = 0
CURLUPART_SCHEME = 1
CURLUPART_HOST = 5
CURLUPART_PORT = 6
CURLUPART_ZONEID = 10
CURLUE_OUT_OF_MEMORY = 7
CURLUE_NO_ZONEID = 18
CURLU_DEFAULT_PORT = 1 << 0  # return the scheme's default port when none is given
CURLU_PUNYCODE = 1 << 12  # get the host in punycode (libcurl >= 7.88.0; IDN via libidn2)
CURLUE_NAMES = [
    "OK", "BAD_HANDLE", "BAD_PARTPOINTER", "MALFORMED_INPUT", "BAD_PORT_NUMBER",
    "UNSUPPORTED_SCHEME", "URLDECODE", "OUT_OF_MEMORY", "USER_NOT_ALLOWED", "UNKNOWN_PART",
    "NO_SCHEME", "NO_USER", "NO_PASSWORD", "NO_OPTIONS", "NO_HOST", "NO_PORT", "NO_QUERY",
    "NO_FRAGMENT", "NO_ZONEID", "BAD_FILE_URL", "BAD_FRAGMENT", "BAD_HOSTNAME", "BAD_IPV6",
    "BAD_LOGIN", "BAD_PASSWORD", "BAD_PATH", "BAD_QUERY", "BAD_SCHEME", "BAD_SLASHES",
    "BAD_USER", "LACKS_IDN",
]  # fmt: skip
# EGRESS_LIBCURL may name another build (a path) to compare; the default is the system library.
LIBCURL_NAME = os.environ.get("EGRESS_LIBCURL") or "libcurl.so.4"


class Curl:
    def __init__(self) -> None:
        lib = ctypes.CDLL(LIBCURL_NAME)
        lib.curl_version.restype = ctypes.c_char_p
        lib.curl_url.restype = ctypes.c_void_p
        lib.curl_url.argtypes = []
        lib.curl_url_cleanup.restype = None
        lib.curl_url_cleanup.argtypes = [ctypes.c_void_p]
        lib.curl_url_set.restype = ctypes.c_int
        lib.curl_url_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        lib.curl_url_get.restype = ctypes.c_int
        lib.curl_url_get.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint]
        lib.curl_free.restype = None
        lib.curl_free.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.version = lib.curl_version().decode("ascii", "replace")

    @staticmethod
    def code(rc: int) -> str:
        name = CURLUE_NAMES[rc] if 0 <= rc < len(CURLUE_NAMES) else "?"
        return f"CURLUE_{name} ({rc})"

    def _get(self, h, part: int, flags: int) -> str:
        out = ctypes.c_void_p()
        rc = self.lib.curl_url_get(h, part, ctypes.byref(out), flags)
        if rc == CURLUE_NO_ZONEID and part == CURLUPART_ZONEID:
            return ""
        if rc != 0:
            hint = ""
            if rc == CURLUE_OUT_OF_MEMORY and part == CURLUPART_HOST:
                # 7.88's curl_url_get reports a failed IDN conversion (libidn2) this way; a
                # transfer fails on the same conversion (Curl_idnconvert_hostname).
                hint = " (IDN conversion failed)"
            raise OracleError(f"curl_url_get: {self.code(rc)}{hint}")
        try:
            return ctypes.string_at(out.value).decode("utf-8", "replace")
        finally:
            self.lib.curl_free(out)

    def __call__(self, url: str) -> dict:
        data = url.encode("utf-8")
        if b"\x00" in data:
            raise OracleError("NUL in URL (cannot be passed to libcurl as a C string)")
        h = self.lib.curl_url()
        if not h:
            raise OracleError("curl_url() failed")
        try:
            rc = self.lib.curl_url_set(h, CURLUPART_URL, data, 0)
            if rc != 0:
                raise OracleError(f"curl_url_set: {self.code(rc)}")
            scheme = self._get(h, CURLUPART_SCHEME, 0)
            host = self._get(h, CURLUPART_HOST, CURLU_PUNYCODE)
            port = self._get(h, CURLUPART_PORT, CURLU_DEFAULT_PORT)
            zone = self._get(h, CURLUPART_ZONEID, 0)
        finally:
            self.lib.curl_url_cleanup(h)
        # libcurl normalizes numeric IPv4 forms itself (0x7f.1 -> 127.0.0.1) and keeps IPv6 in
        # brackets (a zone as "%25<zone>"); any other host is a name for getaddrinfo.
        if host.startswith("[") and host.endswith("]"):
            kind = "ipv6"
            host = host[1:-1]
            if zone:  # 7.88 returns the zone separately (CURLUPART_ZONEID), not inside HOST
                host = host.split("%")[0] + "%" + zone
        else:
            try:
                ipaddress.IPv4Address(host)
                kind = "ipv4"
            except ValueError:
                kind = "name"  # canonical() applies glibc's numeric reading (curl resolves via getaddrinfo)
        return {"ok": True, "scheme": scheme, "host": host, "port": port, "kind": kind}


# --- external oracles -------------------------------------------------------------------------------

NODE_MODULES = os.environ.get("EGRESS_NODE_MODULES") or os.path.join(ROOT, ".local", "node", "node_modules")


def external_specs(selected: set[str]) -> list[dict]:
    """One batch subprocess per runtime: command, the oracle keys it answers, and what it lacks."""
    specs = []
    node_keys = [k for k in ("node_url", "whatwg_url") if k in selected]
    if node_keys:
        cmd = ["node", os.path.join(HERE, "node_oracles.mjs")]
        if "whatwg_url" not in node_keys:
            cmd.append("--without-whatwg-url")
        missing = {}
        if not shutil.which("node"):
            missing = dict.fromkeys(node_keys, "`node` not on PATH")
        elif "whatwg_url" in node_keys and not os.path.isfile(os.path.join(NODE_MODULES, "whatwg-url", "package.json")):
            missing = {"whatwg_url": f"whatwg-url not installed in {NODE_MODULES} (infra/local/install.sh)"}
        specs.append({"name": "node", "cmd": cmd, "keys": node_keys, "missing": missing, "env": {}})
    if "java_uri" in selected:
        cmd = [
            "java",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "--add-exports",
            "java.base/sun.net.util=ALL-UNNAMED",
            os.path.join(HERE, "JavaOracle.java"),
        ]
        missing = {} if shutil.which("java") else {"java_uri": "`java` not on PATH"}
        specs.append({"name": "java", "cmd": cmd, "keys": ["java_uri"], "missing": missing, "env": {}})
    if "go_url" in selected:
        env = {"GOPROXY": "off", "GOTOOLCHAIN": "local", "GO111MODULE": "on"}
        if not os.environ.get("GOCACHE") and not os.environ.get("HOME") and not os.environ.get("XDG_CACHE_HOME"):
            env["GOCACHE"] = os.path.join(ROOT, ".local", "cache", "go-build")
        missing = {} if shutil.which("go") else {"go_url": "`go` not on PATH (apt-get install golang-go)"}
        cmd = ["go", "run", os.path.join(HERE, "go_oracle.go")]
        specs.append({"name": "go", "cmd": cmd, "keys": ["go_url"], "missing": missing, "env": env})
    return specs


class Batch:
    """A running external oracle: stdin from the shared input file, stdout/stderr to temp files."""

    def __init__(self, spec: dict, input_path: str, tmpdir: str) -> None:
        self.spec = spec
        self.out_path = os.path.join(tmpdir, spec["name"] + ".out.jsonl")
        self.err_path = os.path.join(tmpdir, spec["name"] + ".err")
        env = dict(os.environ, **spec["env"])
        if "GOCACHE" in spec["env"]:
            os.makedirs(spec["env"]["GOCACHE"], exist_ok=True)
        with open(input_path, "rb") as stdin, open(self.out_path, "wb") as stdout, open(self.err_path, "wb") as stderr:
            self.proc = subprocess.Popen(spec["cmd"], stdin=stdin, stdout=stdout, stderr=stderr, cwd=ROOT, env=env)

    def results(self, ids: list, timeout: float) -> list[dict]:
        name = self.spec["name"]
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit(f"oracles: the {name} oracle did not finish within {timeout:.0f}s") from None
        with open(self.err_path, "rb") as f:
            err = f.read().decode("utf-8", "replace").strip()
        if rc != 0:
            raise SystemExit(f"oracles: the {name} oracle ({' '.join(self.spec['cmd'])}) exited {rc}:\n{err}")
        rows = []
        with open(self.out_path, "rb") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as e:
                        raise SystemExit(f"oracles: the {name} oracle wrote bad JSON on line {n}: {e}") from None
        if len(rows) != len(ids) or any(r.get("id") != i for r, i in zip(rows, ids, strict=True)):
            raise SystemExit(
                f"oracles: the {name} oracle answered {len(rows)} lines for {len(ids)} inputs (or out of order)"
            )
        return [r["views"] for r in rows]


# --- driver -----------------------------------------------------------------------------------------


def read_inputs(stream) -> list[dict]:
    items = []
    for n, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise SystemExit(f"oracles: input line {n}: {e}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("url"), str) or "id" not in obj:
            raise SystemExit(f'oracles: input line {n}: want {{"id": <int>, "url": "<string>"}}')
        items.append({"id": obj["id"], "url": obj["url"]})
    return items


def versions() -> dict:
    v = {"python": sys.version.split()[0]}
    if _PY_PACKAGES_ERROR is None:
        v.update(requests=requests.__version__, urllib3=urllib3.__version__, idna=idna.__version__)
    try:
        v["libcurl"] = Curl().version
    except OSError as e:
        v["libcurl"] = f"missing ({e})"
    for name, cmd in (("node", ["node", "--version"]), ("java", ["java", "-version"]), ("go", ["go", "version"])):
        if shutil.which(cmd[0]):
            p = subprocess.run(cmd, capture_output=True, text=True)
            v[name] = (p.stdout or p.stderr).strip().splitlines()[0]
        else:
            v[name] = "missing"
    pkg = os.path.join(NODE_MODULES, "whatwg-url", "package.json")
    v["whatwg-url"] = json.load(open(pkg))["version"] if os.path.isfile(pkg) else "missing"
    return v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--in", dest="inp", default="-", help="input JSONL ({id, url} per line), - for stdin")
    ap.add_argument("--out", default="-", help="output JSONL ({id, views} per line), - for stdout")
    ap.add_argument(
        "--allow-missing", action="store_true", help="leave out oracles whose runtime is missing instead of failing"
    )
    ap.add_argument("--oracles", help=f"comma-separated subset of: {','.join(ALL_ORACLES)} (default: all)")
    ap.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for each external oracle (default 300)"
    )
    ap.add_argument(
        "--show-disagreements",
        action="store_true",
        help="also print, on stderr, each input whose ok views name different destinations",
    )
    ap.add_argument("--versions", action="store_true", help="print the version of every runtime and library, then exit")
    args = ap.parse_args(argv)

    if args.versions:
        json.dump(versions(), sys.stdout, indent=2)
        print()
        return 0

    wanted = ALL_ORACLES if not args.oracles else [o.strip() for o in args.oracles.split(",") if o.strip()]
    unknown = [o for o in wanted if o not in ALL_ORACLES]
    if unknown:
        ap.error(f"unknown oracle(s): {', '.join(unknown)}")
    selected_set = set(wanted)
    selected = [o for o in ALL_ORACLES if o in selected_set]  # output order is always ALL_ORACLES

    started = time.monotonic()
    if args.inp == "-":
        items = read_inputs(sys.stdin)
    else:
        with open(args.inp, encoding="utf-8") as f:
            items = read_inputs(f)
    ids = [it["id"] for it in items]

    # What is missing, decided before any work starts.
    missing: dict[str, str] = {}
    py_funcs = {}
    if "python_http_client" in selected_set:
        py_funcs["python_http_client"] = python_http_client
    if "python_urllib_request" in selected_set:
        py_funcs["python_urllib_request"] = python_urllib_request
    for key, func in (("python_requests", python_requests), ("urllib3", python_urllib3)):
        if key in selected_set:
            if _PY_PACKAGES_ERROR:
                missing[key] = _PY_PACKAGES_ERROR
            else:
                py_funcs[key] = func
    if "curl" in selected_set:
        try:
            py_funcs["curl"] = Curl()
        except OSError as e:
            missing["curl"] = f"cannot load {LIBCURL_NAME}: {e} (apt-get install libcurl4)"
    specs = external_specs(selected_set)
    for spec in specs:
        missing.update(spec["missing"])
    if missing and not args.allow_missing:
        lines = "\n".join(f"  {k}: {why}" for k, why in missing.items())
        print(f"oracles: missing oracle runtime(s) (pass --allow-missing to leave them out):\n{lines}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="egress-oracles-") as tmpdir:
        input_path = os.path.join(tmpdir, "inputs.jsonl")
        with open(input_path, "w", encoding="ascii") as f:
            for it in items:
                f.write(json.dumps(it, ensure_ascii=True) + "\n")
        batches = []
        for spec in specs:
            runnable = [k for k in spec["keys"] if k not in missing]
            if not runnable:
                continue
            if spec["name"] == "node" and "whatwg_url" in missing and "--without-whatwg-url" not in spec["cmd"]:
                spec = dict(spec, cmd=spec["cmd"] + ["--without-whatwg-url"])
            batches.append(Batch(spec, input_path, tmpdir))

        # In-process oracles while the external ones run.
        views = [{} for _ in items]
        for key, func in py_funcs.items():
            for i, it in enumerate(items):
                try:
                    raw = func(it["url"])
                except OracleError as e:
                    raw = {"ok": False, "error": str(e)}
                except Exception as e:  # noqa: BLE001 - an unexpected library error is still "no connection"
                    raw = {"ok": False, "error": short(e)}
                views[i][key] = canonical(key, raw)

        deadline = time.monotonic() + args.timeout
        for batch in batches:
            ext = batch.results(ids, max(1.0, deadline - time.monotonic()))
            for i, ev in enumerate(ext):
                for key, raw in ev.items():
                    if key in selected_set and key not in missing:
                        views[i][key] = canonical(key, raw)

    present = [k for k in selected if k not in missing]
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    try:
        for it, v in zip(items, views, strict=True):
            out.write(json.dumps({"id": it["id"], "views": {k: v[k] for k in present}}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()

    counts = []
    for k in present:
        ok = sum(1 for v in views if v[k]["ok"])
        counts.append(f"{k} {ok} ok/{len(items) - ok} not")
    counts += [f"{k} missing" for k in selected if k in missing]
    elapsed = time.monotonic() - started
    print(f"oracles: {len(items)} inputs in {elapsed:.1f}s; " + "; ".join(counts), file=sys.stderr)

    if args.show_disagreements:
        for it, v in zip(items, views, strict=True):
            dests = {(x["kind"], x["host"], x["port"]) for x in v.values() if x["ok"]}
            if len(dests) > 1:
                print(f"disagreement id={it['id']} url={it['url']!r}", file=sys.stderr)
                for k in present:
                    x = v[k]
                    text = f"{x['kind']} {x['host']} {x['port']}" if x["ok"] else f"not ok: {x['error']}"
                    print(f"    {k:22} {text}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

// JavaOracle.java: the Java oracle of the differential URL harness (see README.md here).
//
// Run as a single-file source program (Java 17), no build step:
//   java --add-exports java.base/sun.net.util=ALL-UNNAMED tests/differential/JavaOracle.java
// (the source launcher passes --add-exports to its in-memory compile as well as to the run).
//
// Reads JSONL {"id": N, "url": "..."} on stdin; writes one JSONL line per input, in order:
//   {"id": N, "views": {"java_uri": RAW}}
// RAW is {"ok": true, "scheme": S, "host": H, "port": P|null, "kind": "name"|"ipv4"|"ipv6"} or
// {"ok": false, "error": "..."}; oracles.py canonicalizes it (default port, IP text form, ...).
//
// What it models: java.net.http.HttpClient. HttpRequest.newBuilder(uri) takes a java.net.URI and
// refuses one whose getHost() is null; the connection goes to new InetSocketAddress(getHost(),
// port) (port -1 -> 80/443), i.e. InetAddress.getByName(host). This program parses with
// new URI(url) and then decides "IP literal or name" the way InetAddress.getAllByName (JDK 17u)
// does before it would ask the name service, WITHOUT any lookup, by calling the same JDK-internal
// helpers it calls, sun.net.util.IPAddressUtil (exported to this class with --add-exports):
//   - "[...]" is stripped and must then be an IPv6 literal;
//   - when the first char is a hex digit (IPAddressUtil.digit(c, 16)) or ':', the host is tried
//     as IPv4 with IPAddressUtil.validateNumericFormatV4 (Java reads 1 to 4 decimal parts, so
//     "127.1" and "2130706433" are addresses; a form that only BSD inet_aton would read, such as
//     "0x7f.1" or "0177.0.0.1" with an octal part, makes getByName throw UnknownHostException
//     "invalid IP address literal" unless -Djdk.net.allowAmbiguousIPAddressLiterals=true), then as
//     IPv6 with IPAddressUtil.textToNumericFormatV6 (which returns 4 bytes for an IPv4-mapped
//     address: Java then connects to an Inet4Address, so that is reported as ipv4); a string that
//     contains ':' and is no IPv6 literal is an error;
//   - anything else is a name for the name service (getaddrinfo on Linux; oracles.py applies
//     glibc's numeric reading to it, as for the other getaddrinfo clients).
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import sun.net.util.IPAddressUtil;

public class JavaOracle {

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 20);
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 20);
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String id;
            String url;
            try {
                Json j = new Json(line);
                j.parseInput();
                id = j.id;
                url = j.url;
            } catch (RuntimeException e) {
                System.err.println("JavaOracle: input line " + lineNo + ": " + e.getMessage());
                System.exit(2);
                return;
            }
            if (id == null || url == null) {
                System.err.println("JavaOracle: input line " + lineNo + ": needs \"id\" and \"url\"");
                System.exit(2);
            }
            out.write("{\"id\":");
            out.write(id);
            out.write(",\"views\":{\"java_uri\":");
            out.write(oracle(url));
            out.write("}}\n");
        }
        out.flush();
    }

    static String fail(String msg) {
        return "{\"ok\":false,\"error\":" + quote(msg.length() > 120 ? msg.substring(0, 120) : msg) + "}";
    }

    static String ok(String scheme, String host, int port, String kind) {
        return "{\"ok\":true,\"scheme\":" + quote(scheme) + ",\"host\":" + quote(host)
                + ",\"port\":" + (port == -1 ? "null" : quote(Integer.toString(port)))
                + ",\"kind\":" + quote(kind) + "}";
    }

    static String oracle(String url) {
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            return fail("URISyntaxException: " + e.getReason());
        }
        String scheme = u.getScheme();
        String host = u.getHost();
        if (scheme == null) {
            return fail("no scheme");
        }
        if (host == null) {
            return fail("URI.getHost() is null");
        }
        int port = u.getPort();
        // --- InetAddress.getAllByName(host), literal branch (no lookup) ---
        if (host.isEmpty()) {
            return fail("empty host");
        }
        if (host.indexOf(0) != -1) {
            return fail("NUL character not allowed in hostname");
        }
        boolean ipv6Expected = false;
        String h = host;
        if (h.charAt(0) == '[') {
            if (h.length() > 2 && h.charAt(h.length() - 1) == ']') {
                h = h.substring(1, h.length() - 1);
                ipv6Expected = true;
            } else {
                return fail("invalid IPv6 address literal");
            }
        }
        if (IPAddressUtil.digit(h.charAt(0), 16) != -1 || h.charAt(0) == ':') {
            byte[] addr = null;
            boolean zone = false;
            if (!ipv6Expected) {
                try {
                    addr = IPAddressUtil.validateNumericFormatV4(h);
                } catch (IllegalArgumentException iae) {
                    return fail("UnknownHostException: ambiguous IPv4 literal");
                }
            }
            if (addr == null) {
                zone = h.indexOf('%') != -1;
                addr = IPAddressUtil.textToNumericFormatV6(h);
                if (addr == null && (h.contains(":") || ipv6Expected)) {
                    return fail("UnknownHostException: invalid IPv6 address literal");
                }
            }
            if (addr != null) {
                if (addr.length == 4) {
                    if (zone) {
                        return fail("UnknownHostException: invalid IPv4-mapped address");
                    }
                    return ok(scheme, textOf(addr), port, "ipv4");
                }
                String text = textOf(addr);
                if (zone) {
                    // Keep the zone visible: oracles.py refuses zoned addresses.
                    text = text + h.substring(h.indexOf('%'));
                }
                return ok(scheme, text, port, "ipv6");
            }
        } else if (ipv6Expected) {
            return fail("UnknownHostException: invalid IPv6 address literal");
        }
        return ok(scheme, h, port, "name");
    }

    static String textOf(byte[] addr) {
        try {
            // getByAddress does no lookup; getHostAddress is the numeric text.
            return InetAddress.getByAddress(addr).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2);
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x7f || Character.isSurrogate(c)) {
                        // Surrogates as escapes keep the output valid JSON even for a lone one.
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }

    /** Just enough JSON to read {"id": <number>, "url": <string>} (other members are skipped). */
    static final class Json {
        final String s;
        int i;
        String id;
        String url;

        Json(String s) { this.s = s; }

        RuntimeException err(String what) { return new IllegalArgumentException(what + " at offset " + i); }

        void ws() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
        }

        char peek() {
            if (i >= s.length()) throw err("unexpected end");
            return s.charAt(i);
        }

        void expect(char c) {
            ws();
            if (peek() != c) throw err("expected '" + c + "'");
            i++;
        }

        void parseInput() {
            expect('{');
            ws();
            if (peek() == '}') { i++; return; }
            while (true) {
                ws();
                String key = string();
                expect(':');
                ws();
                int start = i;
                if (key.equals("url")) {
                    url = string();
                } else {
                    skipValue();
                    if (key.equals("id")) id = s.substring(start, i).trim();
                }
                ws();
                char c = peek();
                i++;
                if (c == '}') break;
                if (c != ',') throw err("expected ',' or '}'");
            }
        }

        String string() {
            if (peek() != '"') throw err("expected string");
            i++;
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = peek();
                i++;
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                char e = peek();
                i++;
                switch (e) {
                    case '"': b.append('"'); break;
                    case '\\': b.append('\\'); break;
                    case '/': b.append('/'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'u':
                        if (i + 4 > s.length()) throw err("short \\u escape");
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                        break;
                    default: throw err("bad escape");
                }
            }
        }

        void skipValue() {
            ws();
            char c = peek();
            if (c == '"') { string(); return; }
            if (c == '{' || c == '[') {
                char close = c == '{' ? '}' : ']';
                i++;
                ws();
                if (peek() == close) { i++; return; }
                while (true) {
                    if (close == '}') { ws(); string(); expect(':'); }
                    skipValue();
                    ws();
                    char d = peek();
                    i++;
                    if (d == close) return;
                    if (d != ',') throw err("expected ','");
                }
            }
            int start = i;
            while (i < s.length() && ",}] \t\r\n".indexOf(s.charAt(i)) < 0) i++;
            if (i == start) throw err("expected value");
        }
    }
}

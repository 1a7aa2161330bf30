// go_oracle.go: the Go oracle of the differential URL harness (see README.md in this directory).
//
// Reads JSONL {"id": N, "url": "..."} on stdin and writes one JSONL line per input, in order, on
// stdout: {"id": N, "views": {"go_url": RAW}} where RAW is either
//
//	{"ok": true, "scheme": S, "host": H, "port": P|null, "kind": "name"|"ipv4"|"ipv6"}
//
// or {"ok": false, "error": "..."}. oracles.py canonicalizes RAW (default port, lowercasing, IP
// text form); this program only reports what Go's stdlib does.
//
// What it models: net/http (http.Get, Client.Do, Transport.RoundTrip). The URL is parsed by
// url.Parse (through http.NewRequest) and sent through a real http.Transport whose DialContext
// only records the "host:port" it is asked for and fails: everything net/http does before the dial
// runs for real, including canonicalAddr (transport.go): u.Hostname(), converted with the
// golang.org/x/net/idna Lookup profile when not ASCII (that package is vendored in the Go
// distribution and cannot be imported from user code, hence this route), and u.Port() or the
// scheme's default. Then what the dialer does with the host: an IP when net.ParseIP accepts it
// (Go dials an IPv4-mapped IPv6 literal such as ::ffff:1.2.3.4 over IPv4, so that is reported as
// ipv4); a zone ("fe80::1%eth0") is passed through for oracles.py to refuse. Anything else is a
// name for Go's own resolver (pure Go, the Linux default), which answers "no such host" without
// asking DNS for a name that fails its isDomainName check (net/dnsclient.go), e.g. an
// all-numeric "2130706433": that is reported as not ok.
//
// Stdlib only; run with `go run go_oracle.go` (no module needed).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

type input struct {
	ID  json.RawMessage `json:"id"`
	URL string          `json:"url"`
}

type view struct {
	OK     bool    `json:"ok"`
	Scheme string  `json:"scheme,omitempty"`
	Host   string  `json:"host,omitempty"`
	Port   *string `json:"port,omitempty"`
	Kind   string  `json:"kind,omitempty"`
	Error  string  `json:"error,omitempty"`
}

type output struct {
	ID    json.RawMessage `json:"id"`
	Views map[string]view `json:"views"`
}

func fail(format string, args ...interface{}) view {
	return view{OK: false, Error: fmt.Sprintf(format, args...)}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isDomainName restates the check Go 1.19's resolver applies before any lookup (net/dnsclient.go):
// at most 254 bytes (255 with a trailing dot), labels of 1..63 bytes of letters, digits, '_' and
// '-' (no label starts or ends with '-'), and at least one letter, '_' or '-' somewhere.
func isDomainName(s string) bool {
	if s == "." {
		return true
	}
	l := len(s)
	if l == 0 || l > 254 || l == 254 && s[l-1] != '.' {
		return false
	}
	last := byte('.')
	nonNumeric := false
	partlen := 0
	for i := 0; i < l; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
			nonNumeric = true
			partlen++
		case '0' <= c && c <= '9':
			partlen++
		case c == '-':
			if last == '.' {
				return false
			}
			partlen++
			nonNumeric = true
		case c == '.':
			if last == '.' || last == '-' {
				return false
			}
			if partlen > 63 || partlen == 0 {
				return false
			}
			partlen = 0
		default:
			return false
		}
		last = c
	}
	if last == '-' || partlen > 63 {
		return false
	}
	return nonNumeric
}

type dialKey struct{}

// dialed receives the "host:port" that net/http's Transport asks its dialer for.
type dialed struct{ addr string }

var errRecorded = errors.New("recorded, not dialed")

// transport is a real net/http Transport whose dialer only records the address: RoundTrip then
// does everything net/http does up to the dial (scheme and Host checks, canonicalAddr with its IDNA
// conversion of a non-ASCII host via the vendored golang.org/x/net/idna Lookup profile, the
// default port) and fails at the dial, before any network use.
var transport = &http.Transport{
	Proxy:             nil,
	DisableKeepAlives: true,
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if d, ok := ctx.Value(dialKey{}).(*dialed); ok {
			d.addr = addr
		}
		return nil, errRecorded
	},
}

func oracle(raw string) view {
	// http.Get / http.NewRequest parse with url.Parse.
	u, err := url.Parse(raw)
	if err != nil {
		msg := err.Error()
		if ue, ok := err.(*url.Error); ok {
			msg = ue.Err.Error()
		}
		return fail("url.Parse: %s", msg)
	}
	d := &dialed{}
	ctx := context.WithValue(context.Background(), dialKey{}, d)
	req, err := http.NewRequestWithContext(ctx, "GET", raw, nil)
	if err != nil {
		return fail("http.NewRequest: %v", err)
	}
	resp, err := transport.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if d.addr == "" {
		if err == nil {
			return fail("no dial")
		}
		return fail("%s", strings.TrimPrefix(err.Error(), "net/http: "))
	}
	host, port, err := net.SplitHostPort(d.addr)
	if err != nil {
		return fail("dial address %q: %v", d.addr, err)
	}
	v := view{OK: true, Scheme: u.Scheme, Host: host, Port: &port}
	// What the dialer does with host: an IP literal (with an optional IPv6 zone) is dialed as is,
	// anything else goes to the resolver.
	if i := strings.IndexByte(host, '%'); i >= 0 {
		if ip := net.ParseIP(host[:i]); ip != nil && ip.To4() == nil {
			v.Kind = "ipv6"
			return v
		}
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip4 := ip.To4(); ip4 != nil {
			v.Kind = "ipv4"
			v.Host = ip4.String()
		} else {
			v.Kind = "ipv6"
			v.Host = ip.String()
		}
		return v
	}
	if !isASCII(host) {
		// canonicalAddr keeps the host as it was when idna.Lookup.ToASCII fails.
		return fail("non-ascii host (IDNA conversion failed)")
	}
	if !isDomainName(host) {
		return fail("not a domain name for Go's resolver (no such host)")
	}
	v.Kind = "name"
	return v
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	lineNo := 0
	for {
		line, err := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			lineNo++
			var inp input
			if jerr := json.Unmarshal(line, &inp); jerr != nil {
				fmt.Fprintf(os.Stderr, "go_oracle: input line %d: %v\n", lineNo, jerr)
				os.Exit(2)
			}
			if encErr := enc.Encode(output{ID: inp.ID, Views: map[string]view{"go_url": oracle(inp.URL)}}); encErr != nil {
				fmt.Fprintf(os.Stderr, "go_oracle: %v\n", encErr)
				os.Exit(2)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "go_oracle: reading stdin: %v\n", err)
			os.Exit(2)
		}
	}
}

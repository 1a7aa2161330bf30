//! Hostile-URL suite for target normalization (`Target::from_url`, `Target::from_domain`) and the internal-target
//! classifier (`special::special_target`).
//!
//! Every case states the exact outcome that is right for a security gateway and why, and is cross-checked against
//! the raw WHATWG parse (`url::Url::parse`; for `domain` inputs `http://<input>/`):
//! - when we accept, our host equals WHATWG's `host_str()` (one trailing dot removed) and, for URLs, our port
//!   and path equal WHATWG's, so the host we authorize is the host a WHATWG client connects to;
//! - when we reject, the case records what WHATWG does with the same input (`W::Host`, `W::NoHost` or
//!   `W::Err`) and the test asserts that record, so the differential is documented and cannot silently drift
//!   when the `url` crate is upgraded.
//!
//! Notes starting with `DESIGN` mark behaviour that is deliberate but debatable; see the notes themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::net::Ipv6Addr;

use egress_core::Target;
use egress_core::{special_target, SpecialKind};
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Url,
    Domain,
}

/// What a plain WHATWG parse does with the input.
#[derive(Debug)]
enum W {
    /// Parses, with this `host_str()`.
    Host(&'static str),
    /// Parses, without a host (`javascript:`, `data:`, `file:///`...).
    NoHost,
    /// Fails, with this `ParseError` message.
    Err(&'static str),
}

#[derive(Debug)]
enum Expect {
    /// Accepted: the exact `Target` display string and the `special_target` verdict.
    Ok {
        target: String,
        special: Option<SpecialKind>,
    },
    /// Rejected with this `NormalizeError::code()`; `whatwg` documents what a WHATWG parser does instead.
    Err { code: &'static str, whatwg: W },
}

#[derive(Debug)]
struct Case {
    kind: Kind,
    input: String,
    expect: Expect,
    note: &'static str,
}

fn u(input: impl Into<String>, expect: Expect, note: &'static str) -> Case {
    Case {
        kind: Kind::Url,
        input: input.into(),
        expect,
        note,
    }
}

fn d(input: impl Into<String>, expect: Expect, note: &'static str) -> Case {
    Case {
        kind: Kind::Domain,
        input: input.into(),
        expect,
        note,
    }
}

fn ok(target: impl Into<String>, special: Option<SpecialKind>) -> Expect {
    Expect::Ok {
        target: target.into(),
        special,
    }
}

fn err(code: &'static str, whatwg: W) -> Expect {
    Expect::Err { code, whatwg }
}

const E_V4: &str = "invalid IPv4 address";
const E_V6: &str = "invalid IPv6 address";
const E_IDN: &str = "invalid international domain name";
const E_EMPTY: &str = "empty host";
const E_PORT: &str = "invalid port number";
const E_REL: &str = "relative URL without a base";

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use SpecialKind::*;
    use W::{Host as H, NoHost};
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets: the longest DNS name; one more octet is one too many.
    let host253 = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
    let host254 = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62));
    // 57 x `ü` is 114 UTF-8 octets but 63 octets as punycode (`xn--tdaa…`); 58 x `ü` is 64 punycode octets.
    let u57 = "ü".repeat(57);
    let u58 = "ü".repeat(58);
    let ace57 = format!("xn--td{}", "a".repeat(57));
    let ace58 = format!("xn--td{}", "a".repeat(58));
    let long_path = format!("https://example.com/{}", "a".repeat(8200));
    let long_domain = format!("{}.com", "a".repeat(400));
    let wide110 = format!("{}.{}.com", "ｅ".repeat(60), "ｅ".repeat(50));
    let ascii110 = format!("{}.{}.com", "e".repeat(60), "e".repeat(50));
    let ignored200 = format!("exa{}mple.com", "\u{034F}".repeat(200));

    vec![
        // ---- IPv4 encodings: every WHATWG form lands on one canonical address, and special.rs sees that ----
        u("http://127.0.0.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "dotted quad loopback"),
        u("http://2130706433/", ok("http://127.0.0.1:80/", Some(Loopback)), "single decimal number"),
        u("http://0x7f000001/", ok("http://127.0.0.1:80/", Some(Loopback)), "single hex number"),
        u("http://0X7F000001/", ok("http://127.0.0.1:80/", Some(Loopback)), "uppercase hex prefix and digits"),
        u("http://017700000001/", err("ambiguous_ipv4", W::Host("127.0.0.1")), "single octal number"),
        u("http://0177.0.0.1/", err("ambiguous_ipv4", W::Host("127.0.0.1")), "octal first part"),
        u("http://0x7f.0.0.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "hex first part"),
        u("http://0x7f.0x0.0x0.0x1/", ok("http://127.0.0.1:80/", Some(Loopback)), "every part hex"),
        u("http://0177.0x0.0.01/", err("ambiguous_ipv4", W::Host("127.0.0.1")), "mixed octal, hex and decimal parts"),
        u("http://127.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "two-part short form: last part fills 24 bits"),
        u("http://127.0.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "three-part short form"),
        u("http://0x7f.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "hex short form"),
        u("http://0x7f.1:80/", ok("http://127.0.0.1:80/", Some(Loopback)), "hex short form with explicit default port"),
        u("http://0ｘ7f.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "fullwidth x maps to x before the IPv4 parser"),
        u("http://127.0.0.1./", ok("http://127.0.0.1:80/", Some(Loopback)), "one trailing dot is allowed on IPv4"),
        u("http://0x7f.0x00.0x00.0x01./", ok("http://127.0.0.1:80/", Some(Loopback)), "hex parts and trailing dot"),
        u("http://127.0.0.1../", err("empty_label", H("127.0.0.1..")), "two trailing dots: WHATWG falls back to a domain (not ends-in-number); an empty label is never a DNS name"),
        u("http://127.0.0.1:8080/", ok("http://127.0.0.1:8080/", Some(Loopback)), "loopback on another port"),
        u("http://00000000000000000000177.0.0.1/", err("ambiguous_ipv4", W::Host("127.0.0.1")), "many leading zeros are still octal 0177"),
        u("http://0x0000000000007f.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "hex with many leading zeros"),
        u("http://000000000000000000000000000000000000000000001/", err("ambiguous_ipv4", W::Host("0.0.0.1")), "long zero-padded number is 1, inside 0.0.0.0/8"),
        u("http://256.0.0.1/", err("invalid_ip", W::Err(E_V4)), "part over 255"),
        u("http://1.2.3.256/", err("invalid_ip", W::Err(E_V4)), "last part over 255 with four parts"),
        u("http://0x100000000/", err("invalid_ip", W::Err(E_V4)), "hex number over 32 bits"),
        u("http://4294967296/", err("invalid_ip", W::Err(E_V4)), "decimal number over 32 bits"),
        u("http://4294967295/", ok("http://255.255.255.255:80/", Some(Broadcast)), "largest 32-bit number"),
        u("http://0xffffffff/", ok("http://255.255.255.255:80/", Some(Broadcast)), "largest 32-bit number in hex"),
        u("http://1.2.3.4.5/", err("invalid_ip", W::Err(E_V4)), "five numeric parts"),
        u("http://1.1.1.1.1/", err("invalid_ip", W::Err(E_V4)), "five numeric parts, every one valid"),
        u("http://1.2.3.0x100/", err("invalid_ip", W::Err(E_V4)), "hex last part over 255 with four parts"),
        u("http://1.2.65535/", err("ambiguous_ipv4", W::Host("1.2.255.255")), "three parts: last one fills 16 bits to WHATWG; Go and Java resolve it as a DNS name (was accepted: refused since the parsers disagree)"),
        u("http://1.16777215/", err("ambiguous_ipv4", W::Host("1.255.255.255")), "two parts: last one fills 24 bits to WHATWG; a DNS name to Go and Java (was accepted)"),
        u("http://0/", ok("http://0.0.0.0:80/", Some(Unspecified)), "a lone 0 is the unspecified address"),
        u("http://0x/", ok("http://0.0.0.0:80/", Some(Unspecified)), "an empty hex number is 0 in WHATWG"),
        u("http://0.1/", ok("http://0.0.0.1:80/", Some(Unspecified)), "0.0.0.0/8 is 'this network', not only 0.0.0.0"),
        u("http://0.0.0.0/", ok("http://0.0.0.0:80/", Some(Unspecified)), "unspecified: many stacks connect it to localhost"),
        u("http://0x0.0x0.0x0.0x0/", ok("http://0.0.0.0:80/", Some(Unspecified)), "unspecified in hex"),
        u("http://08/", err("invalid_ip", W::Err(E_V4)), "leading zero makes it octal and 8 is not an octal digit"),
        u("http://1.2.3.09/", err("invalid_ip", W::Err(E_V4)), "invalid octal part"),
        u("http://00x7f.1/", err("invalid_ip", W::Err(E_V4)), "0 then 0x7f: octal with non-octal digits"),
        u("http://010.0.0.1/", err("ambiguous_ipv4", W::Host("8.0.0.1")), "octal parts: 8.0.0.1 to WHATWG, 10.0.0.1 to decimal-reading parsers; refused"),
        u("http://0x08.0.0.1/", err("ambiguous_ipv4", W::Host("8.0.0.1")), "hex part: Java and Go do not read hex and resolve it as a name (was accepted)"),
        u("http://0x1.0x1.0x1.0x1/", err("ambiguous_ipv4", W::Host("1.1.1.1")), "public address in hex parts: a DNS name to Java and Go (was accepted)"),
        u("http://169.254.169.254/", ok("http://169.254.169.254:80/", Some(CloudMetadata)), "EC2/GCP/Azure instance metadata"),
        u("http://0xa9fea9fe/", ok("http://169.254.169.254:80/", Some(CloudMetadata)), "metadata as one hex number"),
        u("http://2852039166/", ok("http://169.254.169.254:80/", Some(CloudMetadata)), "metadata as one decimal number"),
        u("http://0251.0376.0251.0376/", err("ambiguous_ipv4", W::Host("169.254.169.254")), "metadata in octal parts"),
        u("http://169.254.43518/", ok("http://169.254.169.254:80/", Some(CloudMetadata)), "metadata short form (43518 = 0xa9fe)"),
        u("http://169.254.170.2/", ok("http://169.254.170.2:80/", Some(CloudMetadata)), "ECS task metadata / credentials endpoint"),
        u("http://169.254.1.1/", ok("http://169.254.1.1:80/", Some(LinkLocal)), "link-local"),
        u("http://192.0.0.192/", ok("http://192.0.0.192:80/", Some(ProtocolAssignment)), "Oracle Cloud metadata sits in 192.0.0.0/24"),
        u("http://100.100.100.200/", ok("http://100.100.100.200:80/", Some(SharedAddressSpace)), "Alibaba Cloud metadata sits in CGNAT 100.64.0.0/10"),
        u("http://100.64.0.1/", ok("http://100.64.0.1:80/", Some(SharedAddressSpace)), "CGNAT"),
        u("http://10.0.0.1/", ok("http://10.0.0.1:80/", Some(Private)), "RFC 1918"),
        u("http://012.1/", err("ambiguous_ipv4", W::Host("10.0.0.1")), "RFC 1918 in octal short form"),
        u("http://172.16.0.1/", ok("http://172.16.0.1:80/", Some(Private)), "RFC 1918 172.16/12"),
        u("http://192.168.1.1/", ok("http://192.168.1.1:80/", Some(Private)), "RFC 1918 192.168/16"),
        u("http://3232235777/", ok("http://192.168.1.1:80/", Some(Private)), "RFC 1918 as one decimal number"),
        u("http://224.0.0.1/", ok("http://224.0.0.1:80/", Some(Multicast)), "multicast"),
        u("http://255.255.255.255/", ok("http://255.255.255.255:80/", Some(Broadcast)), "limited broadcast"),
        u("http://8.8.8.8/", ok("http://8.8.8.8:80/", None), "public address"),
        u("http://134744072/", err("ambiguous_ipv4", W::Host("8.8.8.8")), "public address as one decimal number: a single-label DNS name to Go, expanded by search domains (was accepted)"),
        u("http://1.1.1.1:443/", ok("http://1.1.1.1:443/", None), "public address, http on 443"),
        u("http://168.63.129.16/", ok("http://168.63.129.16:80/", None), "DESIGN: Azure WireServer is a public address reachable only from inside Azure; not special (AWS platform)"),
        u("http://１２７.０.０.１/", ok("http://127.0.0.1:80/", Some(Loopback)), "fullwidth digits and dots map to ASCII before the IPv4 parser"),
        u("http://①②⑦.0.0.1/", ok("http://127.0.0.1:80/", Some(Loopback)), "circled digits map to ASCII digits (UTS-46)"),
        u("http://127。0。0。1/", ok("http://127.0.0.1:80/", Some(Loopback)), "ideographic full stops are label separators"),
        // Ends-in-number: a host whose last label is numeric must be an IPv4 address, or nothing.
        u("http://example.1/", err("invalid_ip", W::Err(E_V4)), "ends in a number but is not an address"),
        u("http://example.0x1/", err("invalid_ip", W::Err(E_V4)), "ends in a hex number"),
        u("http://foo.09/", err("invalid_ip", W::Err(E_V4)), "ends in an invalid octal number: still not a domain"),
        u("http://example.1a/", ok("http://example.1a:80/", None), "last label is not a number: a domain"),
        u("http://0x7f.0.0.0x1g/", ok("http://0x7f.0.0.0x1g:80/", None), "0x1g is not a hex number, so the whole host is a domain"),
        u("http://1e1/", ok("http://1e1:80/", Some(SingleLabelName)), "not a number in any base: a single-label name"),
        u("http://0x7f.0.0.1.example.com/", ok("http://0x7f.0.0.1.example.com:80/", None), "IP-looking labels under a real domain are just labels"),
        u("http://127.0.0.1.nip.io/", ok("http://127.0.0.1.nip.io:80/", None), "DESIGN: resolves to 127.0.0.1 through public DNS; the name alone cannot tell, connect-time IP checks must"),

        // ---- IPv6 forms ----
        u("http://[::1]/", ok("http://[::1]:80/", Some(Loopback)), "loopback"),
        u("http://[0:0:0:0:0:0:0:1]/", ok("http://[::1]:80/", Some(Loopback)), "loopback uncompressed, serialized compressed"),
        u("http://[0000:0000::0001]/", ok("http://[::1]:80/", Some(Loopback)), "loopback with leading zeros"),
        u("http://[::1]:80/", ok("http://[::1]:80/", Some(Loopback)), "explicit default port"),
        u("http://[::1]:/", ok("http://[::1]:80/", Some(Loopback)), "empty port after IPv6"),
        u("http://[::]/", ok("http://[::]:80/", Some(Unspecified)), "unspecified"),
        u("http://[::2]/", ok("http://[::2]:80/", Some(Unspecified)), "IPv4-compatible ::0.0.0.2, inside 0.0.0.0/8"),
        u("http://[::ffff:127.0.0.1]/", ok("http://[::ffff:7f00:1]:80/", Some(Loopback)), "IPv4-mapped loopback, dotted tail serialized as hex"),
        u("http://[::ffff:7f00:1]/", ok("http://[::ffff:7f00:1]:80/", Some(Loopback)), "IPv4-mapped loopback in hex"),
        u("http://[0:0:0:0:0:ffff:7f00:1]/", ok("http://[::ffff:7f00:1]:80/", Some(Loopback)), "IPv4-mapped uncompressed"),
        u("http://[0::ffff:7f00:0001]/", ok("http://[::ffff:7f00:1]:80/", Some(Loopback)), "IPv4-mapped with padded groups"),
        u("http://[::FFFF:7F00:1]/", ok("http://[::ffff:7f00:1]:80/", Some(Loopback)), "uppercase hex"),
        u("http://[::ffff:127.0.0.1]:8080/", ok("http://[::ffff:7f00:1]:8080/", Some(Loopback)), "IPv4-mapped with port"),
        u("http://[::ffff:169.254.169.254]/", ok("http://[::ffff:a9fe:a9fe]:80/", Some(CloudMetadata)), "IPv4-mapped metadata"),
        u("http://[::ffff:a9fe:a9fe]/", ok("http://[::ffff:a9fe:a9fe]:80/", Some(CloudMetadata)), "IPv4-mapped metadata in hex"),
        u("http://[::ffff:0:0]/", ok("http://[::ffff:0:0]:80/", Some(Unspecified)), "IPv4-mapped 0.0.0.0"),
        u("http://[::ffff:ffff:ffff]/", ok("http://[::ffff:ffff:ffff]:80/", Some(Broadcast)), "IPv4-mapped broadcast"),
        u("http://[::ffff:8.8.8.8]/", ok("http://[::ffff:808:808]:80/", Some(Reserved)), "IPv4-mapped public address: denied anyway, it is a socket-API artefact, not a route"),
        u("http://[::127.0.0.1]/", ok("http://[::7f00:1]:80/", Some(Loopback)), "deprecated IPv4-compatible loopback"),
        u("http://[::8.8.8.8]/", ok("http://[::808:808]:80/", Some(Reserved)), "deprecated IPv4-compatible public address"),
        u("http://[::1.2.3.4]/", ok("http://[::102:304]:80/", Some(Reserved)), "IPv4-compatible"),
        u("http://[::ffff:0:127.0.0.1]/", ok("http://[::ffff:0:7f00:1]:80/", Some(Loopback)), "IPv4-translated ::ffff:0:0:0/96"),
        u("http://[64:ff9b::127.0.0.1]/", ok("http://[64:ff9b::7f00:1]:80/", Some(Loopback)), "NAT64 well-known prefix embedding loopback"),
        u("http://[64:ff9b::a9fe:a9fe]/", ok("http://[64:ff9b::a9fe:a9fe]:80/", Some(CloudMetadata)), "NAT64 embedding metadata"),
        u("http://[64:ff9b::8.8.8.8]/", ok("http://[64:ff9b::808:808]:80/", None), "NAT64 of a public address is a normal destination"),
        u("http://[64:ff9b:1::1]/", ok("http://[64:ff9b:1::1]:80/", Some(LocalUseNat64)), "local-use NAT64 translates into the operator's network"),
        u("http://[2002:7f00:1::]/", ok("http://[2002:7f00:1::]:80/", Some(Loopback)), "6to4 embedding 127.0.0.1"),
        u("http://[2002:a9fe:a9fe::1]/", ok("http://[2002:a9fe:a9fe::1]:80/", Some(CloudMetadata)), "6to4 embedding metadata"),
        u("http://[2002:808:808::1]/", ok("http://[2002:808:808::1]:80/", None), "6to4 embedding a public address"),
        u("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", ok("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]:80/", Some(Teredo)), "Teredo: tunnel to an arbitrary IPv4 endpoint"),
        u("http://[fc00::1]/", ok("http://[fc00::1]:80/", Some(UniqueLocal)), "ULA fc00::/7 low half"),
        u("http://[fd12:3456::1]/", ok("http://[fd12:3456::1]:80/", Some(UniqueLocal)), "ULA fd00::/8"),
        u("http://[fe80::1]/", ok("http://[fe80::1]:80/", Some(LinkLocal)), "link-local"),
        u("http://[fe80::]/", ok("http://[fe80::]:80/", Some(LinkLocal)), "link-local prefix itself"),
        u("http://[FE80::1]/", ok("http://[fe80::1]:80/", Some(LinkLocal)), "link-local uppercase"),
        u("http://[fe80::1]:8080/x", ok("http://[fe80::1]:8080/x", Some(LinkLocal)), "link-local with port and path"),
        u("http://[fe80::1%25eth0]/", err("percent_encoded_host", W::Err(E_V6)), "zone id (RFC 6874 form): WHATWG rejects it too"),
        u("http://[fe80::1%eth0]/", err("percent_encoded_host", W::Err(E_V6)), "raw zone id"),
        u("http://[::1%5d/", err("percent_encoded_host", W::Err(E_V6)), "percent-encoded closing bracket"),
        u("http://[fec0::1]/", ok("http://[fec0::1]:80/", Some(SiteLocal)), "deprecated site-local"),
        u("http://[ff02::1]/", ok("http://[ff02::1]:80/", Some(Multicast)), "multicast all-nodes"),
        u("http://[ff00::]/", ok("http://[ff00::]:80/", Some(Multicast)), "multicast prefix itself"),
        u("http://[fd00:ec2::254]/", ok("http://[fd00:ec2::254]:80/", Some(CloudMetadata)), "EC2 IPv6 instance metadata"),
        u("http://[fd00:ec2:0:0:0:0:0:254]/", ok("http://[fd00:ec2::254]:80/", Some(CloudMetadata)), "EC2 IPv6 metadata uncompressed"),
        u("http://[fd00:ec2::253]/", ok("http://[fd00:ec2::253]:80/", Some(UniqueLocal)), "EC2 IPv6 DNS resolver: ULA"),
        u("http://[100::1]/", ok("http://[100::1]:80/", Some(Discard)), "discard-only 100::/64"),
        u("http://[2001:db8::1]/", ok("http://[2001:db8::1]:80/", Some(Documentation)), "documentation"),
        u("http://[2001:db8::ffff:7f00:1]/", ok("http://[2001:db8::ffff:7f00:1]:80/", Some(Documentation)), "documentation prefix wins over a dotted-looking tail"),
        u("http://[3fff::1]/", ok("http://[3fff::1]:80/", Some(Documentation)), "documentation 3fff::/20 (RFC 9637)"),
        u("http://[2001:2::1]/", ok("http://[2001:2::1]:80/", Some(Benchmarking)), "benchmarking 2001:2::/48"),
        u("http://[2606:4700:4700::1111]/", ok("http://[2606:4700:4700::1111]:80/", None), "public IPv6"),
        u("http://[2606:4700:4700::1111]:8443/x", ok("http://[2606:4700:4700::1111]:8443/x", None), "public IPv6 with port and path"),
        u("http://[1:2:3:4:5:6:7::]/", ok("http://[1:2:3:4:5:6:7:0]:80/", None), "`::` standing for a single zero group"),
        u("http://[::1/", err("invalid_ip", W::Err(E_V6)), "unterminated bracket"),
        u("http://[::1]]/", err("invalid_ip", W::Err(E_V6)), "extra closing bracket"),
        u("http://[::1].evil.com/", err("invalid_ip", W::Err(E_V6)), "text after the closing bracket"),
        u("http://[::ffff:7f00:1]./", err("invalid_ip", W::Err(E_V6)), "trailing dot after an IPv6 literal"),
        u("http://[::1]。/", err("invalid_ip", W::Err(E_V6)), "ideographic dot after an IPv6 literal"),
        u("http://::1/", err("empty_host", W::Err(E_EMPTY)), "unbracketed IPv6 in a URL: the host would be empty"),
        u("http://[1:2:3:4:5:6:7:8:9]/", err("invalid_ip", W::Err(E_V6)), "nine groups"),
        u("http://[::ffff:1.2.3.4.5]/", err("invalid_ip", W::Err(E_V6)), "five-part embedded IPv4"),
        u("http://[::ffff:0177.0.0.1]/", err("invalid_ip", W::Err(E_V6)), "no octal inside IPv6"),
        u("http://[::ffff:127.1]/", err("invalid_ip", W::Err(E_V6)), "no short IPv4 forms inside IPv6"),
        u("http://[v1.fe80::a+en1]/", err("invalid_ip", W::Err(E_V6)), "IPvFuture is not supported"),

        // ---- Client stacks that disagree (the differential harness, tests/tests/differential.rs, checks the rest) ----
        u("http://169.254.169.254\u{1806}/", err("ambiguous_idn", H("169.254.169.xn--254-lxt")), "IDNA2003 (Python's http.client) maps U+1806 to nothing and reaches the metadata address; UTS-46 keeps it in a punycode name"),
        u("http://exa\u{1806}mple.com/", err("ambiguous_idn", H("xn--example-tl3b.com")), "U+1806: example.com for Python's stdlib, a punycode name for WHATWG (Node's ada refuses it)"),
        u("http://０１０.０.０.１/", err("ambiguous_ipv4", H("8.0.0.1")), "fullwidth digits hide a leading zero: octal 8.0.0.1 to WHATWG, 10.0.0.1 to decimal readers"),
        u("http://0\u{034F}10.0.0.1/", err("ambiguous_ipv4", H("8.0.0.1")), "an ignorable character between digits hides a leading zero too"),
        u("http://８.８.８.８/", err("ambiguous_ipv4", H("8.8.8.8")), "mapped digits of a public address: a name or an error outside UTS-46"),
        u("http://①.②.③.④/", err("ambiguous_ipv4", H("1.2.3.4")), "circled digits of a public address"),
        u("http://8.8.8.8./", err("ambiguous_ipv4", H("8.8.8.8")), "a trailing dot makes it a DNS name for getaddrinfo and Go"),
        u("http://1.2.3.4。/", err("ambiguous_ipv4", H("1.2.3.4")), "an ideographic trailing dot: the same"),
        u("https://faẞ.de/", err("ambiguous_idn", H("xn--fa-hia.de")), "capital sharp s: ß (non-transitional) or ss (transitional, IDNA2003, Node 20)"),
        u("https://ὀδυσσεύς.gr/", err("ambiguous_idn", H("xn--pxac3bcak3d8526a.gr")), "final sigma ς is a deviation character"),
        u("https://exampl\u{03A3}.com/", err("ambiguous_idn", H("xn--exampl-g1e.com")), "urllib3 lowercases label by label: a label-final Σ becomes ς, UTS-46 maps it to σ"),
        u("https://ΑΣΒ.com/", ok("https://xn--mxac4c.com:443/", None), "Σ inside a label is σ for every stack: no final sigma, no disagreement"),
        u("http://example.com:0/x", err("invalid_port", H("example.com")), "port 0: requests connects to the default port instead"),

        // ---- IDN and homographs: matching is on the punycode form, so a homograph never matches the real name ----
        u("https://аpple.com/", ok("https://xn--pple-43d.com:443/", None), "Cyrillic а: a different name, never matches a rule for apple.com"),
        u("https://xn--pple-43d.com/", ok("https://xn--pple-43d.com:443/", None), "the same homograph written as punycode"),
        u("https://xn--80ak6aa92e.com/", ok("https://xn--80ak6aa92e.com:443/", None), "whole-script Cyrillic homograph of apple.com in punycode"),
        u("https://pаypal.com/", ok("https://xn--pypal-4ve.com:443/", None), "mixed-script label: UTS-46 does not reject it, matching on punycode keeps it harmless"),
        u("http://sub.exаmple.com/", ok("http://sub.xn--exmple-4nf.com:80/", None), "homograph in the registrable label, not under example.com"),
        u("https://bücher.de/", ok("https://xn--bcher-kva.de:443/", None), "IDN to punycode"),
        u("https://BÜCHER.DE/", ok("https://xn--bcher-kva.de:443/", None), "uppercase Unicode is case-folded"),
        u("https://XN--BCHER-KVA.DE/", ok("https://xn--bcher-kva.de:443/", None), "uppercase punycode is lowercased"),
        u("https://xn--bcher-kva.de/", ok("https://xn--bcher-kva.de:443/", None), "punycode input is already canonical"),
        u("https://ΑΒΓ.com/", ok("https://xn--mxacd.com:443/", None), "uppercase Greek is case-folded"),
        u("https://İstanbul.com/", ok("https://xn--istanbul-o0e.com:443/", None), "dotted capital I folds to i + combining dot, not to ASCII i"),
        u("https://faß.de/", err("ambiguous_idn", W::Host("xn--fa-hia.de")), "ß is kept by non-transitional UTS-46 (browsers) but IDNA2003 (Python) and transitional clients fetch fass.de (was accepted)"),
        u("https://xn--fa-hia.de/", ok("https://xn--fa-hia.de:443/", None), "punycode of faß.de"),
        u("https://☃.net/", ok("https://xn--n3h.net:443/", None), "symbol label"),
        u("https://💩.la/", ok("https://xn--ls8h.la:443/", None), "emoji label"),
        u("https://xn--ls8h.la/", ok("https://xn--ls8h.la:443/", None), "emoji label as punycode"),
        u("https://\u{1F1FA}\u{1F1F8}.com/", ok("https://xn--w77hd.com:443/", None), "regional-indicator flag emoji"),
        u("https://مثال.إختبار/", ok("https://xn--mgbh0fb.xn--kgbechtv:443/", None), "right-to-left IDN that satisfies the bidi rule"),
        u("https://a\u{05D0}.com/", err("invalid_idn", W::Err(E_IDN)), "LTR and RTL mixed in one label violates the bidi rule"),
        u("https://example。com/", ok("https://example.com:443/", None), "U+3002 ideographic full stop is a dot"),
        u("https://example．com/", ok("https://example.com:443/", None), "U+FF0E fullwidth full stop is a dot"),
        u("https://example｡com/", ok("https://example.com:443/", None), "U+FF61 halfwidth ideographic full stop is a dot"),
        u("https://example.com\u{3002}/", ok("https://example.com:443/", None), "ideographic trailing dot is a trailing dot"),
        u("http://example．．com/", err("empty_label", H("example..com")), "two fullwidth dots make an empty label"),
        u("http://example.com.\u{3002}/", err("empty_label", H("example.com..")), "ASCII dot then ideographic dot: two trailing dots"),
        u("http://example\u{FE52}com/", err("invalid_idn", W::Err(E_IDN)), "U+FE52 small full stop is disallowed, not a dot"),
        u("http://example\u{2024}com/", err("invalid_idn", W::Err(E_IDN)), "U+2024 one dot leader is disallowed, not a dot"),
        u("https://ｅｘａｍｐｌｅ.com/", ok("https://example.com:443/", None), "fullwidth letters fold to ASCII"),
        u("https://ＥＸＡＭＰＬＥ．ＣＯＭ/", ok("https://example.com:443/", None), "fullwidth uppercase letters and dot"),
        u("http://ex＿ample.com/", ok("http://ex_ample.com:80/", None), "fullwidth low line folds to underscore"),
        u("https://ｌｏｃａｌｈｏｓｔ/", ok("https://localhost:443/", Some(Loopback)), "fullwidth localhost is localhost"),
        u("http://localhost。/", ok("http://localhost:80/", Some(Loopback)), "localhost with an ideographic trailing dot"),
        u("http://lоcalhost/", ok("http://xn--lcalhost-nbh:80/", Some(SingleLabelName)), "Cyrillic о: not localhost, but still a single-label name"),
        u("https://Ⅸ.com/", ok("https://ix.com:443/", None), "roman numeral nine folds to ix"),
        u("https://ǅ.com/", ok("https://xn--d-toa.com:443/", None), "titlecase digraph folds to d + ž"),
        u("https://ﬁ.com/", ok("https://fi.com:443/", None), "ligature folds to fi"),
        u("https://exa\u{0301}mple.com/", ok("https://xn--exmple-qta.com:443/", None), "combining accent is composed (NFC) into á"),
        u("https://xn--/", err("invalid_idn", W::Err(E_IDN)), "empty punycode label"),
        u("https://xn--a.com/", err("invalid_idn", W::Err(E_IDN)), "punycode that decodes to a disallowed code point"),
        u("https://xn--ab-.com/", err("invalid_idn", W::Err(E_IDN)), "malformed punycode"),
        u("http://xn--localhost-xx/", err("invalid_idn", W::Err(E_IDN)), "invalid punycode that looks like localhost"),
        u("http://localhost.xn--/", err("invalid_idn", W::Err(E_IDN)), "empty punycode TLD"),
        u("https://ab--cd.com/", ok("https://ab--cd.com:443/", None), "hyphens in positions 3-4 outside xn-- are allowed (CheckHyphens=false)"),
        u("https://ex%C3%A4mple.com/", err("percent_encoded_host", H("xn--exmple-cua.com")), "percent-encoded UTF-8 in the host"),
        u("https://℀.com/", err("invalid_idn", W::Err(E_IDN)), "U+2100 folds to a/c: a slash inside the host"),
        u("https://exa／mple.com/", err("invalid_idn", W::Err(E_IDN)), "fullwidth solidus folds to a forbidden /"),
        u("http://example.com\u{2215}evil.com/", ok("http://example.xn--comevil-ef0d.com:80/", None), "division slash is not a slash: the real registrable domain shows in punycode"),
        u("http://example.com\u{2044}evil.com/", ok("http://example.xn--comevil-3d7c.com:80/", None), "fraction slash is not a slash either"),
        u("https://example.com＠evil.com/", err("invalid_idn", W::Err(E_IDN)), "fullwidth @ folds to a forbidden @"),
        u("http://example.com\u{FE6B}evil.com/", err("invalid_idn", W::Err(E_IDN)), "small commercial at folds to a forbidden @"),
        u("https://evil.com＃.example.com/", err("invalid_idn", W::Err(E_IDN)), "fullwidth # folds to a forbidden #"),
        u("https://example.com：80/", err("invalid_idn", W::Err(E_IDN)), "fullwidth colon is not a port separator"),
        u("http://example.com\u{FF1F}x/", err("invalid_idn", W::Err(E_IDN)), "fullwidth ? folds to a forbidden ?"),
        u("http://example.com\u{FE56}x/", err("invalid_idn", W::Err(E_IDN)), "small question mark folds to a forbidden ?"),
        u("http://ｅｘａｍｐｌｅ．ｃｏｍ％２ｆ/", err("invalid_idn", W::Err(E_IDN)), "fullwidth %2f folds to a forbidden % and is never decoded"),
        u("https://\u{2488}example.com/", err("invalid_idn", W::Err(E_IDN)), "U+2488 digit-one-full-stop is disallowed"),
        u("https://ex\u{E0041}ample.com/", err("invalid_idn", W::Err(E_IDN)), "tag character"),
        // Invisible characters: bidi controls and Cf format characters are rejected outright; UTS-46 `ignored`
        // code points vanish, so the only host anyone can reach with them is the visible one.
        u("https://ex\u{00AD}ample.com/", err("control_or_whitespace", H("example.com")), "soft hyphen: WHATWG silently drops it"),
        u("https://ex\u{200B}ample.com/", err("control_or_whitespace", H("example.com")), "zero-width space: WHATWG silently drops it"),
        u("https://ex\u{200D}ample.com/", err("control_or_whitespace", W::Err(E_IDN)), "zero-width joiner"),
        u("https://ex\u{FEFF}ample.com/", err("control_or_whitespace", H("example.com")), "BOM inside the host: WHATWG drops it"),
        u("https://\u{202E}moc.elpmaxe/", err("control_or_whitespace", W::Err(E_IDN)), "right-to-left override displays as example.com"),
        u("https://ex\u{2066}ample.com/", err("control_or_whitespace", W::Err(E_IDN)), "left-to-right isolate"),
        u("https://example.com\u{200F}/", err("control_or_whitespace", W::Err(E_IDN)), "right-to-left mark"),
        u("https://ex\u{034F}ample.com/", ok("https://example.com:443/", None), "combining grapheme joiner is ignored by UTS-46: same host"),
        u("https://example\u{FE0F}.com/", ok("https://example.com:443/", None), "variation selector is ignored by UTS-46: same host"),
        u("http://ex\u{180B}ample.com/", ok("http://example.com:80/", None), "Mongolian free variation selector is ignored"),
        u("http://ex\u{17B4}ample.com/", err("ambiguous_idn", H("example.com")), "Khmer inherent vowel is ignored by UTS-46 but kept by IDNA2003: Python fetches a punycode name (was accepted)"),
        u("http://ex\u{1D173}ample.com/", err("ambiguous_idn", H("example.com")), "musical symbol begin beam is ignored by UTS-46, prohibited by IDNA2003 (C.2.2): no single reading (was accepted)"),
        u("http://ex\u{E0100}ample.com/", err("ambiguous_idn", H("example.com")), "supplementary variation selector is ignored by UTS-46; unassigned in Unicode 3.2, so IDNA2003 keeps it in a punycode name (was accepted)"),
        u("http://ex\u{3164}ample.com/", err("ambiguous_idn", H("example.com")), "Hangul filler is ignored by UTS-46; IDNA2003 keeps it (NFKC to U+1160) in a punycode name (was accepted)"),
        u("http://ex\u{115F}ample.com/", err("ambiguous_idn", H("example.com")), "Hangul choseong filler is ignored by UTS-46, kept by IDNA2003 (was accepted)"),
        u("http://ex\u{FFA0}ample.com/", err("ambiguous_idn", H("example.com")), "halfwidth Hangul filler is ignored by UTS-46, kept by IDNA2003 (NFKC to U+1160) (was accepted)"),
        u("http://ex\u{2800}ample.com/", ok("http://xn--example-nb0e.com:80/", None), "braille blank looks like a space but is a valid letter: a different host, visible in punycode"),

        // ---- userinfo in every form: rejected, it may carry secrets and it is the classic host confusion ----
        u("http://user@example.com/", err("userinfo", H("example.com")), "user only"),
        u("http://user:pass@example.com/", err("userinfo", H("example.com")), "user and password"),
        u("http://:@example.com/", err("userinfo", H("example.com")), "empty user and password"),
        u("http://@example.com/", err("userinfo", H("example.com")), "empty userinfo"),
        u("http://@@example.com/", err("userinfo", H("example.com")), "two @"),
        u("http://a@b@example.com/", err("userinfo", H("example.com")), "WHATWG splits at the last @, others at the first"),
        u("http://example.com@evil.com/", err("userinfo", H("evil.com")), "the trusted name is only the username"),
        u("http://example.com:@evil.com/", err("userinfo", H("evil.com")), "trusted name as username with empty password"),
        u("http://127.0.0.1:80@evil.com/", err("userinfo", H("evil.com")), "host:port-looking userinfo"),
        u("http://user:pass@127.0.0.1/", err("userinfo", H("127.0.0.1")), "credentials to an internal host"),
        u("http://a:b:c@d/", err("userinfo", H("d")), "colons in the password"),
        u("http://[::1]@evil.com/", err("userinfo", H("evil.com")), "IPv6-looking userinfo"),
        u("http://user%40example.com@evil.com/", err("userinfo", H("evil.com")), "percent-encoded @ inside userinfo"),
        u("http://example.com%40evil.com/", err("percent_encoded_host", W::Err(E_IDN)), "percent-encoded @ in the host"),
        u("http://evil.com#@example.com/", ok("http://evil.com:80/", None), "# ends the authority: the host is evil.com, as every parser agrees"),
        u("http://evil.com:80#@example.com/", ok("http://evil.com:80/", None), "port then fragment holding @"),
        u("http://evil.com?@example.com/", ok("http://evil.com:80/", None), "? ends the authority: the host is evil.com"),
        u("http://evil.com/@example.com", ok("http://evil.com:80/@example.com", None), "@ in the path is only a path"),
        u("http://user\\@example.com/", err("backslash", H("user")), "userinfo with backslash: WHATWG sees host `user`, RFC 3986 sees example.com"),
        u("http://example.com\\@evil.com/", err("backslash", H("example.com")), "backslash before @: WHATWG sees example.com, RFC 3986 sees evil.com"),

        // ---- backslashes in every position: WHATWG reads them as `/` in http(s), RFC 3986 does not ----
        u("http:\\\\example.com\\", err("backslash", H("example.com")), "backslashes instead of //"),
        u("http:/\\example.com", err("backslash", H("example.com")), "slash then backslash"),
        u("http:\\/example.com", err("backslash", H("example.com")), "backslash then slash"),
        u("\\\\example.com", err("backslash", W::Err(E_REL)), "UNC-style"),
        u("http://exa\\mple.com", err("backslash", H("exa")), "backslash inside the host ends it for WHATWG"),
        u("http://example.com\\path", err("backslash", H("example.com")), "backslash as path separator"),
        u("http://example.com/path\\..\\admin", err("backslash", H("example.com")), "backslash dot-segments: WHATWG resolves them to /admin"),
        u("http://example.com/?q=\\", err("backslash", H("example.com")), "backslash in the query: rejected everywhere for simplicity"),
        u("http://example.com/#\\", err("backslash", H("example.com")), "backslash in the fragment"),

        // ---- percent-encoding in the authority ----
        u("http://%2e/", err("percent_encoded_host", H(".")), "encoded dot"),
        u("http://%31%32%37.0.0.1/", err("percent_encoded_host", H("127.0.0.1")), "encoded digits decode to loopback in WHATWG"),
        u("http://127.0.0.%31/", err("percent_encoded_host", H("127.0.0.1")), "one encoded digit"),
        u("http://example%2ecom/", err("percent_encoded_host", H("example.com")), "encoded dot between labels"),
        u("http://%65xample.com/", err("percent_encoded_host", H("example.com")), "encoded letter"),
        u("http://example.com%00/", err("percent_encoded_host", W::Err(E_IDN)), "encoded NUL"),
        u("http://example.com:%38%30/", err("percent_encoded_host", W::Err(E_PORT)), "encoded port"),
        u("http://%5B::1%5D/", err("percent_encoded_host", W::Err(E_IDN)), "encoded brackets"),

        // ---- whitespace and control characters: WHATWG strips some of them, other parsers keep them ----
        u("http://exa\tmple.com/", err("control_or_whitespace", H("example.com")), "tab inside the host: WHATWG deletes it"),
        u("http://exa\nmple.com/", err("control_or_whitespace", H("example.com")), "LF inside the host: WHATWG deletes it"),
        u("http://exa\rmple.com/", err("control_or_whitespace", H("example.com")), "CR inside the host: WHATWG deletes it"),
        u("ht\ttp://example.com/", err("control_or_whitespace", H("example.com")), "tab inside the scheme: WHATWG deletes it"),
        u("http://example.com/\t", err("control_or_whitespace", H("example.com")), "trailing tab in the path"),
        u("http://example.com\0/", err("control_or_whitespace", W::Err(E_IDN)), "NUL after the host: C strings end here"),
        u("http://exa\0mple.com/", err("control_or_whitespace", W::Err(E_IDN)), "NUL inside the host"),
        u("http://example.com:80\0/", err("control_or_whitespace", W::Err(E_PORT)), "NUL after the port"),
        u(" http://example.com/", err("control_or_whitespace", H("example.com")), "leading space: WHATWG trims it"),
        u("http://example.com/ ", err("control_or_whitespace", H("example.com")), "trailing space: WHATWG trims it"),
        u("http://example.com/a b", err("control_or_whitespace", H("example.com")), "space in the path"),
        u("h ttp://example.com/", err("control_or_whitespace", W::Err(E_REL)), "space in the scheme"),
        u("http://example.com\u{A0}/", err("control_or_whitespace", W::Err(E_IDN)), "NBSP"),
        u("http://example.com\u{3000}/", err("control_or_whitespace", W::Err(E_IDN)), "U+3000 ideographic space"),
        u("http://example.com\u{1680}/", err("control_or_whitespace", W::Err(E_IDN)), "Ogham space mark"),
        u("http://example\u{2028}.com/", err("control_or_whitespace", W::Err(E_IDN)), "line separator"),
        u("http://example.com\u{85}/", err("control_or_whitespace", W::Err(E_IDN)), "C1 next line"),
        u("http://example.com\u{7f}/", err("control_or_whitespace", W::Err(E_IDN)), "DEL"),
        u("http://example.com\x0b/", err("control_or_whitespace", W::Err(E_IDN)), "vertical tab"),
        u("http://example.com\x0c/", err("control_or_whitespace", W::Err(E_IDN)), "form feed"),
        u("\u{FEFF}http://example.com/", err("control_or_whitespace", W::Err(E_REL)), "leading BOM"),
        u("http://example.com/\u{1b}[31m", err("control_or_whitespace", H("example.com")), "ANSI escape aimed at log viewers"),

        // ---- missing or extra slashes: WHATWG repairs them for special schemes, RFC 3986 parsers do not ----
        u("http:example.com", err("missing_authority", H("example.com")), "no slashes"),
        u("https:example.com", err("missing_authority", H("example.com")), "no slashes, https"),
        u("http:/example.com", err("missing_authority", H("example.com")), "one slash"),
        u("http:///example.com", err("missing_authority", H("example.com")), "three slashes"),
        u("http:////example.com", err("missing_authority", H("example.com")), "four slashes"),
        u("http:", err("missing_authority", W::Err(E_EMPTY)), "scheme only"),
        u("http:///", err("missing_authority", W::Err(E_EMPTY)), "three slashes and nothing else"),
        u("http://", err("empty_host", W::Err(E_EMPTY)), "empty authority"),
        u("http://?x", err("empty_host", W::Err(E_EMPTY)), "empty host before the query"),
        u("http://#x", err("empty_host", W::Err(E_EMPTY)), "empty host before the fragment"),
        u("http://:80/", err("empty_host", W::Err(E_EMPTY)), "port without host"),
        u("http://./", err("empty_host", H(".")), "a lone dot is the root, not a host"),
        u("http://../", err("empty_label", H("..")), "two dots"),
        u("//example.com", err("invalid_url", W::Err(E_REL)), "scheme-relative URL"),
        u("example.com", err("invalid_url", W::Err(E_REL)), "bare host in the url field"),
        u("http://example.com", ok("http://example.com:80/", None), "no path: /"),
        u("http://example.com?", ok("http://example.com:80/", None), "empty query"),
        u("http://example.com//", ok("http://example.com:80//", None), "double slash path is kept"),

        // ---- ports ----
        u("http://example.com:0/", err("invalid_port", H("example.com")), "port 0 parses in WHATWG, but requests reads an explicit :0 as the default port (was accepted and recorded)"),
        u("http://example.com:65535/", ok("http://example.com:65535/", None), "highest port"),
        u("http://example.com:65536/", err("invalid_port", W::Err(E_PORT)), "one over the highest port"),
        u("http://example.com:99999/", err("invalid_port", W::Err(E_PORT)), "five digits over range"),
        u("http://[::1]:65536/", err("invalid_port", W::Err(E_PORT)), "IPv6 with port over range"),
        u("http://example.com:/", ok("http://example.com:80/", None), "empty port is the default"),
        u("https://example.com:/", ok("https://example.com:443/", None), "empty port is the default, https"),
        u("http://example.com:0080/", ok("http://example.com:80/", None), "leading zeros in the port"),
        u("http://example.com:00000000000000000000080/", ok("http://example.com:80/", None), "many leading zeros in the port"),
        u("http://example.com:80/", ok("http://example.com:80/", None), "explicit default port"),
        u("https://example.com:443/", ok("https://example.com:443/", None), "explicit default port, https"),
        u("http://example.com:443/", ok("http://example.com:443/", None), "plain http to 443 keeps the scheme"),
        u("https://example.com:80/", ok("https://example.com:80/", None), "https to 80 keeps the port"),
        u("http://example.com.:8080/", ok("http://example.com:8080/", None), "trailing dot then port"),
        u("http://example.com:-1/", err("invalid_port", W::Err(E_PORT)), "negative port"),
        u("http://example.com:+80/", err("invalid_port", W::Err(E_PORT)), "signed port"),
        u("http://example.com:0x50/", err("invalid_port", W::Err(E_PORT)), "hex port"),
        u("http://example.com:8080:8080/", err("invalid_port", W::Err(E_PORT)), "two ports"),
        u("http://example.com:１２３/", err("invalid_port", W::Err(E_PORT)), "fullwidth digits are not folded in ports"),

        // ---- schemes: only http and https ----
        u("HTTP://EXAMPLE.COM/", ok("http://example.com:80/", None), "uppercase scheme and host"),
        u("HTTPS://example.com/", ok("https://example.com:443/", None), "uppercase https"),
        u("HtTpS://example.com/", ok("https://example.com:443/", None), "mixed-case scheme"),
        u("ftp://example.com/", err("unsupported_scheme", H("example.com")), "ftp"),
        u("file:///etc/passwd", err("unsupported_scheme", NoHost), "local file"),
        u("file://localhost/etc/passwd", err("unsupported_scheme", NoHost), "file with localhost"),
        u("gopher://example.com:70/", err("unsupported_scheme", H("example.com")), "gopher: the classic SSRF smuggler"),
        u("dict://127.0.0.1:11211/", err("unsupported_scheme", H("127.0.0.1")), "dict to memcached"),
        u("javascript:alert(1)", err("unsupported_scheme", NoHost), "javascript"),
        u("data:text/html,<script>alert(1)</script>", err("unsupported_scheme", NoHost), "data"),
        u("ws://example.com/", err("unsupported_scheme", H("example.com")), "websocket"),
        u("wss://example.com/", err("unsupported_scheme", H("example.com")), "secure websocket"),
        u("httpx://example.com/", err("unsupported_scheme", H("example.com")), "look-alike scheme"),
        u("http+unix://%2Fvar%2Frun/", err("unsupported_scheme", H("%2Fvar%2Frun")), "HTTP over a unix socket"),
        u("view-source:http://example.com/", err("unsupported_scheme", NoHost), "nested URL"),
        u("blob:https://example.com/uuid", err("unsupported_scheme", NoHost), "blob"),
        u("about:blank", err("unsupported_scheme", NoHost), "about"),
        u("mailto:a@example.com", err("unsupported_scheme", NoHost), "mailto"),
        u("localhost:8080", err("unsupported_scheme", NoHost), "host:port without scheme is a `localhost:` URL to WHATWG"),
        u("example.com:443/x", err("unsupported_scheme", NoHost), "host:port/path without scheme"),
        u("1http://example.com/", err("invalid_url", W::Err(E_REL)), "a scheme cannot start with a digit"),
        u("://example.com", err("invalid_url", W::Err(E_REL)), "empty scheme"),
        u("ＨＴＴＰ://example.com/", err("invalid_url", W::Err(E_REL)), "fullwidth scheme is not a scheme"),

        // ---- apex, subdomain and suffix tricks; DNS syntax ----
        u("https://example.com.evil.com/", ok("https://example.com.evil.com:443/", None), "trusted name as a subdomain of evil.com"),
        u("https://evilexample.com/", ok("https://evilexample.com:443/", None), "trusted name as a suffix without a dot"),
        u("https://www.example.com/", ok("https://www.example.com:443/", None), "subdomain"),
        u("http://a.b.c.d.e.f.g.h.i.j.k.l.example.com/", ok("http://a.b.c.d.e.f.g.h.i.j.k.l.example.com:80/", None), "deep subdomain"),
        u("https://example.com./", ok("https://example.com:443/", None), "absolute (trailing dot) name is the same host"),
        u("https://example.com../", err("empty_label", H("example.com..")), "two trailing dots"),
        u("https://.example.com/", err("empty_label", H(".example.com")), "leading dot"),
        u("https://example..com/", err("empty_label", H("example..com")), "empty label in the middle"),
        u("https://-example.com/", err("invalid_host", H("-example.com")), "label starts with a hyphen"),
        u("https://example-.com/", err("invalid_host", H("example-.com")), "label ends with a hyphen"),
        u("https://ex--ample.com/", ok("https://ex--ample.com:443/", None), "double hyphen inside a label"),
        u("https://ex_ample.com/", ok("https://ex_ample.com:443/", None), "underscore (SRV-style and real service names)"),
        u("https://ex*ample.com/", err("invalid_host", H("ex*ample.com")), "a * in a host must never look like a wildcard"),
        u("https://*.example.com/", err("invalid_host", H("*.example.com")), "a wildcard label as a host"),
        u("https://ex$ample.com/", err("invalid_host", H("ex$ample.com")), "$ is allowed by WHATWG, not by DNS"),
        u("https://exa!mple.com/", err("invalid_host", H("exa!mple.com")), "!"),
        u("https://example.com;evil.com/", err("invalid_host", H("example.com;evil.com")), "; : some parsers split the host here"),
        u("https://example.com,evil.com/", err("invalid_host", H("example.com,evil.com")), ", : some parsers split the host here"),
        u("https://example.com&evil.com/", err("invalid_host", H("example.com&evil.com")), "&"),
        u("https://exam'ple.com/", err("invalid_host", H("exam'ple.com")), "quote"),
        u("https://exa\"mple.com/", err("invalid_host", H("exa\"mple.com")), "double quote"),
        u("https://exa`mple.com/", err("invalid_host", H("exa`mple.com")), "backtick"),
        u("https://exa{mple.com/", err("invalid_host", H("exa{mple.com")), "brace"),
        u("https://exa=mple.com/", err("invalid_host", H("exa=mple.com")), "="),
        u("https://exa~mple.com/", err("invalid_host", H("exa~mple.com")), "~"),
        u("https://exa+mple.com/", err("invalid_host", H("exa+mple.com")), "+"),
        u("https://exa<mple.com/", err("invalid_idn", W::Err(E_IDN)), "< is a forbidden host code point"),
        u("https://exa^mple.com/", err("invalid_idn", W::Err(E_IDN)), "^ is a forbidden host code point"),
        u("https://exa|mple.com/", err("invalid_idn", W::Err(E_IDN)), "| is a forbidden host code point"),

        // ---- long hosts and labels: limits apply to the ASCII (punycode) form ----
        u(format!("https://{label63}.com/"), ok(format!("https://{label63}.com:443/"), None), "63-octet label: the DNS maximum"),
        u(format!("https://{label64}.com/"), err("label_too_long", W::Host(leak(format!("{label64}.com")))), "64-octet label"),
        u(format!("https://{host253}/"), ok(format!("https://{host253}:443/"), None), "253-octet name: the DNS maximum"),
        u(format!("https://{host253}./"), ok(format!("https://{host253}:443/"), None), "253 octets plus the root dot"),
        u(format!("https://{host254}/"), err("host_too_long", W::Host(leak(host254.clone()))), "254-octet name"),
        u(format!("https://{u57}.com/"), ok(format!("https://{ace57}.com:443/"), None), "57 x ü: 114 UTF-8 octets but a 63-octet punycode label"),
        u(format!("https://{u58}.com/"), err("label_too_long", W::Host(leak(format!("{ace58}.com")))), "58 x ü: a 64-octet punycode label"),
        u(long_path, err("too_long", H("example.com")), "URL over 8 KiB"),
        u(format!("https://{wide110}/"), ok(format!("https://{ascii110}:443/"), None), "long fullwidth name, same as the domain case"),

        // ---- localhost and internal names ----
        u("http://localhost/", ok("http://localhost:80/", Some(Loopback)), "localhost"),
        u("http://localhost./", ok("http://localhost:80/", Some(Loopback)), "absolute localhost"),
        u("http://LOCALHOST/", ok("http://localhost:80/", Some(Loopback)), "uppercase localhost"),
        u("http://LocalHost:8080/admin", ok("http://localhost:8080/admin", Some(Loopback)), "mixed case with port"),
        u("http://foo.localhost/", ok("http://foo.localhost:80/", Some(Loopback)), "*.localhost is loopback (RFC 6761)"),
        u("http://localhost.localdomain/", ok("http://localhost.localdomain:80/", Some(InternalName)), "distro default name for loopback"),
        u("http://localhost..//", err("empty_label", H("localhost..")), "localhost with two trailing dots"),
        u("http://localhost.example.com/", ok("http://localhost.example.com:80/", None), "a public name that starts with localhost"),
        u("http://notlocalhost/", ok("http://notlocalhost:80/", Some(SingleLabelName)), "single label: resolved through search domains"),
        u("http://localtest.me/", ok("http://localtest.me:80/", None), "DESIGN: public DNS name that resolves to 127.0.0.1; needs connect-time IP checks"),
        u("http://metadata.google.internal/", ok("http://metadata.google.internal:80/", Some(InternalName)), "GCP metadata name"),
        u("http://metadata/", ok("http://metadata:80/", Some(SingleLabelName)), "GCP metadata short name via search domain"),
        u("http://instance-data/", ok("http://instance-data:80/", Some(SingleLabelName)), "EC2 metadata short name"),
        u("http://instance-data.ec2.internal/", ok("http://instance-data.ec2.internal:80/", Some(InternalName)), "EC2 metadata name"),
        u("http://kubernetes.default.svc.cluster.local/", ok("http://kubernetes.default.svc.cluster.local:80/", Some(InternalName)), "Kubernetes service FQDN"),
        u("http://kubernetes.default.svc/", ok("http://kubernetes.default.svc:80/", None), "DESIGN: `svc` is no public TLD; resolves only through cluster search domains"),
        u("http://printer.lan/", ok("http://printer.lan:80/", Some(InternalName)), "home network suffix"),
        u("http://router.home.arpa/", ok("http://router.home.arpa:80/", Some(InternalName)), "RFC 8375 home.arpa"),
        u("http://foo.intranet/", ok("http://foo.intranet:80/", Some(InternalName)), "intranet suffix"),
        u("http://x.local/", ok("http://x.local:80/", Some(InternalName)), "mDNS .local"),
        u("http://foo.INTERNAL./", ok("http://foo.internal:80/", Some(InternalName)), "uppercase absolute .internal"),
        u("http://local/", ok("http://local:80/", Some(SingleLabelName)), "the bare suffix is a single label"),
        u("http://internal/", ok("http://internal:80/", Some(SingleLabelName)), "the bare suffix is a single label"),
        u("http://com/", ok("http://com:80/", Some(SingleLabelName)), "a TLD alone is a single label"),
        u("http://ai./", ok("http://ai:80/", Some(SingleLabelName)), "a dotless TLD with an A record is still single-label: denied, fail closed"),

        // ---- query and fragment are dropped; the path is normalized as WHATWG does ----
        u("http://example.com/?secret=1", ok("http://example.com:80/", None), "query dropped"),
        u("http://example.com/a?b#c", ok("http://example.com:80/a", None), "query and fragment dropped"),
        u("http://example.com#frag", ok("http://example.com:80/", None), "fragment dropped"),
        u("http://example.com/a#b?c", ok("http://example.com:80/a", None), "? inside the fragment"),
        u("http://example.com/?@evil.com", ok("http://example.com:80/", None), "@ inside the query"),
        u("http://example.com/;jsessionid=1", ok("http://example.com:80/;jsessionid=1", None), "matrix parameter stays in the path"),
        u("http://example.com/a/../b", ok("http://example.com:80/b", None), "dot-dot segment"),
        u("http://example.com/a/./b", ok("http://example.com:80/a/b", None), "dot segment"),
        u("http://example.com/../../etc/passwd", ok("http://example.com:80/etc/passwd", None), "dot-dot above the root"),
        u("http://example.com/%2e%2e/", ok("http://example.com:80/", None), "encoded dot-dot is a dot-dot in WHATWG"),
        u("http://example.com/%2e%2e/%2e%2e/etc/passwd", ok("http://example.com:80/etc/passwd", None), "encoded traversal"),
        u("http://example.com/a/%2e%2E/b", ok("http://example.com:80/b", None), "mixed-case encoded dot-dot"),
        u("http://example.com/.%2e/x", ok("http://example.com:80/x", None), "half-encoded dot-dot"),
        u("http://example.com/a/%2E/b", ok("http://example.com:80/a/b", None), "encoded dot"),
        u("http://example.com/a%2fb", ok("http://example.com:80/a%2fb", None), "encoded slash is not a separator and stays encoded"),
        u("http://example.com/%2f/", ok("http://example.com:80/%2f/", None), "encoded slash segment"),
        u("http://example.com/ü", ok("http://example.com:80/%C3%BC", None), "non-ASCII path is percent-encoded"),
        u("http://example.com/%ZZ", ok("http://example.com:80/%ZZ", None), "invalid escape is kept verbatim"),
        u("http://example.com/\"<>`{}", ok("http://example.com:80/%22%3C%3E%60%7B%7D", None), "unsafe ASCII is percent-encoded"),
        u("http://example.com/a//b", ok("http://example.com:80/a//b", None), "empty segment is kept"),

        // ---- `domain` inputs: a bare host name or IP literal, standing for https://<domain>/ ----
        d("example.com", ok("https://example.com:443/", None), "plain name"),
        d("EXAMPLE.COM.", ok("https://example.com:443/", None), "uppercase absolute name"),
        d("example.com.", ok("https://example.com:443/", None), "absolute name"),
        d("exa_mple.com", ok("https://exa_mple.com:443/", None), "underscore"),
        d("_dmarc.example.com", ok("https://_dmarc.example.com:443/", None), "leading underscore label"),
        d("bücher.de", ok("https://xn--bcher-kva.de:443/", None), "IDN"),
        d("аpple.com", ok("https://xn--pple-43d.com:443/", None), "Cyrillic homograph"),
        d("ｅｘａｍｐｌｅ．ｃｏｍ", ok("https://example.com:443/", None), "fullwidth letters and dot"),
        d(host253.clone(), ok(format!("https://{host253}:443/"), None), "253-octet name"),
        d(format!("{label63}.com"), ok(format!("https://{label63}.com:443/"), None), "63-octet label"),
        d("a", ok("https://a:443/", Some(SingleLabelName)), "one letter"),
        d("localhost", ok("https://localhost:443/", Some(Loopback)), "localhost"),
        d("foo.localhost", ok("https://foo.localhost:443/", Some(Loopback)), "subdomain of localhost"),
        d("metadata.google.internal", ok("https://metadata.google.internal:443/", Some(InternalName)), "GCP metadata"),
        d("metadata", ok("https://metadata:443/", Some(SingleLabelName)), "single label"),
        d("127.0.0.1.nip.io", ok("https://127.0.0.1.nip.io:443/", None), "DESIGN: DNS-based loopback is not visible in the name"),
        d("127.0.0.1", ok("https://127.0.0.1:443/", Some(Loopback)), "IPv4 literal"),
        d("127.1", ok("https://127.0.0.1:443/", Some(Loopback)), "short IPv4"),
        d("0x7f000001", ok("https://127.0.0.1:443/", Some(Loopback)), "hex IPv4"),
        d("2130706433", ok("https://127.0.0.1:443/", Some(Loopback)), "decimal IPv4"),
        d("１２７.０.０.１", ok("https://127.0.0.1:443/", Some(Loopback)), "fullwidth IPv4"),
        d("0", ok("https://0.0.0.0:443/", Some(Unspecified)), "zero"),
        d("0x", ok("https://0.0.0.0:443/", Some(Unspecified)), "empty hex is zero"),
        d("010.0.0.1", err("ambiguous_ipv4", W::Host("8.0.0.1")), "octal parts: 8.0.0.1 to WHATWG, 10.0.0.1 to decimal-reading parsers; refused"),
        d("169.254.169.254", ok("https://169.254.169.254:443/", Some(CloudMetadata)), "metadata"),
        d("0251.0376.0251.0376", err("ambiguous_ipv4", W::Host("169.254.169.254")), "metadata in octal"),
        d("8.8.8.8", ok("https://8.8.8.8:443/", None), "public IPv4"),
        d("[::1]", ok("https://[::1]:443/", Some(Loopback)), "bracketed IPv6"),
        d("::1", ok("https://[::1]:443/", Some(Loopback)), "bare IPv6 is accepted too (cross-checked as [::1])"),
        d("[::]", ok("https://[::]:443/", Some(Unspecified)), "bracketed unspecified"),
        d("::", ok("https://[::]:443/", Some(Unspecified)), "bare unspecified"),
        d("[0:0:0:0:0:0:0:0]", ok("https://[::]:443/", Some(Unspecified)), "uncompressed unspecified"),
        d("[::0:0:0:0:0:0:0]", ok("https://[::]:443/", Some(Unspecified)), "`::` then seven zero groups"),
        d("[::ffff:127.0.0.1]", ok("https://[::ffff:7f00:1]:443/", Some(Loopback)), "IPv4-mapped"),
        d("[::FFFF:7F00:1]", ok("https://[::ffff:7f00:1]:443/", Some(Loopback)), "IPv4-mapped uppercase"),
        d("[::ffff:0:127.0.0.1]", ok("https://[::ffff:0:7f00:1]:443/", Some(Loopback)), "IPv4-translated"),
        d("[::ffff:8.8.8.8]", ok("https://[::ffff:808:808]:443/", Some(Reserved)), "IPv4-mapped public"),
        d("[::1.2.3.4]", ok("https://[::102:304]:443/", Some(Reserved)), "IPv4-compatible"),
        d("[fd00:ec2::254]", ok("https://[fd00:ec2::254]:443/", Some(CloudMetadata)), "EC2 IPv6 metadata"),
        d("fd00:ec2::254", ok("https://[fd00:ec2::254]:443/", Some(CloudMetadata)), "bare EC2 IPv6 metadata"),
        d("[2606:4700::1111]", ok("https://[2606:4700::1111]:443/", None), "public IPv6"),
        d("[2606:4700:4700:0:0:0:0:1111]", ok("https://[2606:4700:4700::1111]:443/", None), "uncompressed public IPv6"),
        d("2606:4700:4700::1111", ok("https://[2606:4700:4700::1111]:443/", None), "bare public IPv6"),
        d("1:2:3:4:5:6:7:8", ok("https://[1:2:3:4:5:6:7:8]:443/", None), "bare full IPv6"),
        d("[1:2:3:4:5:6:7::]", ok("https://[1:2:3:4:5:6:7:0]:443/", None), "`::` for one group"),
        d("[1::2:3:4:5:6:7]", ok("https://[1:0:2:3:4:5:6:7]:443/", None), "`::` for one group in the middle"),
        d("[01:02::]", ok("https://[1:2::]:443/", None), "leading zeros in groups"),
        d("", err("empty", W::Err(E_EMPTY)), "empty"),
        d("example.com..", err("empty_label", H("example.com..")), "two trailing dots"),
        d(".example.com", err("empty_label", H(".example.com")), "leading dot"),
        d("-", err("invalid_host", H("-")), "a lone hyphen"),
        d("*.example.com", err("invalid_host", H("*.example.com")), "a wildcard is a policy pattern, not a target"),
        d(format!("{label64}.com"), err("label_too_long", W::Host(leak(format!("{label64}.com")))), "64-octet label"),
        d(host254.clone(), err("host_too_long", W::Host(leak(host254.clone()))), "254-octet name"),
        d(long_domain.clone(), err("host_too_long", W::Host(leak(long_domain.clone()))), "404-octet name (its 400-octet label too)"),
        d(wide110.clone(), ok(format!("https://{ascii110}:443/"), None), "335 UTF-8 octets but 115 in ASCII: measured after mapping, as in a URL"),
        d(ignored200.clone(), ok("https://example.com:443/", None), "200 ignored code points vanish: the name is example.com"),
        d("256.0.0.1", err("invalid_ip", W::Err(E_V4)), "IPv4 part over 255"),
        d("example.1", err("invalid_ip", W::Err(E_V4)), "ends in a number"),
        d("xn--a", err("invalid_idn", W::Err(E_IDN)), "invalid punycode"),
        d("example%2ecom", err("percent_encoded_host", H("example.com")), "percent-encoded dot"),
        d("example.com\\", err("backslash", H("example.com")), "backslash"),
        d(" example.com", err("control_or_whitespace", W::Err(E_IDN)), "leading space"),
        d("exa mple.com", err("control_or_whitespace", W::Err(E_IDN)), "inner space"),
        d("ex\u{200B}ample.com", err("control_or_whitespace", H("example.com")), "zero-width space"),
        d("[ ::1]", err("control_or_whitespace", W::Err(E_V6)), "space inside brackets"),
        d("[::1] ", err("control_or_whitespace", W::Err(E_V6)), "space after brackets"),
        d("[fe80::1%25eth0]", err("invalid_ip", W::Err(E_V6)), "zone id in brackets"),
        d("fe80::1%eth0", err("invalid_domain", W::Err(E_PORT)), "bare zone id"),
        d("[00000::1]", err("invalid_ip", W::Err(E_V6)), "five-digit group"),
        d("[::ffff:01.2.3.4]", err("invalid_ip", W::Err(E_V6)), "leading zero in embedded IPv4"),
        d("[example.com]", err("invalid_ip", W::Err(E_V6)), "brackets around a name"),
        d("[::1", err("invalid_domain", W::Err(E_V6)), "unterminated bracket"),
        d("::1]", err("invalid_domain", W::Err(E_EMPTY)), "unopened bracket"),
        d("http://example.com", err("invalid_domain", H("http")), "a URL in the domain field"),
        d("//example.com", err("invalid_domain", H("example.com")), "scheme-relative"),
        d("example.com:443", err("invalid_domain", H("example.com")), "with a port"),
        d("example.com:", err("invalid_domain", H("example.com")), "with an empty port"),
        d("example.com.:", err("invalid_domain", H("example.com.")), "absolute with an empty port"),
        d("1.2.3.4:80", err("invalid_domain", H("1.2.3.4")), "IPv4 with a port"),
        d("[::1]:443", err("invalid_domain", H("[::1]")), "IPv6 with a port"),
        d("example.com/path", err("invalid_domain", H("example.com")), "with a path"),
        d("example.com?x", err("invalid_domain", H("example.com")), "with a query"),
        d("example.com#x", err("invalid_domain", H("example.com")), "with a fragment"),
        d("user@example.com", err("invalid_domain", H("example.com")), "with userinfo"),
    ]
}

/// Long expectations are built at run time; the table keeps `&'static str` for everything else.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn whatwg(kind: Kind, input: &str) -> Result<Url, url::ParseError> {
    match kind {
        Kind::Url => Url::parse(input),
        // A bare IPv6 literal is a `domain` we accept; WHATWG only knows it in brackets.
        Kind::Domain if input.parse::<Ipv6Addr>().is_ok() => Url::parse(&format!("http://[{input}]/")),
        Kind::Domain => Url::parse(&format!("http://{input}/")),
    }
}

fn normalize(kind: Kind, input: &str) -> Result<Target, egress_core::NormalizeError> {
    match kind {
        Kind::Url => Target::from_url(input),
        Kind::Domain => Target::from_domain(input),
    }
}

fn check(case: &Case) -> Result<(), String> {
    let ours = normalize(case.kind, &case.input);
    let theirs = whatwg(case.kind, &case.input);
    match (&case.expect, ours) {
        (Expect::Ok { target, special }, Ok(t)) => {
            if t.to_string() != *target {
                return Err(format!("normalized to {t}, expected {target}"));
            }
            let kind = special_target(&t);
            if kind != *special {
                return Err(format!("special_target is {kind:?}, expected {special:?}"));
            }
            let url = theirs.map_err(|e| format!("we accept, WHATWG fails with `{e}`"))?;
            let host = url.host_str().ok_or("we accept, WHATWG has no host")?;
            let host = host.strip_suffix('.').unwrap_or(host);
            if t.host().to_string() != host {
                return Err(format!("host {} differs from WHATWG host {host}", t.host()));
            }
            match case.kind {
                Kind::Url => {
                    if url.scheme() != t.scheme().as_str() {
                        return Err(format!("scheme differs from WHATWG {}", url.scheme()));
                    }
                    if url.port_or_known_default() != Some(t.port()) {
                        return Err(format!("port differs from WHATWG {:?}", url.port_or_known_default()));
                    }
                    if url.path() != t.path() {
                        return Err(format!("path differs from WHATWG {}", url.path()));
                    }
                }
                Kind::Domain => {
                    if (t.scheme().as_str(), t.port(), t.path()) != ("https", 443, "/") {
                        return Err("a domain must stand for https://<domain>:443/".into());
                    }
                }
            }
            // The normalized form is a fixed point, for both input kinds.
            let again = Target::from_url(&t.to_string()).map_err(|e| format!("display form rejected: {e}"))?;
            if again != t {
                return Err(format!("display form re-normalizes to {again}"));
            }
            let host_again =
                Target::from_domain(&t.host().to_string()).map_err(|e| format!("host rejected as domain: {e}"))?;
            if host_again.host() != t.host() {
                return Err(format!("host re-normalizes to {}", host_again.host()));
            }
            Ok(())
        }
        (Expect::Ok { target, .. }, Err(e)) => Err(format!("rejected with {}, expected {target}", e.code())),
        (Expect::Err { code, .. }, Ok(t)) => Err(format!("accepted as {t}, expected error {code}")),
        (Expect::Err { code, whatwg }, Err(e)) => {
            if e.code() != *code {
                return Err(format!("rejected with {}, expected {code}", e.code()));
            }
            let recorded_ok = match (whatwg, &theirs) {
                (W::Host(h), Ok(url)) => url.host_str() == Some(*h),
                (W::NoHost, Ok(url)) => url.host_str().is_none(),
                (W::Err(msg), Err(e)) => e.to_string() == *msg,
                _ => false,
            };
            if !recorded_ok {
                let actual = match &theirs {
                    Ok(url) => format!("host {:?}", url.host_str()),
                    Err(e) => format!("error `{e}`"),
                };
                return Err(format!(
                    "recorded WHATWG result {whatwg:?} does not hold: WHATWG gives {actual}"
                ));
            }
            Ok(())
        }
    }
}

#[test]
fn hostile_urls() {
    let cases = cases();
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(msg) = check(case) {
            let input: String = case.input.chars().take(120).collect();
            failures.push(format!("{:?} {input:?}: {msg}\n    ({})", case.kind, case.note));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_case_is_distinct_and_documented() {
    let cases = cases();
    let mut seen = std::collections::HashSet::new();
    for case in &cases {
        assert!(
            seen.insert((case.kind, case.input.as_str())),
            "duplicate case {:?} {:?}",
            case.kind,
            case.input
        );
        assert!(!case.note.trim().is_empty(), "case {:?} has no note", case.input);
    }
}

#[test]
fn every_special_kind_reachable_from_a_url_is_covered() {
    use strum::VariantArray;
    let covered: Vec<SpecialKind> = cases()
        .iter()
        .filter_map(|c| match c.expect {
            Expect::Ok { special, .. } => special,
            Expect::Err { .. } => None,
        })
        .collect();
    // Every kind the type declares: a new kind without a hostile case fails here.
    for &kind in SpecialKind::VARIANTS {
        assert!(covered.contains(&kind), "no hostile case exercises {kind:?}");
    }
}

/// Stored rows are rebuilt with `Target::from_parts` (and `Deserialize`): every part is re-validated, and the
/// result is a fixed point of normalization, so a tampered row can smuggle neither a host nor a query.
#[test]
fn stored_parts_are_renormalized_or_rejected() {
    let ok: &[(&str, &str, u16, &str, &str)] = &[
        ("https", "example.com", 443, "/a", "https://example.com:443/a"),
        ("https", "Example.COM.", 443, "/", "https://example.com:443/"),
        ("http", "127.1", 80, "/", "http://127.0.0.1:80/"),
        (
            "http",
            "[::ffff:127.0.0.1]",
            8080,
            "/%C3%BC",
            "http://[::ffff:7f00:1]:8080/%C3%BC",
        ),
        ("http", "::1", 80, "//x", "http://[::1]:80//x"),
    ];
    for (scheme, host, port, path, want) in ok {
        let t = Target::from_parts(scheme, host, *port, path).unwrap_or_else(|e| panic!("{host} {path}: {e}"));
        assert_eq!(t.to_string(), *want);
        assert_eq!(Target::from_url(want).as_ref(), Ok(&t), "{want} is not a fixed point");
    }
    let bad: &[(&str, &str, u16, &str, &str)] = &[
        ("ftp", "example.com", 21, "/", "unsupported_scheme"),
        ("HTTPS", "example.com", 443, "/", "unsupported_scheme"),
        ("https", "user@example.com", 443, "/", "invalid_domain"),
        ("https", "example.com:443", 443, "/", "invalid_domain"),
        ("https", "exa mple.com", 443, "/", "control_or_whitespace"),
        ("https", "example.com", 443, "a", "invalid_url"),
        ("https", "example.com", 443, "", "invalid_url"),
        ("https", "example.com", 443, "/a?token=secret", "invalid_url"),
        ("https", "example.com", 443, "/a#frag", "invalid_url"),
        ("https", "example.com", 443, "/a/../b", "invalid_url"),
        ("https", "example.com", 443, "/%2e%2e/etc", "invalid_url"),
        ("https", "example.com", 443, "/ü", "invalid_url"),
        ("https", "example.com", 443, "/a\\b", "invalid_url"),
        ("https", "example.com", 443, "/a b", "invalid_url"),
    ];
    for (scheme, host, port, path, code) in bad {
        match Target::from_parts(scheme, host, *port, path) {
            Ok(t) => panic!("{scheme} {host} {path:?} accepted as {t}"),
            Err(e) => assert_eq!(e.code(), *code, "{scheme} {host} {path:?}"),
        }
    }
    let tampered = r#"{"scheme":"https","host":"example.com","port":443,"path":"/a?token=secret"}"#;
    assert!(serde_json::from_str::<Target>(tampered).is_err());
}

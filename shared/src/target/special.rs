//! Internal and special-purpose targets (policy precedence step 2): never reachable, in any mode.
//!
//! IP checks work on the parsed address, so every textual encoding (decimal, hex, octal, short IPv4, IPv6
//! forms that embed IPv4) lands here in the same canonical shape.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Host, Target};

crate::wire_enum::wire_enum! {
    /// Why a target is internal. Recorded in logs; the public reason code is always `internal_target`.
    pub enum SpecialKind in "snake_case" {
        Unspecified,
        Loopback,
        Private,
        LinkLocal,
        CloudMetadata,
        SharedAddressSpace,
        Multicast,
        Broadcast,
        Reserved,
        Documentation,
        Benchmarking,
        ProtocolAssignment,
        UniqueLocal,
        SiteLocal,
        Discard,
        LocalUseNat64,
        Teredo,
        InternalName,
        SingleLabelName,
    }
}

/// `Some(kind)` when the target must be denied as internal or special.
pub fn special_target(target: &Target) -> Option<SpecialKind> {
    special_host(target.host())
}

pub fn special_host(host: &Host) -> Option<SpecialKind> {
    match host {
        Host::Ipv4(ip) => special_v4(*ip),
        Host::Ipv6(ip) => special_v6(*ip),
        Host::Domain(d) => special_name(d),
    }
}

fn in_v4(ip: u32, net: [u8; 4], bits: u32) -> bool {
    let net = u32::from_be_bytes(net);
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    ip & mask == net & mask
}

pub fn special_v4(ip: Ipv4Addr) -> Option<SpecialKind> {
    use SpecialKind::*;
    let n = u32::from(ip);
    let table: &[([u8; 4], u32, SpecialKind)] = &[
        ([169, 254, 169, 254], 32, CloudMetadata),
        ([169, 254, 170, 2], 32, CloudMetadata), // ECS task metadata
        ([0, 0, 0, 0], 8, Unspecified),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedAddressSpace),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, ProtocolAssignment),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved), // deprecated 6to4 relay anycast
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    table
        .iter()
        .find(|(net, bits, _)| in_v4(n, *net, *bits))
        .map(|(_, _, k)| *k)
}

/// The IPv4 address a routed IPv6 address stands for: the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052
/// §2.1: DNS64 on an IPv6-only subnet hands these out, and the NAT64 connects to the IPv4 address in the
/// last 32 bits) and 6to4 `2002::/16` (RFC 3056 §2: the site router's IPv4 address in bits 16..48). The
/// mapped, compatible, translated and Teredo forms are never routed: [`special_v6`] denies them outright.
pub fn translated_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    nat64_v4(ip).or_else(|| six_to_four_v4(ip))
}

/// The IPv4 address of a NAT64 `64:ff9b::/96` address: one address for one address, both ways.
pub fn nat64_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let n = u128::from(ip);
    (n >> 32 == 0x0064_ff9b_u128 << 64).then(|| Ipv4Addr::from(n as u32))
}

/// The IPv4 address of a 6to4 `2002::/16` address: only the site's router. The low 80 bits name any host
/// of the site's /48, so this is not one-to-one: a restriction on the IPv4 address covers the whole /48,
/// an allow on it covers none of it.
pub fn six_to_four_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let n = u128::from(ip);
    (n >> 112 == 0x2002).then(|| Ipv4Addr::from((n >> 80) as u32))
}

pub fn special_v6(ip: Ipv6Addr) -> Option<SpecialKind> {
    use SpecialKind::*;
    let seg = ip.segments();
    let n = u128::from(ip);
    let in_v6 = |net: u128, bits: u32| n >> (128 - bits) == net >> (128 - bits);
    let embedded = |shift: u32| Ipv4Addr::from((n >> shift) as u32);

    if ip == Ipv6Addr::UNSPECIFIED {
        return Some(Unspecified);
    }
    if ip == Ipv6Addr::LOCALHOST {
        return Some(Loopback);
    }
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Some(CloudMetadata);
    }
    // IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96 and IPv4-compatible ::/96: the host is the
    // embedded IPv4 address. The compatible form is deprecated; we deny all of it rather than route it.
    if in_v6(0xffff_0000_0000, 96) || in_v6(0xffff_0000_0000_0000, 96) {
        return Some(special_v4(embedded(0)).unwrap_or(Reserved));
    }
    if in_v6(0, 96) {
        return Some(special_v4(embedded(0)).unwrap_or(Reserved));
    }
    // NAT64 well-known prefix 64:ff9b::/96 and 6to4 2002::/16 embed the IPv4 destination.
    if let Some(v4) = translated_v4(ip) {
        return special_v4(v4);
    }
    // Local-use NAT64 64:ff9b:1::/48 translates into the operator's own network: internal by definition.
    if in_v6(0x0064_ff9b_0001_u128 << 80, 48) {
        return Some(LocalUseNat64);
    }
    // Teredo 2001::/32 embeds the server (bits 32..64) and the obfuscated client (last 32 bits, inverted).
    // A tunnel to an arbitrary IPv4 endpoint has no place in agent egress: deny the whole prefix.
    if seg[0] == 0x2001 && seg[1] == 0 {
        return Some(Teredo);
    }
    if seg[0] & 0xfe00 == 0xfc00 {
        return Some(UniqueLocal);
    }
    if seg[0] & 0xffc0 == 0xfe80 {
        return Some(LinkLocal);
    }
    if seg[0] & 0xffc0 == 0xfec0 {
        return Some(SiteLocal);
    }
    if seg[0] & 0xff00 == 0xff00 {
        return Some(Multicast);
    }
    if in_v6(0x0100_u128 << 112, 64) {
        return Some(Discard);
    }
    // 100:0:0:1::/64, the dummy IPv6 prefix (RFC 9780): never routed, used for local next hops.
    if in_v6(0x0100_0000_0000_0001_u128 << 64, 64) {
        return Some(Reserved);
    }
    // 5f00::/16, SRv6 segment identifiers (RFC 9602): steer packets inside an operator's SR domain.
    if seg[0] == 0x5f00 {
        return Some(Reserved);
    }
    if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        return Some(Documentation);
    }
    if seg[0] == 0x3fff && seg[1] & 0xf000 == 0 {
        return Some(Documentation); // 3fff::/20 (RFC 9637)
    }
    if seg[0] == 0x2001 && seg[1] == 0x0002 && seg[2] == 0 {
        return Some(Benchmarking);
    }
    if seg[0] == 0x2001 && seg[1] & 0xfff0 == 0x0010 {
        return Some(Reserved); // ORCHID
    }
    // The rest of 2001::/23, IETF protocol assignments (RFC 2928; IANA IPv6 special-purpose registry):
    // AMT relays, AS112 sinks, ORCHIDv2, drone DET. Infrastructure, not destinations for agents.
    if seg[0] == 0x2001 && seg[1] < 0x0200 {
        return Some(ProtocolAssignment);
    }
    None
}

/// Names that never reach the public internet, each with its source. Single-label names are resolved
/// through the resolver's search domains (`metadata` becomes `metadata.google.internal` on GCP), so they
/// are internal too. A name under any of these suffixes (or the suffix itself) is internal.
const INTERNAL_SUFFIXES: &[&str] = &[
    // IANA Special-Use Domain Names registry (RFC 6761 and later).
    "localhost",     // RFC 6761 §6.3: loopback
    "local",         // RFC 6762: multicast DNS
    "test",          // RFC 6761 §6.2
    "invalid",       // RFC 6761 §6.4
    "example",       // RFC 6761 §6.5 (the TLD; example.com/.net/.org are real, public names)
    "onion",         // RFC 7686: Tor, never resolved by DNS
    "alt",           // RFC 9476: non-DNS namespaces
    "home.arpa",     // RFC 8375: home networks
    "resolver.arpa", // RFC 9462: the local resolver's own name
    "service.arpa",  // RFC 9665: local service registration
    "ipv4only.arpa", // RFC 8880: resolves to 192.0.0.170/171 (NAT64 discovery)
    // `.arpa` as a whole is infrastructure (RFC 3172): reverse zones, ENUM; no agent fetches HTTP there.
    "arpa",
    // ICANN: `.internal` reserved for private use (board resolution 2024.07.29.06).
    "internal",
    // ICANN: `.corp`, `.home` and `.mail` will never be delegated (name collision, board resolution
    // 2018.02.04.12): they stay in wide private use.
    "corp",
    "home",
    "mail",
    // RFC 6762 Appendix G: names in wide private use on internal networks.
    "intranet",
    "private",
    "lan",
    "localdomain",
];

pub fn special_name(d: &str) -> Option<SpecialKind> {
    if !d.contains('.') {
        return Some(if d == "localhost" {
            SpecialKind::Loopback
        } else {
            SpecialKind::SingleLabelName
        });
    }
    let suffix = INTERNAL_SUFFIXES
        .iter()
        .find(|s| d == **s || (d.len() > s.len() && d.ends_with(**s) && d.as_bytes()[d.len() - s.len() - 1] == b'.'))?;
    Some(if *suffix == "localhost" {
        SpecialKind::Loopback
    } else {
        SpecialKind::InternalName
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;

    fn kind(url: &str) -> Option<SpecialKind> {
        special_target(&Target::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}")))
    }

    #[test]
    fn every_class() {
        use SpecialKind::*;
        let cases: &[(&str, Option<SpecialKind>)] = &[
            ("http://127.0.0.1/", Some(Loopback)),
            ("http://2130706433/", Some(Loopback)),
            ("http://0x7f000001/", Some(Loopback)),
            ("http://127.1/", Some(Loopback)),
            ("http://10.1.2.3/", Some(Private)),
            ("http://172.31.255.255/", Some(Private)),
            ("http://172.32.0.1/", None),
            ("http://192.168.0.1/", Some(Private)),
            ("http://169.254.169.254/latest/meta-data", Some(CloudMetadata)),
            ("http://169.254.1.1/", Some(LinkLocal)),
            ("http://[fd00:ec2::254]/", Some(CloudMetadata)),
            ("http://100.64.0.1/", Some(SharedAddressSpace)),
            ("http://100.127.255.255/", Some(SharedAddressSpace)),
            ("http://100.128.0.1/", None),
            ("http://0.0.0.0/", Some(Unspecified)),
            ("http://0/", Some(Unspecified)),
            ("http://224.0.0.1/", Some(Multicast)),
            ("http://255.255.255.255/", Some(Broadcast)),
            ("http://240.0.0.1/", Some(Reserved)),
            ("http://[::]/", Some(Unspecified)),
            ("http://[::1]/", Some(Loopback)),
            ("http://[::ffff:127.0.0.1]/", Some(Loopback)),
            ("http://[::ffff:a9fe:a9fe]/", Some(CloudMetadata)),
            ("http://[::127.0.0.1]/", Some(Loopback)),
            ("http://[::8.8.8.8]/", Some(Reserved)),
            ("http://[::ffff:0:10.0.0.1]/", Some(Private)),
            ("http://[64:ff9b::10.0.0.1]/", Some(Private)),
            ("http://[64:ff9b::8.8.8.8]/", None),
            ("http://[64:ff9b:1::1.2.3.4]/", Some(LocalUseNat64)),
            ("http://[2002:7f00:1::]/", Some(Loopback)),
            ("http://[2002:0808:0808::]/", None),
            ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", Some(Teredo)),
            ("http://[fc00::1]/", Some(UniqueLocal)),
            ("http://[fdff::1]/", Some(UniqueLocal)),
            ("http://[fe80::1]/", Some(LinkLocal)),
            ("http://[febf::1]/", Some(LinkLocal)),
            ("http://[ff02::1]/", Some(Multicast)),
            ("http://[2001:db8::1]/", Some(Documentation)),
            ("http://[2606:4700::1111]/", None),
            ("http://localhost/", Some(Loopback)),
            ("http://LOCALHOST./", Some(Loopback)),
            ("http://a.b.localhost/", Some(Loopback)),
            ("http://metadata.google.internal/", Some(InternalName)),
            ("http://svc.cluster.local/", Some(InternalName)),
            ("http://metadata/", Some(SingleLabelName)),
            ("http://notlocalhost.com/", None),
            ("http://localhost.example.com/", None),
            ("http://example.internal.com/", None),
            ("http://8.8.8.8/", None),
            ("http://[5f00::1]/", Some(Reserved)),
            ("http://[5f00:ffff::1]/", Some(Reserved)),
            ("http://[5eff::1]/", None),
            ("http://[100:0:0:1::1]/", Some(Reserved)),
            ("http://[100:0:0:2::1]/", None),
            ("http://[2001:4:112::1]/", Some(ProtocolAssignment)),
            ("http://[2001:1ff::1]/", Some(ProtocolAssignment)),
            ("http://[2001:200::1]/", None),
            ("http://printer.corp/", Some(InternalName)),
            ("http://nas.home/", Some(InternalName)),
            ("http://smtp.mail/", Some(InternalName)),
            ("http://files.private/", Some(InternalName)),
            ("http://a.b.test/", Some(InternalName)),
            ("http://x.invalid/", Some(InternalName)),
            ("http://www.example/", Some(InternalName)),
            ("http://abc.onion/", Some(InternalName)),
            ("http://x.alt/", Some(InternalName)),
            ("http://ipv4only.arpa/", Some(InternalName)),
            ("http://1.0.0.127.in-addr.arpa/", Some(InternalName)),
            ("http://corp.example.com/", None),
            ("http://example.com/", None),
            ("http://mail.google.com/", None),
            ("http://notcorp/", Some(SingleLabelName)),
            ("http://home.com/", None),
        ];
        for (url, want) in cases {
            assert_eq!(kind(url), *want, "{url}");
        }
    }
}

//! Internal and special-purpose targets (policy precedence step 2): never reachable, in any mode.
//!
//! IP checks work on the parsed address, so every textual encoding (decimal, hex, octal, short IPv4, IPv6
//! forms that embed IPv4) lands here in the same canonical shape.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Host, Target};

crate::wire_enum::wire_enum! {
    /// Why a target is internal. Recorded in logs; the public reason code is always `internal_target`.
    pub enum SpecialKind in "snake_case" {
        /// "This network" `0.0.0.0/8` and the unspecified `::`.
        Unspecified,
        /// `127.0.0.0/8`, `::1`, and `localhost` with every name under it.
        Loopback,
        /// The RFC 1918 networks `10.0.0.0/8`, `172.16.0.0/12` and `192.168.0.0/16`.
        Private,
        /// `169.254.0.0/16` and `fe80::/10`.
        LinkLocal,
        /// Instance metadata endpoints: `169.254.169.254`, ECS `169.254.170.2`, EC2's `fd00:ec2::254`.
        CloudMetadata,
        /// Carrier-grade NAT space `100.64.0.0/10` (RFC 6598).
        SharedAddressSpace,
        /// `224.0.0.0/4` and `ff00::/8`.
        Multicast,
        /// The limited broadcast address `255.255.255.255`.
        Broadcast,
        /// Never a public destination: `240.0.0.0/4`, the old 6to4 relay anycast, unrouted IPv6 prefixes,
        /// and the mapped, compatible and translated IPv6 forms of a public IPv4 address.
        Reserved,
        /// TEST-NET-1/2/3, `2001:db8::/32` and `3fff::/20`.
        Documentation,
        /// `198.18.0.0/15` and `2001:2::/48`.
        Benchmarking,
        /// IETF protocol assignments: `192.0.0.0/24` and the rest of `2001::/23`.
        ProtocolAssignment,
        /// IPv6 unique local addresses `fc00::/7`.
        UniqueLocal,
        /// Deprecated IPv6 site-local `fec0::/10`.
        SiteLocal,
        /// The IPv6 discard prefix `100::/64` (RFC 6666).
        Discard,
        /// Local-use NAT64 `64:ff9b:1::/48` (RFC 8215): translates into the operator's own network.
        LocalUseNat64,
        /// Teredo `2001::/32`: a tunnel to an arbitrary IPv4 endpoint.
        Teredo,
        /// A name whose last label is never public (`.internal`, `.local`, `.corp`, `.arpa`, ...).
        InternalName,
        /// A name of one label: the resolver completes it with its search domains.
        SingleLabelName,
    }
}

/// `Some(kind)` when the target must be denied as internal or special.
pub fn special_target(target: &Target) -> Option<SpecialKind> {
    special_host(target.host())
}

/// `Some(kind)` when the host must be denied as internal or special: by address range, or by name.
pub fn special_host(host: &Host) -> Option<SpecialKind> {
    match host {
        Host::Ipv4(ip) => special_v4(*ip),
        Host::Ipv6(ip) => special_v6(*ip),
        Host::Domain(d) => special_name(d),
    }
}

/// One internal or special-purpose prefix: what [`special_v4`] and [`special_v6`] deny, as CIDR data for
/// consumers that match addresses themselves (a Squid `dst` ACL). `Display` prints `addr/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InternalRange {
    /// The first address; the bits past `prefix_len` are zero.
    pub network: IpAddr,
    /// The prefix length in bits (at most 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
    /// The kind of the range. In the three prefixes that embed an IPv4 address (mapped, translated,
    /// compatible) a special IPv4 address reports its own kind, and this kind (`Reserved`) is the rest's.
    pub kind: SpecialKind,
}

impl InternalRange {
    /// Whether `ip` lies in the range (never, across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => in_v4(u32::from(ip), u32::from(net), self.prefix_len),
            (IpAddr::V6(net), IpAddr::V6(ip)) => in_v6(u128::from(ip), u128::from(net), self.prefix_len),
            _ => false,
        }
    }
}

impl std::fmt::Display for InternalRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

/// Every prefix [`special_v4`] and [`special_v6`] classify as special, IPv4 first, each family in the
/// order they are checked: the first range that holds an address gives its kind (but see
/// [`InternalRange::kind`] for the prefixes embedding IPv4). Ranges nest (169.254.169.254/32 inside
/// 169.254.0.0/16); a consumer that needs disjoint ranges drops the nested ones. The NAT64 and 6to4 ranges
/// are the IPv4 table carried into those prefixes: they are special exactly when the IPv4 address is.
pub fn internal_ranges() -> Vec<InternalRange> {
    let ipv4 = V4_TABLE.iter().map(|&(net, bits, kind)| InternalRange {
        network: IpAddr::V4(Ipv4Addr::from(net)),
        prefix_len: bits,
        kind,
    });
    let ipv6 = V6_TABLE.iter().map(|&(net, bits, kind)| InternalRange {
        network: IpAddr::V6(Ipv6Addr::from(net)),
        prefix_len: bits,
        kind: match kind {
            V6Kind::Fixed(kind) => kind,
            V6Kind::EmbeddedV4 => SpecialKind::Reserved,
        },
    });
    // 64:ff9b::a.b.c.d (RFC 6052 §2.1) and 2002:aabb:ccdd::/48 (RFC 3056 §2): the IPv4 prefix shifted
    // into place, its length grown by what precedes it.
    let embed = |prefix: u128, prefix_len: u8, shift: u32| {
        V4_TABLE.iter().map(move |&(net, bits, kind)| InternalRange {
            network: IpAddr::V6(Ipv6Addr::from(prefix | (u128::from(u32::from_be_bytes(net)) << shift))),
            prefix_len: prefix_len + bits,
            kind,
        })
    };
    let nat64 = embed(v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96, 0);
    let six_to_four = embed(v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16, 80);
    ipv4.chain(ipv6).chain(nat64).chain(six_to_four).collect()
}

fn in_v4(ip: u32, net: u32, bits: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
    ip & mask == net & mask
}

fn in_v6(ip: u128, net: u128, bits: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
    ip & mask == net & mask
}

/// The IPv4 special-purpose prefixes (IANA IPv4 Special-Purpose Address Registry,
/// <https://www.iana.org/assignments/iana-ipv4-special-registry/>, and RFC 6890), checked in order: a more
/// specific prefix comes before the one it lies in.
const V4_TABLE: &[([u8; 4], u8, SpecialKind)] = {
    use SpecialKind::*;
    &[
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
    ]
};

/// The kind of a special-purpose IPv4 address (the first table prefix holding it), `None` if public.
pub fn special_v4(ip: Ipv4Addr) -> Option<SpecialKind> {
    let n = u32::from(ip);
    V4_TABLE
        .iter()
        .find(|(net, bits, _)| in_v4(n, u32::from_be_bytes(*net), *bits))
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

#[derive(Debug, Clone, Copy)]
enum V6Kind {
    Fixed(SpecialKind),
    /// The host is the IPv4 address in the last 32 bits: its kind, or `Reserved` when it is not special.
    EmbeddedV4,
}

const fn v6(segments: [u16; 8]) -> u128 {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h).to_bits()
}

/// The IPv6 special-purpose prefixes (IANA IPv6 Special-Purpose Address Registry,
/// <https://www.iana.org/assignments/iana-ipv6-special-registry/>) but NAT64 and 6to4, which [`special_v6`]
/// reads through the IPv4 table. Checked in order: a more specific prefix comes before the one it lies in.
const V6_TABLE: &[(u128, u8, V6Kind)] = {
    use SpecialKind::*;
    use V6Kind::{EmbeddedV4, Fixed};
    &[
        (v6([0, 0, 0, 0, 0, 0, 0, 0]), 128, Fixed(Unspecified)),
        (v6([0, 0, 0, 0, 0, 0, 0, 1]), 128, Fixed(Loopback)),
        (v6([0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254]), 128, Fixed(CloudMetadata)), // EC2 IMDS over IPv6
        // IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96 and IPv4-compatible ::/96: the host is
        // the embedded IPv4 address. The compatible form is deprecated; we deny all of it rather than route it.
        (v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96, EmbeddedV4),
        (v6([0, 0, 0, 0, 0xffff, 0, 0, 0]), 96, EmbeddedV4),
        (v6([0, 0, 0, 0, 0, 0, 0, 0]), 96, EmbeddedV4),
        // Local-use NAT64 64:ff9b:1::/48 (RFC 8215) translates into the operator's own network: internal by
        // definition.
        (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, Fixed(LocalUseNat64)),
        // Teredo 2001::/32 embeds the server (bits 32..64) and the obfuscated client (last 32 bits,
        // inverted). A tunnel to an arbitrary IPv4 endpoint has no place in agent egress: deny the prefix.
        (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, Fixed(Teredo)),
        (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, Fixed(UniqueLocal)),
        (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, Fixed(LinkLocal)),
        (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, Fixed(SiteLocal)),
        (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, Fixed(Multicast)),
        (v6([0x0100, 0, 0, 0, 0, 0, 0, 0]), 64, Fixed(Discard)),
        // 100:0:0:1::/64, the dummy IPv6 prefix (RFC 9780): never routed, used for local next hops.
        (v6([0x0100, 0, 0, 1, 0, 0, 0, 0]), 64, Fixed(Reserved)),
        // 5f00::/16, SRv6 segment identifiers (RFC 9602): steer packets inside an operator's SR domain.
        (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]), 16, Fixed(Reserved)),
        (v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0]), 32, Fixed(Documentation)),
        (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, Fixed(Documentation)), // RFC 9637
        (v6([0x2001, 0x0002, 0, 0, 0, 0, 0, 0]), 48, Fixed(Benchmarking)),
        (v6([0x2001, 0x0010, 0, 0, 0, 0, 0, 0]), 28, Fixed(Reserved)), // ORCHID
        // The rest of 2001::/23, IETF protocol assignments (RFC 2928): AMT relays, AS112 sinks, ORCHIDv2,
        // drone DET. Infrastructure, not destinations for agents.
        (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23, Fixed(ProtocolAssignment)),
    ]
};

/// The kind of a special-purpose IPv6 address, `None` if public. Mapped, compatible and translated forms are
/// always special (their IPv4 address's kind, else `Reserved`); NAT64 and 6to4 ones when their IPv4 one is.
pub fn special_v6(ip: Ipv6Addr) -> Option<SpecialKind> {
    let n = u128::from(ip);
    let entry = V6_TABLE.iter().find(|(net, bits, _)| in_v6(n, *net, *bits));
    if let Some((_, _, kind)) = entry {
        return Some(match kind {
            V6Kind::Fixed(kind) => *kind,
            V6Kind::EmbeddedV4 => special_v4(Ipv4Addr::from(n as u32)).unwrap_or(SpecialKind::Reserved),
        });
    }
    // NAT64 well-known prefix 64:ff9b::/96 and 6to4 2002::/16 embed the IPv4 destination. Neither overlaps
    // a table prefix, so where they are checked does not matter; last is the order of `internal_ranges`.
    translated_v4(ip).and_then(special_v4)
}

/// Top-level names that never reach the public internet, each with its source: a name is internal when its
/// last label is one of these. Single-label names are resolved through the resolver's search domains
/// (`metadata` becomes `metadata.google.internal` on GCP), so they are internal too.
const INTERNAL_TLDS: &[&str] = &[
    // IANA Special-Use Domain Names registry (RFC 6761 and later); `localhost` is loopback, see below.
    "local",   // RFC 6762: multicast DNS
    "test",    // RFC 6761 §6.2
    "invalid", // RFC 6761 §6.4
    "example", // RFC 6761 §6.5 (the TLD; example.com/.net/.org are real, public names)
    "onion",   // RFC 7686: Tor, never resolved by DNS
    "alt",     // RFC 9476: non-DNS namespaces
    // `.arpa` as a whole is infrastructure (RFC 3172): reverse zones, ENUM; no agent fetches HTTP there.
    // The registry's names under it are covered: home.arpa (RFC 8375, home networks), resolver.arpa
    // (RFC 9462), service.arpa (RFC 9665), ipv4only.arpa (RFC 8880, NAT64 discovery).
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

/// The kind of a normalized DNS name (lowercase, no trailing dot) that is not public, by its last label.
pub fn special_name(d: &str) -> Option<SpecialKind> {
    // One search from the end and a comparison per entry that is mostly a length test: this runs on every
    // decision.
    let dot = d.rfind('.');
    let last = dot.map_or(d, |dot| &d[dot + 1..]);
    if last == "localhost" {
        return Some(SpecialKind::Loopback); // RFC 6761 §6.3: `localhost` and every name under it
    }
    if dot.is_none() {
        return Some(SpecialKind::SingleLabelName);
    }
    INTERNAL_TLDS.contains(&last).then_some(SpecialKind::InternalName)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Target;

    fn kind(url: &str) -> Option<SpecialKind> {
        special_target(&Target::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}")))
    }

    fn special_ip(ip: IpAddr) -> Option<SpecialKind> {
        match ip {
            IpAddr::V4(ip) => special_v4(ip),
            IpAddr::V6(ip) => special_v6(ip),
        }
    }

    /// A range's first and last address, as integers of its family's width.
    fn ends(r: &InternalRange) -> (u128, u128) {
        let (first, width) = match r.network {
            IpAddr::V4(ip) => (u128::from(u32::from(ip)), 32),
            IpAddr::V6(ip) => (u128::from(ip), 128),
        };
        let host_bits = width - u32::from(r.prefix_len);
        let span = u128::MAX.checked_shr(128 - host_bits).unwrap_or(0);
        (first, first | span)
    }

    fn ip_like(r: &InternalRange, n: u128) -> IpAddr {
        match r.network {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
        }
    }

    /// What the ranges alone say of `ip`: the first range holding it gives the kind, but in the prefixes
    /// embedding IPv4 a special IPv4 address (by the IPv4 ranges) gives its own.
    fn kind_by_ranges(ranges: &[InternalRange], ip: IpAddr) -> Option<SpecialKind> {
        let r = ranges.iter().find(|r| r.contains(ip))?;
        let embedding = ["::ffff:0:0", "::ffff:0:0:0", "::"].map(|a| a.parse::<IpAddr>().ok());
        match ip {
            IpAddr::V6(v6) if r.prefix_len == 96 && embedding.contains(&Some(r.network)) => {
                let v4 = IpAddr::V4(Ipv4Addr::from(u128::from(v6) as u32));
                Some(kind_by_ranges(ranges, v4).unwrap_or(r.kind))
            }
            _ => Some(r.kind),
        }
    }

    #[test]
    fn ranges_are_networks_and_both_ends_are_special() {
        let ranges = internal_ranges();
        assert!(ranges.len() > 60, "{}", ranges.len());
        for r in &ranges {
            let (first, last) = ends(r);
            let width = if r.network.is_ipv4() { 32 } else { 128 };
            assert!(u32::from(r.prefix_len) <= width, "{r}");
            assert_eq!(ip_like(r, first), r.network, "{r}: host bits set");
            for end in [first, last] {
                let ip = ip_like(r, end);
                assert!(special_ip(ip).is_some(), "{r}: {ip} is not special");
                assert!(r.contains(ip), "{r}: {ip}");
            }
        }
        let text: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        for want in [
            "10.0.0.0/8",
            "169.254.169.254/32",
            "fd00:ec2::254/128",
            "fc00::/7",
            "::ffff:0.0.0.0/96",
            "64:ff9b::a00:0/104",
            "64:ff9b::a9fe:a9fe/128",
            "2002:a00::/24",
            "2002:e000::/20",
            "2001::/23",
        ] {
            assert!(text.iter().any(|t| t == want), "{want} missing from {text:?}");
        }
    }

    /// xorshift64*: a fixed sequence, so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn next_u128(&mut self) -> u128 {
            (u128::from(self.next()) << 64) | u128::from(self.next())
        }
    }

    #[test]
    fn an_address_is_special_exactly_when_a_range_holds_it() {
        let ranges = internal_ranges();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut samples: Vec<IpAddr> = Vec::new();
        for r in &ranges {
            let (first, last) = ends(r);
            let width = if r.network.is_ipv4() { 32 } else { 128 };
            let top = u128::MAX.checked_shr(128 - width).unwrap_or(0);
            let around = [first.checked_sub(1), Some(first), Some(last), last.checked_add(1)];
            samples.extend(
                around
                    .into_iter()
                    .flatten()
                    .filter(|n| *n <= top)
                    .map(|n| ip_like(r, n)),
            );
            // Inside the range and just around it: the network with random bits below a prefix a few bits
            // shorter than the range's.
            for wider in 0..=8u32 {
                let keep = u32::from(r.prefix_len).saturating_sub(wider);
                let low = top.checked_shr(keep).unwrap_or(0);
                for _ in 0..4 {
                    samples.push(ip_like(r, (first & !low) | (rng.next_u128() & low)));
                }
            }
        }
        for _ in 0..4000 {
            samples.push(IpAddr::V4(Ipv4Addr::from(rng.next() as u32)));
            samples.push(IpAddr::V6(Ipv6Addr::from(rng.next_u128())));
            // Random IPv4 addresses in each prefix that embeds one.
            let v4 = u128::from(rng.next() as u32);
            for prefix in [0, 0xffff << 32, 0xffff << 48, 0x0064_ff9b << 96] {
                samples.push(IpAddr::V6(Ipv6Addr::from(prefix | v4)));
            }
            let six_to_four = (0x2002 << 112) | (v4 << 80) | u128::from(rng.next() as u16);
            samples.push(IpAddr::V6(Ipv6Addr::from(six_to_four)));
        }
        let mut special = 0;
        for ip in samples.iter().copied() {
            let want = kind_by_ranges(&ranges, ip);
            assert_eq!(special_ip(ip), want, "{ip}");
            special += usize::from(want.is_some());
        }
        // Both answers were sampled plenty.
        assert!(
            special > 2000 && samples.len() - special > 2000,
            "{special} of {}",
            samples.len()
        );
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
            ("http://router.home.arpa/", Some(InternalName)),
            ("http://resolver.arpa/", Some(InternalName)),
            ("http://printer.service.arpa/", Some(InternalName)),
            ("http://arpa.example.com/", None),
            ("http://home.arpa.example.com/", None),
            ("http://x.lan/", Some(InternalName)),
            ("http://nas.localdomain/", Some(InternalName)),
            ("http://wiki.intranet/", Some(InternalName)),
            ("http://x.localhost.com/", None),
            ("http://com/", Some(SingleLabelName)),
            ("http://lan.com/", None),
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

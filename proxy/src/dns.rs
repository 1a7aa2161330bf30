//! `dns`: the resolver Squid asks (DESIGN §12), a forwarder that drops every A/AAAA answer inside the
//! internal list. Squid checks a name's addresses (`dst` ACL) after the gateway allowed it and normally
//! dials from the cache entry it checked, but it looks a name up again when it picks a destination, and
//! an entry that expired or was evicted between check and dial would be dialled unchecked (DNS
//! rebinding). Below Squid, this closes that: no internal address ever reaches Squid's cache, so none can
//! be dialled whatever Squid's timing. A name with only internal addresses answers with none, which
//! Squid's address check reads as `internal_address` (a refusal, never a connection).
//!
//! The list is the one Squid enforces (`internal-ranges.txt` as the entrypoint rendered it, so the lab's
//! documented exclusion applies to both); IPv4-mapped IPv6 answers are judged as their IPv4 address.
//! Every failure (no upstream answer in time, an unreadable answer, one for another query) is a
//! SERVFAIL: no address, no connection. Queries are forwarded unchanged (RFC 1035 §4.2: UDP, and TCP
//! for a truncated answer); each upstream exchange uses a fresh socket, so answers are matched by
//! source and id.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, Record};
use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::env;

/// How long one upstream has to answer one query before the next is asked.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest UDP answer a client that did not offer EDNS accepts (RFC 1035 §4.2.1); Squid offers
/// none unless `dns_packet_max` is set.
const UDP_LIMIT: usize = 512;
/// The largest DNS message (two-byte length on TCP).
const MAX_MESSAGE: usize = 65_535;

/// Why the filter cannot start, or one query gets no filtered answer (the client then gets SERVFAIL).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A line of the internal list is not a CIDR range.
    #[error("internal list line {line}: {text:?} is not an address range")]
    List {
        /// The line number, from 1.
        line: usize,
        /// The line, its comment and surrounding blanks removed.
        text: String,
    },
    /// The internal list holds no range.
    #[error("the internal list is empty: refusing to resolve without it")]
    EmptyList,
    /// A DNS message does not parse or encode.
    #[error("unreadable DNS message: {0}")]
    Message(#[from] hickory_proto::ProtoError),
    /// The answer's id, message type or question is not the query's.
    #[error("the upstream answered another query")]
    Mismatch,
    /// No upstream gave a usable answer in time: each one's failure, `; `-separated.
    #[error("no upstream answered: {0}")]
    Upstream(String),
    /// A socket or file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The environment does not configure the filter.
    #[error("{0}")]
    Settings(String),
}

/// The internal address ranges, as Squid's `dst` ACL has them.
#[derive(Debug, Clone)]
pub struct InternalList(Vec<IpNet>);

impl InternalList {
    /// One CIDR per line; blank lines and `#` comments are skipped. An empty list is an error: a filter
    /// that filters nothing must not look like one that works.
    pub fn parse(text: &str) -> Result<Self, DnsError> {
        let mut nets = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let net = line.parse::<IpNet>().map_err(|_| DnsError::List {
                line: i + 1,
                text: line.to_owned(),
            })?;
            nets.push(net);
        }
        if nets.is_empty() {
            return Err(DnsError::EmptyList);
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is internal. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is its
    /// IPv4 address: that is the host a socket reaches with it.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    fn keeps(&self, record: &Record) -> bool {
        match record.data() {
            RData::A(a) => !self.contains(IpAddr::V4(a.0)),
            RData::AAAA(a) => !self.contains(IpAddr::V6(a.0)),
            _ => true,
        }
    }
}

/// An upstream answer with the internal addresses taken out.
#[derive(Debug)]
pub struct Filtered {
    /// The upstream answer, without internal A/AAAA records in its answer and additional sections.
    pub message: Message,
    /// The internal addresses taken out, for the log.
    pub dropped: Vec<IpAddr>,
}

/// Takes every internal A/AAAA record out of an upstream `answer` to `query` (answer and additional
/// sections; authority holds no addresses Squid uses). An answer with another id or question is not
/// this query's answer.
pub fn filter(answer: &[u8], query: &Message, list: &InternalList) -> Result<Filtered, DnsError> {
    let mut message = Message::from_vec(answer)?;
    if message.id() != query.id()
        || message.message_type() != MessageType::Response
        || message.queries() != query.queries()
    {
        return Err(DnsError::Mismatch);
    }
    let mut dropped = Vec::new();
    let mut sift = |records: Vec<Record>| {
        records
            .into_iter()
            .filter(|r| {
                let keep = list.keeps(r);
                if !keep {
                    match r.data() {
                        RData::A(a) => dropped.push(IpAddr::V4(a.0)),
                        RData::AAAA(a) => dropped.push(IpAddr::V6(a.0)),
                        _ => {}
                    }
                }
                keep
            })
            .collect::<Vec<_>>()
    };
    let answers = sift(message.take_answers());
    let additionals = sift(message.take_additionals());
    message.insert_answers(answers);
    message.insert_additionals(additionals);
    Ok(Filtered { message, dropped })
}

/// The answer to `query` that says only "failed" (RFC 1035 §4.1.1 RCODE 2), or `None` when the query
/// itself is unreadable (nothing to answer).
pub fn servfail(query: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let mut reply = head_of(&query);
    reply
        .set_recursion_available(true)
        .set_response_code(ResponseCode::ServFail);
    reply.to_vec().ok()
}

/// A response with `message`'s id, opcode, RD bit and question, and nothing else (no records).
fn head_of(message: &Message) -> Message {
    let mut head = Message::new();
    head.set_id(message.id())
        .set_message_type(MessageType::Response)
        .set_op_code(message.op_code())
        .set_recursion_desired(message.recursion_desired())
        .add_queries(message.queries().to_vec());
    head
}

/// `message` for a UDP client: as it is when it fits, else only its header and question with TC set
/// (RFC 1035 §4.2.1), so the client asks again over TCP.
fn for_udp(message: &Message) -> Result<Vec<u8>, DnsError> {
    let bytes = message.to_vec()?;
    if bytes.len() <= UDP_LIMIT {
        return Ok(bytes);
    }
    let mut cut = head_of(message);
    cut.set_recursion_available(message.recursion_available())
        .set_response_code(message.response_code())
        .set_truncated(true);
    Ok(cut.to_vec()?)
}

/// Where the filter listens, whom it asks, and the list it enforces.
#[derive(Debug, Clone)]
pub struct DnsSettings {
    /// The address, port 53, served on both UDP and TCP.
    pub listen: SocketAddr,
    /// The nameservers asked in turn, port 53 each.
    pub upstreams: Vec<SocketAddr>,
    /// The rendered internal-ranges file (`EGRESS_PROXY_RANGES_FILE`).
    pub list: PathBuf,
}

impl DnsSettings {
    /// `EGRESS_PROXY_DNS_LISTEN` (an address; port 53, since Squid's `dns_nameservers` takes addresses
    /// only), `EGRESS_PROXY_DNS` (upstream addresses, space or comma separated; default: the
    /// `nameserver` lines of /etc/resolv.conf), `EGRESS_PROXY_RANGES_FILE` (the rendered list).
    pub fn from_env() -> Result<Self, DnsError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let listen_ip: IpAddr = var(env::DNS_LISTEN)
            .ok_or_else(|| DnsError::Settings(format!("{} is not set", env::DNS_LISTEN)))?
            .parse()
            .map_err(|_| DnsError::Settings(format!("{} is not an address", env::DNS_LISTEN)))?;
        let upstream_text = match var(env::DNS) {
            Some(v) => v,
            None => resolv_conf_nameservers(&std::fs::read_to_string("/etc/resolv.conf")?),
        };
        let upstreams = upstream_text
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpAddr>()
                    .map(|ip| SocketAddr::new(ip, 53))
                    .map_err(|_| DnsError::Settings(format!("upstream {s:?} is not an address")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if upstreams.is_empty() {
            return Err(DnsError::Settings("no upstream nameserver".into()));
        }
        let list = var(env::RANGES_FILE)
            .ok_or_else(|| DnsError::Settings(format!("{} is not set", env::RANGES_FILE)))?
            .into();
        Ok(Self {
            listen: SocketAddr::new(listen_ip, 53),
            upstreams,
            list,
        })
    }
}

/// The `nameserver` addresses of a resolv.conf (resolv.conf(5)), space separated.
pub fn resolv_conf_nameservers(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn ask_udp(upstream: SocketAddr, query: &[u8]) -> Result<Vec<u8>, DnsError> {
    let local = if upstream.is_ipv4() {
        SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    };
    let socket = UdpSocket::bind(local).await?;
    // Connected: the kernel drops datagrams from anyone but the upstream.
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    let n = socket.recv(&mut buf).await?;
    buf.truncate(n);
    Ok(buf)
}

async fn ask_tcp(upstream: SocketAddr, query: &[u8]) -> Result<Vec<u8>, DnsError> {
    let mut stream = TcpStream::connect(upstream).await?;
    write_framed(&mut stream, query).await?;
    read_framed(&mut stream).await
}

async fn write_framed(stream: &mut TcpStream, message: &[u8]) -> Result<(), DnsError> {
    let len = u16::try_from(message.len()).map_err(|_| DnsError::Upstream("message too long".into()))?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(message).await?;
    Ok(())
}

async fn read_framed(stream: &mut TcpStream) -> Result<Vec<u8>, DnsError> {
    let len = stream.read_u16().await? as usize;
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Asks each upstream in turn (UDP, then TCP when the answer is truncated) and filters the first
/// answer that reads. The query is forwarded as the client sent it.
pub async fn resolve(query: &[u8], upstreams: &[SocketAddr], list: &InternalList) -> Result<Filtered, DnsError> {
    let parsed = Message::from_vec(query)?;
    let mut failures = Vec::new();
    for upstream in upstreams {
        let exchange = async {
            let answer = ask_udp(*upstream, query).await?;
            let first = filter(&answer, &parsed, list)?;
            if first.message.truncated() {
                return filter(&ask_tcp(*upstream, query).await?, &parsed, list);
            }
            Ok(first)
        };
        match tokio::time::timeout(UPSTREAM_TIMEOUT, exchange).await {
            Ok(Ok(filtered)) => return Ok(filtered),
            Ok(Err(e)) => failures.push(format!("{upstream}: {e}")),
            Err(_) => failures.push(format!("{upstream}: no answer in {UPSTREAM_TIMEOUT:?}")),
        }
    }
    Err(DnsError::Upstream(failures.join("; ")))
}

/// The answer for a client: filtered, or SERVFAIL; `None` when the query was unreadable.
async fn answer(query: &[u8], upstreams: &[SocketAddr], list: &InternalList, udp: bool) -> Option<Vec<u8>> {
    let reply = match resolve(query, upstreams, list).await {
        Ok(filtered) => {
            if !filtered.dropped.is_empty() {
                let name = filtered
                    .message
                    .queries()
                    .first()
                    .map(|q| q.name().to_ascii())
                    .unwrap_or_default();
                tracing::warn!(name = %name, dropped = ?filtered.dropped, "internal addresses taken out of a DNS answer");
            }
            if udp {
                for_udp(&filtered.message)
            } else {
                filtered.message.to_vec().map_err(DnsError::from)
            }
        }
        Err(e) => Err(e),
    };
    match reply {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::error!(error = %e, "DNS query failed: answering SERVFAIL");
            servfail(query)
        }
    }
}

/// Serves UDP and TCP on `settings.listen` until the process ends.
pub async fn run(settings: DnsSettings) -> Result<(), DnsError> {
    let list = Arc::new(InternalList::parse(&std::fs::read_to_string(&settings.list)?)?);
    let upstreams: Arc<[SocketAddr]> = settings.upstreams.clone().into();
    let udp = Arc::new(UdpSocket::bind(settings.listen).await?);
    let tcp = TcpListener::bind(settings.listen).await?;
    tracing::info!(listen = %settings.listen, upstreams = ?settings.upstreams, "DNS filter listening");

    let (tcp_list, tcp_upstreams) = (Arc::clone(&list), Arc::clone(&upstreams));
    let tcp_loop = tokio::spawn(async move {
        loop {
            let mut stream = match tcp.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, say: wait rather than spin; Squid retries over UDP.
                    tracing::error!(error = %e, "DNS filter: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (list, upstreams) = (Arc::clone(&tcp_list), Arc::clone(&tcp_upstreams));
            tokio::spawn(async move {
                // One query per connection is all Squid sends; more would be answered in turn.
                while let Ok(query) = read_framed(&mut stream).await {
                    let Some(reply) = answer(&query, &upstreams, &list, false).await else {
                        break;
                    };
                    if write_framed(&mut stream, &reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });

    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let (n, peer) = udp.recv_from(&mut buf).await?;
        let query = buf[..n].to_vec();
        let (udp, list, upstreams) = (Arc::clone(&udp), Arc::clone(&list), Arc::clone(&upstreams));
        tokio::spawn(async move {
            if let Some(reply) = answer(&query, &upstreams, &list, true).await {
                let _ = udp.send_to(&reply, peer).await;
            }
        });
        if tcp_loop.is_finished() {
            return Err(DnsError::Upstream("the TCP listener stopped".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::rdata::{A, AAAA, CNAME};
    use hickory_proto::rr::{Name, RecordType};
    use std::str::FromStr;

    fn list() -> InternalList {
        InternalList::parse("# internal\n127.0.0.0/8\n10.0.0.0/8\n169.254.0.0/16\nfc00::/7\n::1/128\n\n").unwrap()
    }

    fn query() -> Message {
        let mut q = Message::new();
        q.set_id(77)
            .add_query(Query::query(Name::from_str("rebind.example.").unwrap(), RecordType::A));
        q
    }

    fn answer_with(records: Vec<Record>) -> Vec<u8> {
        let mut m = query();
        m.set_message_type(MessageType::Response);
        m.insert_answers(records);
        m.to_vec().unwrap()
    }

    fn rec(rdata: RData) -> Record {
        Record::from_rdata(Name::from_str("rebind.example.").unwrap(), 0, rdata)
    }

    #[test]
    fn internal_addresses_leave_the_answer_and_the_rest_stays() {
        let bytes = answer_with(vec![
            rec(RData::CNAME(CNAME(Name::from_str("edge.example.").unwrap()))),
            rec(RData::A(A("127.0.0.1".parse().unwrap()))),
            rec(RData::A(A("93.184.216.34".parse().unwrap()))),
            rec(RData::A(A("169.254.169.254".parse().unwrap()))),
            rec(RData::AAAA(AAAA("::ffff:10.1.2.3".parse().unwrap()))),
            rec(RData::AAAA(AAAA("fd00::1".parse().unwrap()))),
            rec(RData::AAAA(AAAA("2606:2800:220:1::1".parse().unwrap()))),
        ]);
        let f = filter(&bytes, &query(), &list()).unwrap();
        let kept: Vec<String> = f.message.answers().iter().map(|r| r.data().to_string()).collect();
        assert_eq!(kept, ["edge.example.", "93.184.216.34", "2606:2800:220:1::1"]);
        assert_eq!(f.dropped.len(), 4);
    }

    #[test]
    fn only_internal_addresses_answer_with_none() {
        let bytes = answer_with(vec![rec(RData::A(A("127.0.0.1".parse().unwrap())))]);
        let f = filter(&bytes, &query(), &list()).unwrap();
        assert!(f.message.answers().is_empty());
        assert_eq!(f.message.response_code(), ResponseCode::NoError);
    }

    #[test]
    fn another_querys_answer_or_garbage_is_an_error() {
        let bytes = answer_with(vec![]);
        let mut other_id = query();
        other_id.set_id(78);
        assert!(matches!(filter(&bytes, &other_id, &list()), Err(DnsError::Mismatch)));
        let mut other_question = query();
        other_question.queries_mut()[0].set_query_type(RecordType::AAAA);
        assert!(matches!(
            filter(&bytes, &other_question, &list()),
            Err(DnsError::Mismatch)
        ));
        assert!(filter(b"\x00\x01garbage", &query(), &list()).is_err());
    }

    #[test]
    fn a_failure_answers_servfail_to_the_same_question() {
        let mut q = Message::new();
        q.set_id(9)
            .add_query(Query::query(Name::from_str("a.example.").unwrap(), RecordType::AAAA));
        let reply = Message::from_vec(&servfail(&q.to_vec().unwrap()).unwrap()).unwrap();
        assert_eq!(reply.id(), 9);
        assert_eq!(reply.response_code(), ResponseCode::ServFail);
        assert_eq!(reply.queries(), q.queries());
        assert!(reply.answers().is_empty());
        assert_eq!(servfail(b"\x01"), None);
    }

    #[test]
    fn an_answer_too_long_for_udp_is_cut_with_tc() {
        let many = (0..60u8)
            .map(|i| rec(RData::A(A(std::net::Ipv4Addr::new(93, 184, 0, i)))))
            .collect();
        let m = Message::from_vec(&answer_with(many)).unwrap();
        let cut = Message::from_vec(&for_udp(&m).unwrap()).unwrap();
        assert!(cut.truncated());
        assert!(cut.answers().is_empty());
        let small = Message::from_vec(&answer_with(vec![])).unwrap();
        assert!(!Message::from_vec(&for_udp(&small).unwrap()).unwrap().truncated());
    }

    #[test]
    fn the_list_reads_squids_file_and_refuses_an_empty_one() {
        assert!(list().contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!list().contains("8.8.8.8".parse().unwrap()));
        assert!(matches!(InternalList::parse("# nothing\n"), Err(DnsError::EmptyList)));
        assert!(matches!(
            InternalList::parse("10.0.0.0/8\nnot-a-net\n"),
            Err(DnsError::List { line: 2, .. })
        ));
        let checked_in = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/proxy/internal-ranges.txt"
        ))
        .unwrap();
        let real = InternalList::parse(&checked_in).unwrap();
        for ip in [
            "127.0.0.1",
            "169.254.169.254",
            "10.1.1.1",
            "::1",
            "fe80::1",
            "::ffff:169.254.169.254",
            "198.18.1.2",
        ] {
            assert!(real.contains(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn resolv_conf_gives_its_nameservers() {
        let text = "# generated\nsearch ec2.internal\nnameserver 169.254.169.253\nnameserver 10.0.0.2 # second\noptions ndots:1\n";
        assert_eq!(resolv_conf_nameservers(text), "169.254.169.253 10.0.0.2");
    }
}

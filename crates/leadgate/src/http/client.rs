//! Who the client is: the connecting address, or behind proxies the operator trusts, the
//! address the nearest untrusted hop was forwarded for. Rate limits are keyed on it.

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// The header a trusted proxy writes the client's address into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1` (Caddy with a setting, Envoy).
    Forwarded,
}

/// The proxies whose forwarding headers are believed, and which header they write. With
/// none, the connecting address is the client and forwarding headers are ignored: anyone
/// can write them.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    pub networks: Vec<IpNet>,
    pub header: ProxyHeader,
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`: walking the forwarded addresses from the nearest hop
    /// back, the first one that is not a trusted proxy. A hop that does not read as an
    /// address ends the walk at the proxy that wrote it, so a forged value keys the limit on
    /// that proxy's client rather than on a value the sender chose.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in self.hops(headers).iter().rev() {
            match hop {
                Some(ip) => {
                    client = canonical(*ip);
                    if !self.trusts(client) {
                        return client;
                    }
                }
                None => return client,
            }
        }
        client
    }

    /// The forwarded addresses in the order the header lists them (client first); `None`
    /// for a value that is no address (`unknown`, an obfuscated name, garbage).
    fn hops(&self, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
        let name = match self.header {
            ProxyHeader::XForwardedFor => "x-forwarded-for",
            ProxyHeader::Forwarded => "forwarded",
        };
        let mut hops = Vec::new();
        for value in headers.get_all(name) {
            let Ok(value) = value.to_str() else {
                hops.push(None);
                continue;
            };
            for element in value.split(',') {
                hops.push(match self.header {
                    ProxyHeader::XForwardedFor => parse_node(element.trim()),
                    ProxyHeader::Forwarded => {
                        let node = element.split(';').find_map(|pair| {
                            let (k, v) = pair.trim().split_once('=')?;
                            k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
                        });
                        node.and_then(|n| parse_node(n.trim_matches('"')))
                    }
                });
            }
        }
        hops
    }
}

/// A proxy as configured: a network (`10.0.0.0/8`) or one address (`10.0.0.2`, `::1`).
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    IpNet::from_str(text)
        .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
        .map_err(|_| format!("'{text}' is neither an address nor a network like 10.0.0.0/8"))
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(node) {
        return Some(ip);
    }
    if let Ok(socket) = SocketAddr::from_str(node) {
        return Some(socket.ip());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| IpAddr::from_str(ip).ok())
}

/// An IPv4 address written as IPv6 (`::ffff:203.0.113.7`, as dual-stack sockets report
/// it) is the IPv4 address: one client, one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address, as a handler argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddress
where
    Arc<TrustedProxies>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let trusted = Arc::<TrustedProxies>::from_ref(state);
        Ok(ClientAddress(trusted.client(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn trusted(networks: &[&str], header: ProxyHeader) -> TrustedProxies {
        TrustedProxies {
            networks: networks.iter().map(|n| n.parse().unwrap()).collect(),
            header,
        }
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name, v.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxies = trusted(&["10.0.0.0/8", "::1/128"], ProxyHeader::XForwardedFor);
        let xff = |v: &[&str]| headers("x-forwarded-for", v);
        // Straight from the internet: the header is the sender's own words.
        assert_eq!(
            proxies.client(ip("198.51.100.9"), &xff(&["203.0.113.7"])),
            ip("198.51.100.9")
        );
        // Through the proxy: the address it appended.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &xff(&["203.0.113.7"])),
            ip("203.0.113.7")
        );
        // A forged first hop is skipped: the proxy appended the real one last.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &xff(&["1.2.3.4, 203.0.113.7"])),
            ip("203.0.113.7")
        );
        // Two proxies in a row; headers split over lines; ports and brackets.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &xff(&["203.0.113.7:5555", "10.1.1.1"])),
            ip("203.0.113.7")
        );
        assert_eq!(
            proxies.client(ip("::1"), &xff(&["[2001:db8::7]:443"])),
            ip("2001:db8::7")
        );
        // Garbage where the client should be: the proxy's own address, not a chosen one.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &xff(&["1.2.3.4, nonsense"])),
            ip("10.0.0.2")
        );
        // No header at all: the proxy.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        // A mapped IPv4 peer is the IPv4 address.
        assert_eq!(
            proxies.client(ip("::ffff:198.51.100.9"), &HeaderMap::new()),
            ip("198.51.100.9")
        );
        // Nothing trusted: headers never count.
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.2"), &xff(&["203.0.113.7"])),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn proxies_are_configured_as_networks_or_addresses() {
        assert_eq!(
            parse_network("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_network(" 10.0.0.2 ").unwrap().to_string(),
            "10.0.0.2/32"
        );
        assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
        assert!(parse_network("proxy.local")
            .unwrap_err()
            .contains("proxy.local"));
    }

    #[test]
    fn the_forwarded_header_is_read_when_the_proxy_writes_it() {
        let proxies = trusted(&["10.0.0.0/8"], ProxyHeader::Forwarded);
        let forwarded = headers(
            "forwarded",
            &["for=1.2.3.4, for=\"[2001:db8::7]:443\";proto=https, for=10.9.9.9"],
        );
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &forwarded),
            ip("2001:db8::7")
        );
        // X-Forwarded-For is not what this proxy writes: a sender's copy is ignored.
        assert_eq!(
            proxies.client(
                ip("10.0.0.2"),
                &headers("x-forwarded-for", &["203.0.113.7"])
            ),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &headers("forwarded", &["for=unknown"])),
            ip("10.0.0.2")
        );
    }

    proptest! {
        /// Whatever a sender writes, the client is either an address the sender cannot
        /// choose (the peer, or a trusted hop) or the hop the nearest trusted proxy wrote.
        #[test]
        fn a_sender_cannot_pick_its_key_past_the_proxy(forged in "\\PC{0,40}", real in any::<[u8; 4]>()) {
            let proxies = trusted(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
            let real = IpAddr::from(real);
            prop_assume!(!proxies.trusts(real));
            let mut map = HeaderMap::new();
            if let Ok(value) = forged.parse() {
                map.append("x-forwarded-for", value);
            }
            map.append("x-forwarded-for", real.to_string().parse().unwrap());
            let client = proxies.client(ip("10.0.0.2"), &map);
            prop_assert!(client == canonical(real) || proxies.trusts(client));
        }
    }
}

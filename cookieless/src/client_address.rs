//! Which address a request comes from, as far as the budget of new sessions is concerned.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap, HeaderName};

/// Where the layer finds the address of the client that sent a request.
///
/// ```
/// use cookieless::ClientAddress;
///
/// // Served directly: the TCP peer. The server must be made with
/// // `into_make_service_with_connect_info::<SocketAddr>()`.
/// let direct = ClientAddress::Peer;
/// // Behind one reverse proxy that appends the peer it saw to `X-Forwarded-For`:
/// let proxied = ClientAddress::forwarded_for("x-forwarded-for".parse().unwrap(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// The TCP peer, from axum's `ConnectInfo<SocketAddr>`.
    #[default]
    Peer,
    /// The address that the nearest `trusted_hops` proxies wrote in a header that lists one
    /// address per hop, the nearest last (`X-Forwarded-For`). Entries before those are written
    /// by the client and not believed. Without the header, the TCP peer; with the header but no
    /// address readable where the trusted proxy writes it, no address. Made with
    /// [`ClientAddress::forwarded_for`].
    #[non_exhaustive]
    ForwardedFor {
        /// The header, such as `x-forwarded-for`.
        header: HeaderName,
        /// How many proxies in front of the server append to the header (at least 1).
        trusted_hops: usize,
    },
}

impl ClientAddress {
    /// Trusts the last `trusted_hops` entries of `header` (at least one): behind a single
    /// reverse proxy that appends the peer it saw, `forwarded_for(header, 1)`.
    ///
    /// ```
    /// use cookieless::ClientAddress;
    ///
    /// let mut request = http::Request::new(());
    /// request
    ///     .headers_mut()
    ///     .insert("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse().unwrap());
    /// let proxied = ClientAddress::forwarded_for("x-forwarded-for".parse().unwrap(), 1);
    /// let client = proxied.of(request.headers(), request.extensions());
    /// // The client wrote 6.6.6.6 itself; the proxy appended what it saw.
    /// assert_eq!(client, Some("203.0.113.9".parse().unwrap()));
    /// ```
    pub fn forwarded_for(header: HeaderName, trusted_hops: usize) -> Self {
        ClientAddress::ForwardedFor {
            header,
            trusted_hops: trusted_hops.max(1),
        }
    }

    /// The address of the client that sent a request with these `headers` and `extensions`, if
    /// they say it.
    ///
    /// ```
    /// use std::net::{IpAddr, SocketAddr};
    /// use axum::extract::ConnectInfo;
    /// use cookieless::ClientAddress;
    ///
    /// let mut request = http::Request::new(());
    /// let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    /// request.extensions_mut().insert(ConnectInfo(peer));
    /// let client = ClientAddress::Peer.of(request.headers(), request.extensions());
    /// assert_eq!(client, Some(IpAddr::from([192, 0, 2, 1])));
    /// ```
    pub fn of(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        let peer = || {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip())
        };
        match self {
            ClientAddress::Peer => peer(),
            ClientAddress::ForwardedFor {
                header,
                trusted_hops,
            } => match forwarded(headers, header, *trusted_hops) {
                Forwarded::Absent => peer(),
                Forwarded::Address(address) => Some(address),
                Forwarded::Unreadable => None,
            },
        }
    }

    /// The key an address is counted under by per-address limits: IPv6 clients by their /64,
    /// since one host is usually given a whole /64 to pick addresses from, and IPv4-mapped IPv6
    /// as the IPv4 address it is. The layer's budget of new sessions counts so; an app's own
    /// limits should too.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use cookieless::ClientAddress;
    ///
    /// let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    /// let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
    /// assert_eq!(ClientAddress::counted_as(one), ClientAddress::counted_as(other));
    /// ```
    pub fn counted_as(address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(_) => address,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(Ipv6Addr::from(prefix))
                }
            },
        }
    }
}

/// What a forwarding header says of the client.
enum Forwarded {
    /// No such header: the request did not come through the proxy.
    Absent,
    Address(IpAddr),
    /// The header is there, but not an address where the trusted proxy writes it.
    Unreadable,
}

/// The entry `trusted_hops` from the end of every `header` line taken together (the last line
/// last), or the first entry if there are fewer. Read from the end, since only the proxies'
/// entries are trusted: whatever the client wrote before them is never read.
fn forwarded(headers: &HeaderMap, header: &HeaderName, trusted_hops: usize) -> Forwarded {
    let mut lines = headers.get_all(header).iter().rev().peekable();
    if lines.peek().is_none() {
        return Forwarded::Absent;
    }
    let mut seen = 0;
    let mut first = None;
    for line in lines {
        let Ok(text) = line.to_str() else {
            return Forwarded::Unreadable;
        };
        for entry in text.rsplit(',').map(str::trim) {
            seen += 1;
            if seen == trusted_hops {
                return parse_entry(entry).map_or(Forwarded::Unreadable, Forwarded::Address);
            }
            first = Some(entry);
        }
    }
    first
        .and_then(parse_entry)
        .map_or(Forwarded::Unreadable, Forwarded::Address)
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or
/// `203.0.113.7:80`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Request};

    use super::*;

    impl ClientAddress {
        fn of_request(&self, request: &Request<()>) -> Option<IpAddr> {
            self.of(request.headers(), request.extensions())
        }
    }

    fn request(peer: Option<&str>, forwarded: &[&str]) -> Request<()> {
        let mut request = Request::new(());
        if let Some(peer) = peer {
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        for value in forwarded {
            request
                .headers_mut()
                .append("x-forwarded-for", value.parse().unwrap());
        }
        request
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_peer_is_the_default() {
        let request = request(Some("192.0.2.1:5000"), &["203.0.113.9"]);
        assert_eq!(ClientAddress::Peer.of_request(&request), ip("192.0.2.1"));
        assert_eq!(
            ClientAddress::Peer.of_request(&self::request(None, &[])),
            None
        );
    }

    #[test]
    fn only_the_trusted_hops_of_a_forwarded_header_are_believed() {
        let header: HeaderName = "x-forwarded-for".parse().unwrap();
        let one = ClientAddress::forwarded_for(header.clone(), 1);
        let two = ClientAddress::forwarded_for(header.clone(), 2);
        let spoofed = request(
            Some("10.0.0.1:1"),
            &["6.6.6.6, 203.0.113.9", "198.51.100.2"],
        );
        assert_eq!(one.of_request(&spoofed), ip("198.51.100.2"));
        assert_eq!(two.of_request(&spoofed), ip("203.0.113.9"));
        let short = request(Some("10.0.0.1:1"), &["203.0.113.9"]);
        assert_eq!(two.of_request(&short), ip("203.0.113.9"));
        let bracketed = request(Some("10.0.0.1:1"), &["[2001:db8::7]:443"]);
        assert_eq!(one.of_request(&bracketed), ip("2001:db8::7"));
        // No header: the peer. Nothing usable at the trusted position: no address, never the
        // proxy's (which would pool such clients with everyone behind the proxy).
        assert_eq!(
            one.of_request(&request(Some("10.0.0.1:1"), &[])),
            ip("10.0.0.1")
        );
        assert_eq!(
            one.of_request(&request(Some("10.0.0.1:1"), &["unknown"])),
            None
        );
        // A line the client sent that is not text is never read when the trusted entry follows it.
        let mut mixed = request(Some("10.0.0.1:1"), &[]);
        let headers = mixed.headers_mut();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        headers.append("x-forwarded-for", "198.51.100.2".parse().unwrap());
        assert_eq!(one.of_request(&mixed), ip("198.51.100.2"));
        assert_eq!(two.of_request(&mixed), None);
        assert_eq!(ClientAddress::forwarded_for(header, 0), one);
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(
            ClientAddress::counted_as("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            ClientAddress::counted_as("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            ClientAddress::counted_as("192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }
}

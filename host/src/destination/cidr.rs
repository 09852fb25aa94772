//! Address ranges (`10.0.0.0/8`, `::1/128`): the owner's
//! `egress.allow_private` entries and the host's own blocked-range table.
//! Parsing and containment are `ipnet`'s; the table itself stays explicit
//! (in `egress::address`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An address range, e.g. `10.0.0.0/8` or `::1/128`.
///
/// Host bits below the prefix are allowed and kept as written
/// (`10.1.2.3/8` is the range `10.0.0.0/8`), as they always were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    /// Parse `addr/prefix`, or a bare address as a single-address range.
    ///
    /// The address must be one `std` accepts (so no octets with leading
    /// zeros, which some parsers read as octal); the range is `ipnet`'s
    /// grammar: a decimal prefix of at most 32 (IPv4) or 128 (IPv6).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        match prefix {
            None => Ok(Cidr(IpNet::from(addr))),
            // The address is valid, so what ipnet refuses is the prefix.
            Some(_) => s
                .parse::<IpNet>()
                .map(Cidr)
                .map_err(|_| format!("{s:?} has an invalid prefix length")),
        }
    }

    /// A constant IPv4 range; a prefix over 32 fails to compile.
    pub(crate) const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Cidr(IpNet::V4(Ipv4Net::new_assert(
            Ipv4Addr::new(a, b, c, d),
            prefix,
        )))
    }

    /// A constant IPv6 range; a prefix over 128 fails to compile.
    pub(crate) const fn v6(segments: [u16; 8], prefix: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Cidr(IpNet::V6(Ipv6Net::new_assert(
            Ipv6Addr::new(a, b, c, d, e, f, g, h),
            prefix,
        )))
    }

    /// Whether `ip` is inside this range (an IPv4 range never contains an
    /// IPv6 address, and the other way round).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_of_both_families() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert_eq!(net, Cidr::v4(10, 0, 0, 0, 8));
        assert!(net.contains(ip("10.0.0.0")) && net.contains(ip("10.255.255.255")));
        assert!(!net.contains(ip("11.0.0.0")) && !net.contains(ip("9.255.255.255")));
        let odd = Cidr::parse("172.16.0.0/12").unwrap();
        assert!(odd.contains(ip("172.31.255.255")) && !odd.contains(ip("172.32.0.0")));
        let v6 = Cidr::parse("fe80::/10").unwrap();
        assert_eq!(v6, Cidr::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10));
        assert!(v6.contains(ip("febf:ffff::1")) && !v6.contains(ip("fec0::")));
        assert!(
            Cidr::parse("::ffff:10.0.0.0/104")
                .unwrap()
                .contains(ip("::ffff:10.9.9.9"))
        );
        // The families never mix.
        assert!(!Cidr::parse("0.0.0.0/0").unwrap().contains(ip("::1")));
        assert!(!Cidr::parse("::/0").unwrap().contains(ip("127.0.0.1")));
        assert!(!net.contains(ip("::ffff:10.0.0.1")));
    }

    #[test]
    fn a_bare_address_is_a_single_address_range() {
        assert_eq!(Cidr::parse("127.0.0.1"), Cidr::parse("127.0.0.1/32"));
        assert_eq!(Cidr::parse("::1"), Cidr::parse("::1/128"));
        let one = Cidr::parse("192.168.1.7").unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.6")));
    }

    #[test]
    fn every_prefix_length_in_range_is_accepted_and_none_outside() {
        for p in 0..=32 {
            let net = Cidr::parse(&format!("10.0.0.0/{p}")).unwrap();
            assert!(net.contains(ip("10.0.0.0")), "/{p}");
            assert_eq!(net.contains(ip("10.0.0.1")), p < 32, "/{p}");
            assert_eq!(net.contains(ip("11.0.0.0")), p < 8, "/{p}");
        }
        for p in 0..=128 {
            let net = Cidr::parse(&format!("2001:db8::/{p}")).unwrap();
            assert_eq!(net.contains(ip("2001:db8::1")), p < 128, "/{p}");
        }
        assert!(Cidr::parse("::1/128").unwrap().contains(ip("::1")));
        for (bad, why) in [
            ("10.0.0.0/33", "has an invalid prefix length"),
            ("10.0.0.0/255", "has an invalid prefix length"),
            ("10.0.0.0/256", "has an invalid prefix length"),
            ("::/129", "has an invalid prefix length"),
            ("::/1000", "has an invalid prefix length"),
            ("10.0.0.0/", "has an invalid prefix length"),
            ("10.0.0.0/-1", "has an invalid prefix length"),
            ("10.0.0.0/8/8", "has an invalid prefix length"),
            ("10.0.0.0/ 8", "has an invalid prefix length"),
            ("10.0.0.0/0x8", "has an invalid prefix length"),
            // ipnet's grammar: plain digits, at most 2 (IPv4) or 3 (IPv6).
            ("10.0.0.0/+8", "has an invalid prefix length"),
            ("10.0.0.0/008", "has an invalid prefix length"),
            ("nonsense", "is not an IP address or CIDR range"),
            ("/8", "is not an IP address or CIDR range"),
            ("", "is not an IP address or CIDR range"),
            ("10.0.0/8", "is not an IP address or CIDR range"),
            ("256.0.0.0/8", "is not an IP address or CIDR range"),
            // Leading zeros could be read as octal elsewhere.
            ("010.0.0.0/8", "is not an IP address or CIDR range"),
            ("fe80::1%eth0/64", "is not an IP address or CIDR range"),
            ("[::1]/128", "is not an IP address or CIDR range"),
        ] {
            assert_eq!(
                Cidr::parse(bad).unwrap_err(),
                format!("{bad:?} {why}"),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_bits_are_kept_and_ignored_for_containment() {
        let net = Cidr::parse("10.1.2.3/8").unwrap();
        assert!(net.contains(ip("10.200.0.1")) && !net.contains(ip("11.1.2.3")));
        // Kept as written: equal only to the same spelling.
        assert_ne!(net, Cidr::parse("10.0.0.0/8").unwrap());
        let v6 = Cidr::parse("2001:db8::1/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::")) && !v6.contains(ip("2001:db9::")));
    }
}

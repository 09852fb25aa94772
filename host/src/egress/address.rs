//! Which IP addresses a skill may reach. Everything that is not plain public
//! unicast is blocked, whether it came from DNS, a static host entry or an
//! IP literal in the URL. Only the owner's `egress.allow_private` ranges are
//! exempt.

use std::net::IpAddr;

pub use crate::destination::Cidr;

/// IPv4 ranges that are never reachable, with why.
const BLOCKED_V4: &[(Cidr, &str)] = &[
    (Cidr::v4(0, 0, 0, 0, 8), "this-network"),
    (Cidr::v4(10, 0, 0, 0, 8), "private"),
    (Cidr::v4(100, 64, 0, 0, 10), "carrier-grade NAT"),
    (Cidr::v4(127, 0, 0, 0, 8), "loopback"),
    (Cidr::v4(169, 254, 0, 0, 16), "link-local"),
    (Cidr::v4(172, 16, 0, 0, 12), "private"),
    (Cidr::v4(192, 0, 0, 0, 24), "IETF protocol assignments"),
    (Cidr::v4(192, 0, 2, 0, 24), "documentation"),
    (Cidr::v4(192, 88, 99, 0, 24), "6to4 relay"),
    (Cidr::v4(192, 168, 0, 0, 16), "private"),
    (Cidr::v4(198, 18, 0, 0, 15), "benchmarking"),
    (Cidr::v4(198, 51, 100, 0, 24), "documentation"),
    (Cidr::v4(203, 0, 113, 0, 24), "documentation"),
    (Cidr::v4(224, 0, 0, 0, 4), "multicast"),
    (Cidr::v4(240, 0, 0, 0, 4), "reserved or broadcast"),
];

/// IPv6 ranges inside global unicast (2000::/3) that are never reachable.
/// Everything outside 2000::/3 is blocked too (unspecified, loopback,
/// IPv4-mapped and -compatible, ULA, link-local, multicast, ...).
const BLOCKED_V6: &[(Cidr, &str)] = &[
    (
        Cidr::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments (Teredo, benchmarking, ...)",
    ),
    (
        Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        "documentation",
    ),
    (Cidr::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), "6to4"),
    (Cidr::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
];

const NAT64: Cidr = Cidr::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const NAT64_LOCAL: Cidr = Cidr::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48);
const GLOBAL_UNICAST_V6: Cidr = Cidr::v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Why `ip` is not a public unicast address, or `None` if it is.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(_) => BLOCKED_V4
            .iter()
            .find(|(c, _)| c.contains(ip))
            .map(|(_, why)| *why),
        IpAddr::V6(v6) => {
            if v6.to_ipv4_mapped().is_some() {
                return Some("IPv4-mapped IPv6");
            }
            if NAT64.contains(ip) || NAT64_LOCAL.contains(ip) {
                return Some("NAT64");
            }
            if !GLOBAL_UNICAST_V6.contains(ip) {
                // ::, ::1, IPv4-compatible ::a.b.c.d, fc00::/7, fe80::/10,
                // ff00::/8 and all other special or unassigned space.
                return Some("not global unicast IPv6");
            }
            BLOCKED_V6
                .iter()
                .find(|(c, _)| c.contains(ip))
                .map(|(_, why)| *why)
        }
    }
}

/// The address policy: block special addresses unless the owner exempted them.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    exempt: Vec<Cidr>,
}

impl AddressPolicy {
    /// `exempt` are the owner's `egress.allow_private` ranges.
    pub fn new(exempt: &[String]) -> Result<Self, String> {
        Ok(AddressPolicy {
            exempt: exempt
                .iter()
                .map(|s| Cidr::parse(s))
                .collect::<Result<_, _>>()?,
        })
    }

    /// `Err(reason)` if `ip` may not be contacted.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        match blocked_reason(ip) {
            Some(_) if self.exempt.iter().any(|c| c.contains(ip)) => Ok(()),
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_addresses_are_blocked() {
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
        ] {
            assert!(blocked_reason(ip(s)).is_some(), "{s} must be blocked");
        }
    }

    #[test]
    fn public_unicast_is_allowed() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
        ] {
            assert_eq!(blocked_reason(ip(s)), None, "{s} must be allowed");
        }
    }

    #[test]
    fn owner_exemptions_are_exact() {
        let p = AddressPolicy::new(&["127.0.0.1/32".into(), "::1".into()]).unwrap();
        assert!(p.check(ip("127.0.0.1")).is_ok());
        assert!(p.check(ip("::1")).is_ok());
        assert!(p.check(ip("127.0.0.2")).is_err());
        assert!(p.check(ip("10.0.0.1")).is_err());
        assert!(
            p.check(ip("::ffff:127.0.0.1")).is_err(),
            "an IPv4 exemption does not cover mapped IPv6"
        );
    }

    #[test]
    fn cidr_parsing() {
        assert!(
            Cidr::parse("10.0.0.0/8")
                .unwrap()
                .contains(ip("10.200.1.1"))
        );
        assert!(
            !Cidr::parse("10.0.0.0/9")
                .unwrap()
                .contains(ip("10.200.1.1"))
        );
        assert!(Cidr::parse("fe80::/10").unwrap().contains(ip("febf::1")));
        for bad in ["10.0.0.0/33", "::/129", "nonsense", "10.0.0.0/", "/8"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}

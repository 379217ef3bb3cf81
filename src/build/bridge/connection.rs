//! The hosts and ports of a MongoDB connection string, for the connector's NetworkPolicy. The
//! string holds credentials: it is parsed here and nothing of it but ports (and IPv4 literal
//! hosts) leaves this module; errors never quote it.

/// MongoDB's default port, also what `mongodb+srv://` connections are opened to (the SRV
/// records are looked up through DNS).
pub const DEFAULT_PORT: u16 = 27017;

/// Where a connection string connects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Destinations {
    /// TCP ports, sorted, without duplicates.
    pub ports: Vec<u16>,
    /// Hosts written as IPv4 addresses (egress can name them by `/32`).
    pub ipv4: Vec<std::net::Ipv4Addr>,
    /// Whether some host is a name (egress cannot name it: any address on the ports).
    pub names: bool,
}

/// Why a connection string cannot be used (never quoting it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// It starts with neither `mongodb://` nor `mongodb+srv://`.
    Scheme,
    /// It names no host.
    NoHost,
    /// A port is not a number from 1 to 65535.
    Port,
    /// `mongodb+srv://` takes exactly one host name, without a port.
    Srv,
}

impl Invalid {
    /// What is wrong, for a condition message.
    pub fn explain(self) -> &'static str {
        match self {
            Invalid::Scheme => "it must start with mongodb:// or mongodb+srv://",
            Invalid::NoHost => "it names no host",
            Invalid::Port => "a port is not a number from 1 to 65535",
            Invalid::Srv => "mongodb+srv:// takes exactly one host name, without a port",
        }
    }
}

/// Parse the hosts of `s` (`mongodb://[user:pass@]host[:port][,host[:port]...][/db][?opts]`
/// or `mongodb+srv://[user:pass@]host[/db][?opts]`).
pub fn parse(s: &str) -> Result<Destinations, Invalid> {
    let s = s.trim();
    let (srv, rest) = if let Some(r) = s.strip_prefix("mongodb+srv://") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("mongodb://") {
        (false, r)
    } else {
        return Err(Invalid::Scheme);
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    // Credentials end at the last '@' (a password may hold percent-encoded '@' only, but be
    // lenient).
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut out = Destinations::default();
    let entries: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
    if entries.is_empty() {
        return Err(Invalid::NoHost);
    }
    if srv {
        if entries.len() != 1 || entries[0].contains(':') {
            return Err(Invalid::Srv);
        }
        out.ports.push(DEFAULT_PORT);
        out.names = true;
        return Ok(out);
    }
    for e in entries {
        let (host, port) = match e.strip_prefix('[') {
            Some(v6) => {
                let (h, after) = v6.split_once(']').ok_or(Invalid::NoHost)?;
                (h, after.strip_prefix(':'))
            }
            None => match e.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (e, None),
            },
        };
        if host.is_empty() {
            return Err(Invalid::NoHost);
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or(Invalid::Port)?,
        };
        out.ports.push(port);
        match host.parse::<std::net::Ipv4Addr>() {
            Ok(ip) => out.ipv4.push(ip),
            Err(_) => out.names = true,
        }
    }
    out.ports.sort_unstable();
    out.ports.dedup();
    out.ipv4.sort_unstable();
    out.ipv4.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hosts_and_ports_are_read() {
        let d =
            parse("mongodb://u:p%40ss@a.example.com:27018,10.0.0.5,b:27018/shop?replicaSet=rs0")
                .unwrap();
        assert_eq!(d.ports, [27017, 27018]);
        assert_eq!(d.ipv4, ["10.0.0.5".parse::<std::net::Ipv4Addr>().unwrap()]);
        assert!(d.names);
        let only_ip = parse("mongodb://10.1.2.3:1234").unwrap();
        assert_eq!(only_ip.ports, [1234]);
        assert!(!only_ip.names);
        assert_eq!(parse("mongodb://[::1]:27019/x").unwrap().ports, [27019]);
    }

    #[test]
    fn srv_connects_to_the_default_port() {
        let d =
            parse("mongodb+srv://user:secret@cluster0.abc.mongodb.net/?retryWrites=true").unwrap();
        assert_eq!(d.ports, [DEFAULT_PORT]);
        assert!(d.names);
        assert_eq!(parse("mongodb+srv://a:1/"), Err(Invalid::Srv));
        assert_eq!(parse("mongodb+srv://a,b/"), Err(Invalid::Srv));
    }

    #[test]
    fn bad_strings_are_refused_without_quoting_them() {
        assert_eq!(parse("postgres://x"), Err(Invalid::Scheme));
        assert_eq!(parse("mongodb://"), Err(Invalid::NoHost));
        assert_eq!(parse("mongodb://user:pw@/db"), Err(Invalid::NoHost));
        assert_eq!(parse("mongodb://h:0"), Err(Invalid::Port));
        assert_eq!(parse("mongodb://h:70000"), Err(Invalid::Port));
        assert_eq!(parse("mongodb://h:secret"), Err(Invalid::Port));
        for e in [
            Invalid::Scheme,
            Invalid::NoHost,
            Invalid::Port,
            Invalid::Srv,
        ] {
            assert!(!e.explain().contains("secret"));
        }
    }

    proptest! {
        /// Whatever the credentials hold, the ports parsed are the hosts' ports (27017 when
        /// left out), and no part of the credentials comes out.
        #[test]
        fn ports_are_the_hosts_ports(
            user in "[a-z]{1,8}", pass in "ZQ[A-Za-z0-9%]{1,12}",
            hosts in proptest::collection::vec(("[a-z][a-z0-9]{0,10}", proptest::option::of(1u16..=65535)), 1..5),
        ) {
            let list: Vec<String> = hosts.iter().map(|(h, p)| match p {
                Some(p) => format!("{h}:{p}"),
                None => h.clone(),
            }).collect();
            let s = format!("mongodb://{user}:{pass}@{}/db?tls=true", list.join(","));
            let d = parse(&s).unwrap();
            let mut want: Vec<u16> = hosts.iter().map(|(_, p)| p.unwrap_or(DEFAULT_PORT)).collect();
            want.sort_unstable();
            want.dedup();
            prop_assert_eq!(&d.ports, &want);
            prop_assert!(d.names);
            let shown = format!("{d:?}");
            prop_assert!(!shown.contains(&pass));
        }
    }
}

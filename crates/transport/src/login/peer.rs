//! Who is on the other end of a loopback connection: on Linux, the kernel's socket tables say
//! which user owns the peer's socket, so a login listener can refuse every other local user.

use std::net::{IpAddr, SocketAddr};

/// Whether the peer of a loopback connection from `peer` to `local` belongs to this process's
/// user (its effective uid). On Linux the peer's socket is looked up in `/proc/net/tcp` and
/// `/proc/net/tcp6` (an IPv4 peer may also be an IPv6 socket, as a mapped address); a peer of
/// another user, or one that cannot be found in a readable table, is refused. Where there are
/// no such tables (other systems, `/proc` not mounted) it cannot be told: `true`.
pub(crate) fn is_this_user(local: SocketAddr, peer: SocketAddr) -> bool {
    #[cfg(target_os = "linux")]
    {
        let uid = rustix::process::geteuid().as_raw();
        let mut readable = false;
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(text) = std::fs::read_to_string(table) else {
                continue;
            };
            readable = true;
            if let Some(owner) = owner_in(&text, local, peer) {
                return owner == uid;
            }
        }
        !readable
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (local, peer);
        true
    }
}

/// The uid of the socket whose local address is `peer` and remote address `local`, in one of
/// the kernel's tables.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn owner_in(table: &str, local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    let theirs: Vec<String> = spellings(peer);
    let ours: Vec<String> = spellings(local);
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (their_end, our_end, uid) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
        let matches = |end: &str, candidates: &[String]| {
            candidates.iter().any(|c| c.eq_ignore_ascii_case(end))
        };
        (matches(their_end, &theirs) && matches(our_end, &ours))
            .then(|| uid.parse().ok())
            .flatten()
    })
}

/// How the kernel writes `addr` in its tables: the address in host byte order, 32 bits at a
/// time, then the port; an IPv4 address also as the IPv4-mapped IPv6 one.
fn spellings(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let words = |bytes: &[u8]| -> String {
        bytes
            .chunks(4)
            .map(|chunk| {
                let word = u32::from_ne_bytes(chunk.try_into().unwrap_or([0; 4]));
                format!("{word:08X}")
            })
            .collect()
    };
    match addr.ip() {
        IpAddr::V4(v4) => vec![
            format!("{}:{port:04X}", words(&v4.octets())),
            format!("{}:{port:04X}", words(&v4.to_ipv6_mapped().octets())),
        ],
        IpAddr::V6(v6) => vec![format!("{}:{port:04X}", words(&v6.octets()))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_tables_spelling_is_matched() {
        // As a little-endian Linux writes a connection from 127.0.0.1:40000 to
        // 127.0.0.1:8085, owned by uid 1000 (and its other end, owned by uid 0).
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F95 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 20 4 30 10 -1\n\
   1: 0100007F:9C40 0100007F:1F95 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 20 4 30 10 -1\n";
        if cfg!(target_endian = "little") {
            let ours: SocketAddr = "127.0.0.1:8085".parse().unwrap();
            let theirs: SocketAddr = "127.0.0.1:40000".parse().unwrap();
            assert_eq!(owner_in(table, ours, theirs), Some(1000));
            assert_eq!(owner_in(table, theirs, ours), Some(0));
            let other: SocketAddr = "127.0.0.1:40001".parse().unwrap();
            assert_eq!(owner_in(table, ours, other), None);
        }
    }

    #[test]
    fn a_real_connection_is_this_users() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(is_this_user(listener.local_addr().unwrap(), peer));
    }
}

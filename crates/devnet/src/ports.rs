//! Which ports are free on loopback, and who holds a taken one.

use std::collections::BTreeSet;

/// Whether `port` can be bound on 127.0.0.1 now.
pub fn is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port the kernel considers free, not in `taken`; and the port above it
/// too when `pair` (a pRuntime's private and public APIs).
pub(crate) fn free_port(taken: &BTreeSet<u16>, pair: bool) -> Option<u16> {
    for _ in 0..64 {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).ok()?.local_addr().ok()?.port();
        let fits = |p: u16| !taken.contains(&p) && is_free(p);
        if fits(port) && (!pair || port.checked_add(1).is_some_and(fits)) {
            return Some(port);
        }
    }
    None
}

/// The process listening on TCP `port` (`name (pid N)`), read from
/// `/proc`; `None` when it cannot be seen (another user's process, no
/// `/proc`).
pub fn holder_of(port: u16) -> Option<String> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let target = target.to_string_lossy();
            let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) else { continue };
            if inodes.contains(inode) {
                let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                return Some(format!("{} (pid {pid})", name.trim()));
            }
        }
    }
    None
}

/// Socket inodes listening on `port` (IPv4 and IPv6).
fn listening_inodes(port: u16) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is `ADDR:PORT` in hex; state 0A is LISTEN.
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else {
                continue;
            };
            let listening = *state == "0A";
            let matches = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port);
            if listening && matches {
                out.insert((*inode).to_string());
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_port_is_taken_and_its_holder_is_this_process() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!is_free(port));
        let holder = holder_of(port).unwrap();
        assert!(holder.ends_with(&format!("(pid {})", std::process::id())), "{holder}");
        drop(listener);
        assert!(is_free(port));
        assert_eq!(holder_of(port), None);
    }

    #[test]
    fn free_ports_avoid_the_taken_ones() {
        let mut taken = BTreeSet::new();
        for _ in 0..8 {
            let p = free_port(&taken, true).unwrap();
            assert!(!taken.contains(&p) && !taken.contains(&(p + 1)));
            taken.insert(p);
            taken.insert(p + 1);
        }
    }
}

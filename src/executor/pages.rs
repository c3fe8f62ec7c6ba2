//! Giving back the pages of this binary that a process has stopped using (issue 15: idle
//! memory). A worker maps the 70+ MB `cortex-emu` binary, and whatever code and read-only data it
//! touched while starting (the interpreter's set-up, a frozen standard library it imported)
//! stays counted in its memory for good, although it will not be read again. Dropping those
//! pages from the process's page tables (`madvise(MADV_DONTNEED)`) leaves them in the page
//! cache, reclaimable, and the next touch maps them back with a minor fault.
//!
//! Only read-only mappings of the binary itself with no copy-on-write pages are dropped: a
//! private mapping that was ever written (relocations, `.data`) holds copies that exist nowhere
//! else, and dropping them would bring back the file's bytes. Hand-written: no crate walks
//! `/proc/self/smaps` for this.

use std::path::Path;

/// Drops this process's resident pages of its own executable's unmodified read-only mappings;
/// returns how many bytes were mapped there before. Errors (no `/proc`) drop nothing.
pub(crate) fn release_binary_pages() -> usize {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return 0;
    };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut released = 0;
    for mapping in mappings(&smaps) {
        if mapping.path != exe.as_path() || !mapping.droppable() {
            continue;
        }
        // SAFETY: the range is a whole mapping of this process, read-only and unmodified (no
        // anonymous copy-on-write pages), so its contents come back from the file when touched.
        let done = unsafe {
            libc::madvise(
                mapping.start as *mut libc::c_void,
                mapping.end - mapping.start,
                libc::MADV_DONTNEED,
            )
        };
        if done == 0 {
            released += mapping.rss_kb * 1024;
        }
    }
    released
}

/// One entry of `/proc/self/smaps`.
struct Mapping<'a> {
    start: usize,
    end: usize,
    perms: &'a str,
    path: &'a Path,
    rss_kb: usize,
    /// Copy-on-write copies this process made of the mapping's pages.
    anonymous_kb: usize,
}

impl Mapping<'_> {
    fn droppable(&self) -> bool {
        // A page-cache page can be dirty (the binary was just written by the linker): it is the
        // file's, and stays in the cache. Only anonymous pages are this process's own.
        !self.perms.contains('w') && self.anonymous_kb == 0 && self.rss_kb > 0
    }
}

/// The mappings of an smaps text: a header line (`start-end perms offset dev inode path`)
/// followed by `Key: value kB` lines.
fn mappings(smaps: &str) -> Vec<Mapping<'_>> {
    let mut out: Vec<Mapping<'_>> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-').and_then(|(s, e)| {
            Some((
                usize::from_str_radix(s, 16).ok()?,
                usize::from_str_radix(e, 16).ok()?,
            ))
        }) {
            let perms = fields.next().unwrap_or("");
            // offset, device and inode, then the path (which may hold spaces).
            let path = after_fields(line, 5);
            out.push(Mapping {
                start,
                end,
                perms,
                path: Path::new(path),
                rss_kb: 0,
                anonymous_kb: 0,
            });
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        let kb = fields.next().and_then(|v| v.parse::<usize>().ok());
        match first {
            "Rss:" => current.rss_kb = kb.unwrap_or(0),
            "Anonymous:" => current.anonymous_kb = kb.unwrap_or(0),
            _ => {}
        }
    }
    out
}

/// What follows the first `n` whitespace-separated fields of `line`, trimmed.
fn after_fields(line: &str, n: usize) -> &str {
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        match rest.find(char::is_whitespace) {
            Some(i) => rest = &rest[i..],
            None => return "",
        }
    }
    rest.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
5581a000-5581b000 r--p 00000000 fe:01 123                  /usr/bin/cortex emu
Rss:                   4 kB
Private_Dirty:         4 kB
Anonymous:             0 kB
5581b000-5581d000 r--p 00001000 fe:01 123 /usr/bin/cortex emu
Rss:                   8 kB
Private_Dirty:         8 kB
Anonymous:             8 kB
7f00000000-7f00001000 rw-p 00000000 00:00 0
Rss:                   4 kB
Anonymous:             4 kB
";

    #[test]
    fn only_unmodified_read_only_mappings_are_droppable() {
        let m = mappings(SAMPLE);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].path, Path::new("/usr/bin/cortex emu"));
        assert_eq!(
            (m[0].start, m[0].end, m[0].rss_kb),
            (0x5581a000, 0x5581b000, 4)
        );
        assert!(m[0].droppable());
        // Relocated read-only data: copy-on-write pages that exist only in memory.
        assert!(!m[1].droppable());
        assert_eq!(m[2].path, Path::new(""));
        assert!(!m[2].droppable());
    }

    /// Resident kB of this process's droppable mappings of its own binary.
    fn resident_binary_kb() -> usize {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        mappings(&smaps)
            .iter()
            .filter(|m| m.path == exe.as_path() && m.droppable())
            .map(|m| m.rss_kb)
            .sum()
    }

    #[test]
    fn released_pages_leave_the_process_and_come_back_when_touched() {
        let before = resident_binary_kb();
        assert!(before > 0);
        assert!(release_binary_pages() > 0);
        // Reading smaps again touches some code, but far less than the tests had mapped.
        let after = resident_binary_kb();
        assert!(
            after < before,
            "{after} kB resident after, {before} kB before"
        );
        // Code and constants come back from the file.
        let text = format!("{:?}", (1..5).collect::<Vec<_>>());
        assert_eq!(text, "[1, 2, 3, 4]");
    }
}

//! Smoke test of the shared capture helpers.
mod common;

#[test]
fn capture_helpers_find_and_read() {
    // Reads whatever the project ships; the helpers must not panic on any of it.
    for p in common::project_pcaps() {
        for pkt in common::read_packets(&p) {
            let _ = common::transport(&pkt);
        }
    }
    if let Some(dir) = common::corpus_dir() {
        let files = common::find_captures(&dir);
        assert!(!files.is_empty(), "corpus present but no captures found");
    }
}

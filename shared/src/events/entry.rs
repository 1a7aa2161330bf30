//! A PutEvents entry as EventBridge measures it, and the per-call quotas that cut batches.

use super::contract::{Event, SOURCE};

/// PutEvents accepts at most 10 entries per call.
pub const MAX_ENTRIES_PER_PUT: usize = 10;
/// ... and at most 256 KiB per call, which is also the most one entry may be (EventBridge quotas).
pub const MAX_PUT_BYTES: usize = 256 * 1024;

/// The size EventBridge counts for an entry ("Calculating PutEvents event entry size"): the UTF-8 bytes
/// of `Source`, `DetailType`, `Detail` and each of `Resources` (no `Time` is sent). Counted without
/// building the entry: the detail is serialized into a byte counter.
pub fn entry_size(e: &Event) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut detail = Count(0);
    // Writing into a counter cannot fail; an unserializable detail would fail in `put_events_entry` too.
    let _ = serde_json::to_writer(&mut detail, &e.detail);
    SOURCE.len() + e.detail_type.len() + detail.0 + e.detail.resource().len()
}

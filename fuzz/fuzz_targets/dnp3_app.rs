#![no_main]
//! DNP3 application fragment: parse, validate, then iterate every object
//! header and point; iteration must cover exactly the validated headers.
use centinela_parsers::dnp3::app::Fragment;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(f) = Fragment::parse(data) else { return };
    let _ = f.check(Some(true));
    let _ = f.check(Some(false));
    let mut headers = 0usize;
    for h in f.objects() {
        headers += 1;
        let mut points = 0u64;
        for p in h.points() {
            let _ = p.value.state();
            points += 1;
            if points > 1 << 16 {
                break;
            }
        }
    }
    assert_eq!(headers, f.object_count);
});

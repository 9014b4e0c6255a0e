#![no_main]
//! DNP3 transport assembler: the input is a sequence of segments, each
//! prefixed by its length octet; completed fragments are then parsed as
//! application fragments.
use centinela_parsers::dnp3::{app, transport::Assembler};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&cap, mut rest)) = data.split_first() else { return };
    let mut asm = Assembler::new(usize::from(cap) * 8);
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (seg, next) = tail.split_at(len);
        rest = next;
        if let Ok(Some(fragment)) = asm.push(seg) {
            assert!(fragment.len() <= asm_capacity(cap));
            if let Ok(f) = app::Fragment::parse(fragment) {
                let _ = f.check(None);
                for h in f.objects() {
                    for p in h.points() {
                        let _ = p.value.state();
                    }
                }
            }
        }
    }
});

fn asm_capacity(cap: u8) -> usize {
    (usize::from(cap) * 8).max(1)
}

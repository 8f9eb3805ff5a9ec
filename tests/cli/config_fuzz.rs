//! Fuzz-style robustness: thousands of seeded mutations of valid configs (random bytes, deleted and
//! duplicated lines, truncations, spliced fragments) must never make the parser panic.

use failoverctl::config::{self, example::EXAMPLE};
use std::path::Path;

/// xorshift64*: a tiny deterministic generator, so a failing case can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FRAGMENTS: &[&[u8]] = &[
    b"[",
    b"]",
    b"=",
    b"\n",
    b"\r",
    b"\r\n",
    b";",
    b"#",
    b"/",
    b"/99",
    b",",
    b" ",
    b"\t",
    b"\0",
    b"\xff",
    b"\xc3",
    "é".as_bytes(),
    b"[channel]",
    b"[network]",
    b"[policy]",
    b"testip=",
    b"exec:",
    b"99999999999999999999",
    b"0",
    b"-1",
    b"1h",
    b"500ms",
    b"255.255.255.255/0",
    b"0.0.0.0/32",
    b"yes",
    b"\\",
    b"\"",
    b"'",
];

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..1 + rng.below(6) {
        match rng.below(6) {
            0 => {
                // overwrite a random byte
                if !data.is_empty() {
                    let i = rng.below(data.len());
                    data[i] = rng.next() as u8;
                }
            }
            1 | 2 => {
                // delete or duplicate a line
                let mut lines: Vec<Vec<u8>> =
                    data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let i = rng.below(lines.len());
                if rng.below(2) == 0 {
                    lines.remove(i);
                } else {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                data = lines.join(&b'\n');
            }
            3 => {
                let n = rng.below(data.len() + 1);
                data.truncate(n);
            }
            _ => {
                let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                let i = rng.below(data.len() + 1);
                data.splice(i..i, frag.iter().copied());
            }
        }
    }
    data
}

#[test]
fn no_input_makes_the_parser_panic() {
    let seeds: [&[u8]; 3] = [
        EXAMPLE.as_bytes(),
        include_bytes!("../configs/source-document.ini"),
        include_bytes!("../configs/bad/outside-subnet.ini"),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut invalid = 0;
    for case in 0..6000 {
        let base = seeds[case % seeds.len()];
        let input = mutate(&mut rng, base);
        let outcome =
            std::panic::catch_unwind(|| config::parse_bytes(&input, Path::new("fuzz.ini")));
        match outcome {
            Err(_) => panic!(
                "parser panicked on case {case}: {:?}",
                String::from_utf8_lossy(&input)
            ),
            Ok(Err(e)) => {
                invalid += 1;
                assert!(
                    !e.diagnostics().is_empty(),
                    "an invalid config names a reason"
                );
            }
            Ok(Ok(_)) => {}
        }
    }
    // The mutations must actually break configs, or this test proves nothing.
    assert!(invalid > 1000, "only {invalid} invalid cases");
}

//! Deterministic pseudo-random inputs for tests (xorshift64*), so failures reproduce.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Edge values a third of the time, otherwise random with a random bit width, so small,
    /// realistic and extreme magnitudes all appear.
    pub fn interesting_u64(&mut self) -> u64 {
        const EDGES: [u64; 8] = [0, 1, 9, 10, 999_999, 1_000_000, u64::MAX / 10_000, u64::MAX];
        let r = self.next();
        if r.is_multiple_of(3) {
            EDGES[(r / 3 % EDGES.len() as u64) as usize]
        } else {
            self.next() >> (r % 64)
        }
    }

    pub fn interesting_i64(&mut self) -> i64 {
        const EDGES: [i64; 6] = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX];
        let r = self.next();
        if r.is_multiple_of(4) {
            EDGES[(r / 4 % EDGES.len() as u64) as usize]
        } else {
            let m = (self.interesting_u64() >> 1) as i64;
            if r.is_multiple_of(3) {
                -m
            } else {
                m
            }
        }
    }

    pub fn bytes(&mut self, out: &mut [u8]) {
        for b in out {
            *b = self.next() as u8;
        }
    }
}

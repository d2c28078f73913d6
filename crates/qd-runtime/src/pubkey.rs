//! 32-byte public keys and compile-time base58 decoding (for program ids and known owners).

pub type Pubkey = [u8; 32];

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Decodes a base58 public key at compile time: `const ID: Pubkey = pubkey("...")`.
/// Panics (a compile error in const context) on a bad character or a value that is not 32 bytes.
pub const fn pubkey(s: &str) -> Pubkey {
    let bytes = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < bytes.len() {
        let mut digit = 0usize;
        while digit < 58 && ALPHABET[digit] != bytes[i] {
            digit += 1;
        }
        assert!(digit < 58, "invalid base58 character");
        // out = out * 58 + digit, big-endian.
        let mut carry = digit as u32;
        let mut j = 32;
        while j > 0 {
            j -= 1;
            let v = out[j] as u32 * 58 + carry;
            out[j] = (v & 0xff) as u8;
            carry = v >> 8;
        }
        assert!(carry == 0, "base58 value longer than 32 bytes");
        i += 1;
    }
    // Each leading '1' is a leading zero byte; the arithmetic above already leaves them zero,
    // so only check that the count is consistent.
    let mut ones = 0;
    while ones < bytes.len() && bytes[ones] == b'1' {
        ones += 1;
    }
    let mut zeros = 0;
    while zeros < 32 && out[zeros] == 0 {
        zeros += 1;
    }
    assert!(zeros >= ones, "base58 leading ones do not match");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_keys() {
        // System program: all zeros.
        assert_eq!(pubkey("11111111111111111111111111111111"), [0u8; 32]);
        let token: Pubkey = [
            6, 221, 246, 225, 215, 101, 161, 147, 217, 203, 225, 70, 206, 235, 121, 172, 28, 180, 133, 237, 95, 91, 55, 145, 58, 140, 245,
            133, 126, 255, 0, 169,
        ];
        assert_eq!(pubkey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"), token);
        // A key with a high first byte (no leading zeros).
        assert_eq!(pubkey("C9Vy9ftWPhg7cXG4THhSUNXTwbnRa5xjRE6gy3DjP7Yf")[..8], [165, 157, 244, 253, 101, 228, 173, 195]);
        // Leading '1's are leading zero bytes.
        let mut clock = [0u8; 32];
        clock[7] = 1;
        assert_eq!(pubkey("1111111QLbz7JHiBTspS962RLKV8GndWFwiEaqKM"), clock);
    }
}

//! The pair's shared peer key: parsed from hex, never printed, and its key id (a short fingerprint
//! that tells "the peer uses another key" apart from "this packet was tampered with").

use sha2::{Digest, Sha256};

/// The shortest key accepted: 16 bytes (128 bits, 32 hex characters).
pub const MIN_KEY_BYTES: usize = 16;
/// The longest key accepted: 64 bytes, HMAC-SHA256's block size (longer keys are hashed first by
/// HMAC anyway and add nothing).
pub const MAX_KEY_BYTES: usize = 64;

/// Why a key text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not hexadecimal (0-9, a-f): bad character at position {0}")]
    NotHex(usize),
    #[error("the key has an odd number of hex characters")]
    OddLength,
    #[error("the key is {0} bytes; at least {MIN_KEY_BYTES} bytes (32 hex characters) are needed")]
    TooShort(usize),
    #[error("the key is {0} bytes; at most {MAX_KEY_BYTES} bytes (128 hex characters) are used")]
    TooLong(usize),
}

/// The HMAC-SHA256 key both nodes share. `Debug` shows only the key id.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: Vec<u8>,
    id: u32,
}

impl Key {
    /// Parses a hex key (whitespace around it is ignored: a key file ends with a newline).
    pub fn from_hex(text: &str) -> Result<Key, KeyError> {
        let text = text.trim();
        if let Some(i) = text.find(|c: char| !c.is_ascii_hexdigit()) {
            return Err(KeyError::NotHex(i));
        }
        if text.len() % 2 != 0 {
            return Err(KeyError::OddLength);
        }
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("checked hex digits"))
            .collect();
        Key::from_bytes(bytes)
    }

    /// A key from raw bytes (16 to 64).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Key, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(bytes.len()));
        }
        if bytes.len() > MAX_KEY_BYTES {
            return Err(KeyError::TooLong(bytes.len()));
        }
        // A fingerprint, not the key: a domain-separated hash, so the id says nothing usable about it.
        let mut h = Sha256::new();
        h.update(b"failoverctl peer key id\0");
        h.update(&bytes);
        let d = h.finalize();
        let id = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        Ok(Key { bytes, id })
    }

    /// The key id carried in every packet.
    pub fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key {{ id: {:08x}, bytes: <redacted> }}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn hex_parses_and_debug_hides_the_key() {
        let k = Key::from_hex(&format!("  {HEX}\n")).expect("valid key");
        assert_eq!(k.bytes()[1], 0x11);
        let shown = format!("{k:?}");
        assert!(!shown.contains("112233") && !shown.contains(HEX), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
        assert_eq!(Key::from_hex(&HEX.to_uppercase()), Ok(k));
    }

    #[test]
    fn short_odd_long_and_non_hex_keys_are_refused() {
        assert_eq!(Key::from_hex(&HEX[..30]), Err(KeyError::TooShort(15)));
        assert_eq!(Key::from_hex(&HEX[..31]), Err(KeyError::OddLength));
        assert_eq!(Key::from_hex(&HEX.repeat(5)), Err(KeyError::TooLong(80)));
        assert_eq!(
            Key::from_hex(&format!("{}g", &HEX[..31])),
            Err(KeyError::NotHex(31))
        );
        assert_eq!(Key::from_hex(""), Err(KeyError::TooShort(0)));
    }

    #[test]
    fn different_keys_have_different_ids() {
        let a = Key::from_hex(HEX).expect("valid");
        let b = Key::from_hex(&HEX.replace('0', "1")).expect("valid");
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id(), Key::from_hex(HEX).expect("valid").id());
    }
}

//! Reading a `_de67f` alarm order with the box's key (`legacy-protocol.md` §6), written here
//! independently of core's cipher so that the two check each other.
//!
//! AES-256-CBC, PKCS#7; key = the 32 ASCII digits of K; IV = the first 16 characters of the
//! lower-case MD5 hex of K; `obl` = the ciphertext bytes in decimal joined by `;`.

use aes::Aes256;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};

use crate::key::BoxKey;

/// What the firmware finds in the decrypted text (it only searches for the two words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AlarmWord {
    /// `ALARMEON`: arm.
    On,
    /// `ALARMEOFF`: disarm.
    Off,
}

/// Decrypts `obl` with `key`: the plaintext, or why it cannot be read.
pub(crate) fn decrypt(key: &BoxKey, obl: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    for (n, item) in obl.split(';').enumerate() {
        let valid = !item.is_empty() && item.len() <= 3 && item.bytes().all(|b| b.is_ascii_digit());
        let byte = item
            .parse::<u16>()
            .ok()
            .filter(|_| valid)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| format!("obl item {} is not a byte 0-255", n + 1))?;
        bytes.push(byte);
    }
    if bytes.is_empty() || bytes.len() % 16 != 0 {
        return Err(format!(
            "obl has {} bytes, not a non-zero multiple of 16",
            bytes.len()
        ));
    }
    let hex = key.md5_hex();
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&hex.as_bytes()[..16]);
    let plain = cbc::Decryptor::<Aes256>::new(key.digits().into(), &iv.into())
        .decrypt_padded_mut::<Pkcs7>(&mut bytes)
        .map_err(|_| "obl does not decrypt with this box's key (bad padding)".to_string())?;
    Ok(String::from_utf8_lossy(plain).into_owned())
}

/// The order word in a decrypted text, as the firmware searches for it.
pub(crate) fn word(plaintext: &str) -> Option<AlarmWord> {
    if plaintext.contains("ALARMEOFF") {
        Some(AlarmWord::Off)
    } else if plaintext.contains("ALARMEON") {
        Some(AlarmWord::On)
    } else {
        None
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholder key of `legacy-protocol.md` §5.
    fn placeholder() -> BoxKey {
        BoxKey::from_digits(b"12345678901234567890123456789012").expect("32 digits")
    }

    /// Ciphertexts made outside Rust, with `openssl enc -aes-256-cbc` (PKCS#7 padding is its
    /// default): `-K` = hex of the 32 ASCII digits of the placeholder key, `-iv` = hex of
    /// `767179c7a2bff196` (the first 16 characters of its MD5 hex), as §6 prescribes.
    #[test]
    fn decrypts_what_openssl_encrypts_with_the_documented_key_and_iv() {
        let on = "82;29;114;166;182;135;163;91;139;157;210;72;22;6;147;68;133;56;192;40;57;234;88;174;218;202;236;143;59;91;209;133";
        let off = "135;121;230;201;138;188;134;106;170;8;83;238;247;117;39;130;72;14;216;234;80;0;43;98;211;129;134;191;255;116;11;115";
        let text = decrypt(&placeholder(), on);
        assert_eq!(text.as_deref(), Ok("ALARMEON_20131210_055554"));
        assert_eq!(word("ALARMEON_20131210_055554"), Some(AlarmWord::On));
        let text = decrypt(&placeholder(), off);
        assert_eq!(text.as_deref(), Ok("ALARMEOFF_20131210_055554"));
        assert_eq!(word("ALARMEOFF_20131210_055554"), Some(AlarmWord::Off));
    }

    #[test]
    fn an_unreadable_obl_says_why() {
        assert!(decrypt(&placeholder(), "1;2;3").is_err_and(|e| e.contains("3 bytes")));
        assert!(decrypt(&placeholder(), "256").is_err_and(|e| e.contains("item 1")));
        let other = BoxKey::from_digits(b"00000000000000000000000000000001").expect("digits");
        let on = "82;29;114;166;182;135;163;91;139;157;210;72;22;6;147;68;133;56;192;40;57;234;88;174;218;202;236;143;59;91;209;133";
        assert_ne!(
            decrypt(&other, on).as_deref(),
            Ok("ALARMEON_20131210_055554")
        );
    }
}

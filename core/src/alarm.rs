//! The `_de67f` alarm order: arming or disarming the box's alarm from the server.
//!
//! The server sends `{"_de67f":{"guid":"…","obl":"73;178;…;156"},…}` in a `myactions` reply.
//! `obl` is an AES-256-CBC ciphertext, written as its bytes in decimal joined by `;`:
//!
//! ```text
//! plaintext = "ALARMEON_" | "ALARMEOFF_"  +  local time yyyyMMdd_HHmmss
//! key       = the 32 ASCII digits of the box key            (32 bytes: AES-256)
//! IV        = the first 16 characters of md5_hex(key), ASCII (16 bytes)
//! padding   = PKCS#7, so a 24/25-byte plaintext gives 32 bytes of ciphertext
//! ```
//!
//! The box acts only if cell 407 (`Alarme_AccesADistance`) is non-zero, then acks the guid with
//! `done`. See `legacy-protocol.md` §6 and `sc_AnalyseOrdreAlarmeServeur()` in the firmware's
//! `Ethernet/www.c` (which only searches the decrypted text for `ALARMEON`/`ALARMEOFF`).

use std::fmt;

use aes::Aes256;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use thiserror::Error;

use crate::matricule::Key;

/// The AES block size in bytes.
const BLOCK: usize = 16;

/// What the alarm order asks the box to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlarmCommand {
    /// Arm the alarm (plaintext prefix `ALARMEON_`).
    Arm,
    /// Disarm the alarm (plaintext prefix `ALARMEOFF_`).
    Disarm,
}

impl AlarmCommand {
    /// The plaintext prefix of the command: `ALARMEON_` or `ALARMEOFF_`.
    pub const fn prefix(self) -> &'static str {
        match self {
            AlarmCommand::Arm => "ALARMEON_",
            AlarmCommand::Disarm => "ALARMEOFF_",
        }
    }
}

/// Local wall-clock time of the house, as the box expects it: yyyyMMdd_HHmmss.
///
/// Always a real date of 2000–2099 (the day is checked against the month, leap years included)
/// and a time of day `00:00:00`–`23:59:59`. `Display` writes it as `yyyyMMdd_HHmmss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl LocalTime {
    /// Builds a local time, checking every field.
    ///
    /// # Errors
    /// [`AlarmError::TimeOutOfRange`] naming the first field out of range: year 2000..=2099,
    /// month 1..=12, day 1..=(days of that month), hour 0..=23, minute and second 0..=59.
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<LocalTime, AlarmError> {
        check("year", year, 2000, 2099)?;
        check("month", month.into(), 1, 12)?;
        check("day", day.into(), 1, days_in_month(year, month).into())?;
        check("hour", hour.into(), 0, 23)?;
        check("minute", minute.into(), 0, 59)?;
        check("second", second.into(), 0, 59)?;
        Ok(LocalTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// The year, 2000–2099.
    pub const fn year(self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// The hour, 0–23.
    pub const fn hour(self) -> u8 {
        self.hour
    }

    /// The minute, 0–59.
    pub const fn minute(self) -> u8 {
        self.minute
    }

    /// The second, 0–59.
    pub const fn second(self) -> u8 {
        self.second
    }
}

impl fmt::Display for LocalTime {
    /// `yyyyMMdd_HHmmss`, e.g. `20131210_055554`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}_{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Why an alarm time cannot be built or an `obl` cannot be decrypted.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum AlarmError {
    /// A field of a [`LocalTime`] is out of its range.
    #[error("alarm time: {field} {value} is out of {min}..={max}")]
    TimeOutOfRange {
        /// The field: `year`, `month`, `day`, `hour`, `minute` or `second`.
        field: &'static str,
        /// The value given.
        value: u16,
        /// The smallest value allowed.
        min: u16,
        /// The largest value allowed.
        max: u16,
    },
    /// The `obl` string holds no number at all.
    #[error("obl is empty")]
    EmptyObl,
    /// An item of the `obl` string is not a decimal byte.
    #[error("obl item {position} ({item:?}) is not a decimal byte 0..=255")]
    NotAByte {
        /// The item's position, counting from 1.
        position: usize,
        /// The item (cut to 16 characters).
        item: String,
    },
    /// The ciphertext is not a whole number of AES blocks.
    #[error("obl has {0} bytes, not a multiple of 16 (AES blocks)")]
    BadLength(usize),
    /// The decrypted text does not end in valid PKCS#7 padding: wrong key or damaged `obl`.
    #[error("obl does not decrypt with this key (bad PKCS#7 padding)")]
    BadPadding,
    /// The decrypted text is not UTF-8: wrong key or damaged `obl`.
    #[error("obl decrypts to bytes that are not UTF-8 (wrong key?)")]
    NotUtf8,
}

/// What a decrypted alarm order asks, searched as the firmware does (`ALARMEOFF` first, since
/// `ALARMEON` is not a prefix of it but a search for it must not see `ALARMEOFF`'s absence).
pub fn command_of(plaintext: &str) -> Option<AlarmCommand> {
    if plaintext.contains("ALARMEOFF") {
        Some(AlarmCommand::Disarm)
    } else if plaintext.contains("ALARMEON") {
        Some(AlarmCommand::Arm)
    } else {
        None
    }
}

/// The plaintext of an alarm order, e.g. `ALARMEON_20131210_055554` (24 bytes; 25 for
/// `ALARMEOFF_`).
pub fn plaintext(command: AlarmCommand, at: LocalTime) -> String {
    format!("{}{}", command.prefix(), at)
}

/// The `obl` of an alarm order: [`plaintext`] encrypted with AES-256-CBC/PKCS#7 under the box's
/// key (IV = first 16 characters of [`Key::md5_hex`]), the ciphertext bytes written in decimal
/// and joined by `;` with no trailing `;`. Always 32 bytes (32 numbers).
pub fn obl(key: &Key, command: AlarmCommand, at: LocalTime) -> String {
    let message = plaintext(command, at);
    let mut buffer = vec![0u8; message.len() + BLOCK];
    let iv = cipher_iv(key);
    let ciphertext = cbc::Encryptor::<Aes256>::new(key.digits().into(), &iv.into())
        .encrypt_padded_b2b_mut::<Pkcs7>(message.as_bytes(), &mut buffer)
        .expect("the buffer has room for a full padding block");
    let mut out = String::with_capacity(ciphertext.len() * 4);
    for (i, byte) in ciphertext.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(&byte.to_string());
    }
    out
}

/// Decrypts an `obl` string with the box's key: the inverse of [`obl`].
///
/// Surrounding whitespace and one trailing `;` (as in the firmware's logs) are accepted. Each
/// item must be 1–3 ASCII digits with a value 0..=255. The text is returned as decrypted; it is
/// not checked to be an alarm order.
///
/// # Errors
/// [`AlarmError::EmptyObl`], [`AlarmError::NotAByte`] for the first bad item,
/// [`AlarmError::BadLength`] if the byte count is not a multiple of 16,
/// [`AlarmError::BadPadding`] or [`AlarmError::NotUtf8`] if the key does not fit.
pub fn decrypt_obl(key: &Key, obl: &str) -> Result<String, AlarmError> {
    let text = obl.trim();
    let text = text.strip_suffix(';').unwrap_or(text);
    if text.is_empty() {
        return Err(AlarmError::EmptyObl);
    }
    let mut ciphertext = text
        .split(';')
        .enumerate()
        .map(|(i, item)| {
            parse_byte(item).ok_or_else(|| AlarmError::NotAByte {
                position: i + 1,
                item: item.chars().take(16).collect(),
            })
        })
        .collect::<Result<Vec<u8>, _>>()?;
    if ciphertext.len() % BLOCK != 0 {
        return Err(AlarmError::BadLength(ciphertext.len()));
    }
    let iv = cipher_iv(key);
    let plain = cbc::Decryptor::<Aes256>::new(key.digits().into(), &iv.into())
        .decrypt_padded_mut::<Pkcs7>(&mut ciphertext)
        .map_err(|_| AlarmError::BadPadding)?;
    String::from_utf8(plain.to_vec()).map_err(|_| AlarmError::NotUtf8)
}

/// The IV: the first 16 characters of the key's MD5 hex, as ASCII bytes.
fn cipher_iv(key: &Key) -> [u8; BLOCK] {
    let mut iv = [0u8; BLOCK];
    iv.copy_from_slice(&key.md5_hex().as_bytes()[..BLOCK]);
    iv
}

/// Parses 1–3 ASCII digits with a value 0..=255.
fn parse_byte(item: &str) -> Option<u8> {
    if item.is_empty() || item.len() > 3 || !item.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    item.parse().ok()
}

/// Checks one field of a [`LocalTime`].
fn check(field: &'static str, value: u16, min: u16, max: u16) -> Result<(), AlarmError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(AlarmError::TimeOutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

/// The number of days of a month (1–12) of a year of 2000–2099 (leap iff divisible by 4 there).
fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_KEY: &str = "12345678901234567890123456789012";

    fn key() -> Key {
        Key::parse(DOC_KEY).unwrap()
    }

    fn doc_time() -> LocalTime {
        LocalTime::new(2013, 12, 10, 5, 55, 54).unwrap()
    }

    #[test]
    fn plaintexts_match_the_doc() {
        assert_eq!(doc_time().to_string(), "20131210_055554");
        assert_eq!(
            plaintext(AlarmCommand::Arm, doc_time()),
            "ALARMEON_20131210_055554"
        );
        assert_eq!(
            plaintext(AlarmCommand::Disarm, doc_time()),
            "ALARMEOFF_20131210_055554"
        );
        let t = LocalTime::new(2000, 1, 2, 0, 0, 9).unwrap();
        assert_eq!(t.to_string(), "20000102_000009");
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2000, 1, 2, 0, 0, 9)
        );
    }

    /// Expected values computed once by an independent implementation (Python `cryptography`):
    ///
    /// ```python
    /// import hashlib
    /// from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    /// from cryptography.hazmat.primitives import padding
    /// k = b"12345678901234567890123456789012"
    /// iv = hashlib.md5(k).hexdigest()[:16].encode()        # b"767179c7a2bff196"
    /// for pt in (b"ALARMEON_20131210_055554", b"ALARMEOFF_20131210_055554"):
    ///     p = padding.PKCS7(128).padder(); data = p.update(pt) + p.finalize()
    ///     e = Cipher(algorithms.AES(k), modes.CBC(iv)).encryptor()
    ///     ct = e.update(data) + e.finalize()
    ///     print(";".join(str(b) for b in ct))
    /// ```
    #[test]
    fn known_answer_from_python_cryptography() {
        const ARM: &str = "82;29;114;166;182;135;163;91;139;157;210;72;22;6;147;68;\
                           133;56;192;40;57;234;88;174;218;202;236;143;59;91;209;133";
        const DISARM: &str = "135;121;230;201;138;188;134;106;170;8;83;238;247;117;39;130;\
                              72;14;216;234;80;0;43;98;211;129;134;191;255;116;11;115";
        assert_eq!(obl(&key(), AlarmCommand::Arm, doc_time()), ARM);
        assert_eq!(obl(&key(), AlarmCommand::Disarm, doc_time()), DISARM);
        assert_eq!(
            decrypt_obl(&key(), ARM).as_deref(),
            Ok("ALARMEON_20131210_055554")
        );
        assert_eq!(
            decrypt_obl(&key(), DISARM).as_deref(),
            Ok("ALARMEOFF_20131210_055554")
        );
    }

    #[test]
    fn round_trips_and_sizes() {
        let times = [
            doc_time(),
            LocalTime::new(2000, 1, 1, 0, 0, 0).unwrap(),
            LocalTime::new(2099, 12, 31, 23, 59, 59).unwrap(),
            LocalTime::new(2024, 2, 29, 12, 30, 1).unwrap(),
        ];
        let keys = [
            key(),
            Key::parse("00000000000000000000000000000000").unwrap(),
            Key::parse("99999999999999999999999999999999").unwrap(),
        ];
        for key in &keys {
            for &at in &times {
                for command in [AlarmCommand::Arm, AlarmCommand::Disarm] {
                    let text = plaintext(command, at);
                    assert!(text.len() == 24 || text.len() == 25);
                    let sent = obl(key, command, at);
                    assert!(!sent.ends_with(';'));
                    assert_eq!(sent.split(';').count(), 32, "{sent}");
                    assert_eq!(decrypt_obl(key, &sent), Ok(text.clone()));
                    // With the firmware's trailing ';' and some spaces.
                    assert_eq!(decrypt_obl(key, &format!(" {sent};\n")), Ok(text));
                }
            }
        }
        // Another key cannot read it.
        let sent = obl(&keys[0], AlarmCommand::Arm, doc_time());
        assert_ne!(
            decrypt_obl(&keys[1], &sent),
            Ok(plaintext(AlarmCommand::Arm, doc_time()))
        );
    }

    #[test]
    fn local_time_is_validated() {
        let out = |field, value, min, max| {
            Err(AlarmError::TimeOutOfRange {
                field,
                value,
                min,
                max,
            })
        };
        assert_eq!(
            LocalTime::new(1999, 1, 1, 0, 0, 0),
            out("year", 1999, 2000, 2099)
        );
        assert_eq!(
            LocalTime::new(2100, 1, 1, 0, 0, 0),
            out("year", 2100, 2000, 2099)
        );
        assert_eq!(LocalTime::new(2013, 0, 1, 0, 0, 0), out("month", 0, 1, 12));
        assert_eq!(
            LocalTime::new(2013, 13, 1, 0, 0, 0),
            out("month", 13, 1, 12)
        );
        assert_eq!(LocalTime::new(2013, 1, 0, 0, 0, 0), out("day", 0, 1, 31));
        assert_eq!(LocalTime::new(2013, 1, 32, 0, 0, 0), out("day", 32, 1, 31));
        assert_eq!(LocalTime::new(2013, 4, 31, 0, 0, 0), out("day", 31, 1, 30));
        assert_eq!(LocalTime::new(2013, 2, 29, 0, 0, 0), out("day", 29, 1, 28));
        assert!(LocalTime::new(2000, 2, 29, 0, 0, 0).is_ok());
        assert_eq!(LocalTime::new(2013, 1, 1, 24, 0, 0), out("hour", 24, 0, 23));
        assert_eq!(
            LocalTime::new(2013, 1, 1, 0, 60, 0),
            out("minute", 60, 0, 59)
        );
        assert_eq!(
            LocalTime::new(2013, 1, 1, 0, 0, 60),
            out("second", 60, 0, 59)
        );
        assert_eq!(
            LocalTime::new(2013, 13, 1, 0, 0, 0)
                .unwrap_err()
                .to_string(),
            "alarm time: month 13 is out of 1..=12"
        );
    }

    #[test]
    fn decrypt_errors_are_clear() {
        let k = key();
        assert_eq!(decrypt_obl(&k, ""), Err(AlarmError::EmptyObl));
        assert_eq!(decrypt_obl(&k, " ; "), Err(AlarmError::EmptyObl));
        assert_eq!(
            decrypt_obl(&k, "1;2;256"),
            Err(AlarmError::NotAByte {
                position: 3,
                item: "256".into()
            })
        );
        assert_eq!(
            decrypt_obl(&k, "1;;2"),
            Err(AlarmError::NotAByte {
                position: 2,
                item: String::new()
            })
        );
        assert!(matches!(
            decrypt_obl(&k, "1; 2"),
            Err(AlarmError::NotAByte { position: 2, .. })
        ));
        assert!(matches!(
            decrypt_obl(&k, "-1"),
            Err(AlarmError::NotAByte { position: 1, .. })
        ));
        assert!(matches!(
            decrypt_obl(&k, "0001"),
            Err(AlarmError::NotAByte { position: 1, .. })
        ));
        assert_eq!(
            decrypt_obl(&k, "1;2;3").unwrap_err().to_string(),
            "obl has 3 bytes, not a multiple of 16 (AES blocks)"
        );
        let sent = obl(&k, AlarmCommand::Arm, doc_time());
        let items: Vec<&str> = sent.split(';').collect();
        assert_eq!(
            decrypt_obl(&k, &items[..31].join(";")),
            Err(AlarmError::BadLength(31))
        );
        // Flipping the last byte breaks the padding (a 1/256 chance of valid padding is ruled
        // out here by the fixed key and plaintext).
        let mut tampered: Vec<u8> = items.iter().map(|s| s.parse().unwrap()).collect();
        tampered[31] ^= 0x55;
        let tampered: Vec<String> = tampered.iter().map(u8::to_string).collect();
        assert_eq!(
            decrypt_obl(&k, &tampered.join(";")),
            Err(AlarmError::BadPadding)
        );
        assert_eq!(
            AlarmError::BadPadding.to_string(),
            "obl does not decrypt with this key (bad PKCS#7 padding)"
        );
    }

    #[test]
    fn decrypt_never_panics_on_junk() {
        let k = key();
        // The real capture from the doc, under a key that is not that box's.
        let capture = "73;178;187;105;197;154;208;248;26;52;219;233;77;251;102;182;\
                       53;27;198;207;97;29;242;49;143;6;2;114;203;240;75;156";
        assert!(decrypt_obl(&k, capture).is_err());

        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"0123456789;;;; -x\xc3\xa9";
        for round in 0..3000 {
            let text = if round % 2 == 0 {
                let len = (next() % 200) as usize;
                let bytes: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                // Well-formed numbers, random count and values: exercises length and padding.
                let count = (next() % 4 + 1) * 16;
                (0..count)
                    .map(|_| (next() % 256).to_string())
                    .collect::<Vec<_>>()
                    .join(";")
            };
            let _ = decrypt_obl(&k, &text);
        }
    }
}

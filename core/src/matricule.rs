//! The box's identity: its 32-digit remote-access [`Key`] and the *matricule* it derives from it.
//!
//! The box holds a key K of 32 decimal digits in cells 922–937 (`Cle_Acces_Distance`, two BCD
//! digits per byte). On every request it sends `Authorization: Basic M` where
//!
//! ```text
//! D = MD5(K as 32 ASCII digits)                       16 bytes
//! md5chaine = hex(D[0..8]) ":" hex(D[8..16])          33 characters, lower-case hex
//! M = base64(md5chaine)                               44 characters
//! ```
//!
//! So the Basic "user" is the first 16 hex characters of MD5(K) and the "password" the last 16.
//! The user part names the box: it is its [`ClientId`]. See `legacy-protocol.md` §5, and
//! `cryptage()` in the firmware's `Ethernet/Cryptage.c`.
//!
//! Nothing here echoes a key or a credential: [`Key`]'s `Debug` hides the digits, a
//! [`KeyError`] quotes at most the one character that is not a digit, and an [`AuthError`] never
//! quotes the header.

use std::fmt;

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use md5::{Digest, Md5};
use thiserror::Error;

use crate::{ClientId, Value};

/// The first cell of the key in the exchange table (`Cle_Acces_Distance`, cells 922–937).
const FIRST_CELL: u16 = 922;

/// The box's 32-digit remote-access key (cells 922–937, two BCD digits per byte).
///
/// Always exactly 32 ASCII digits `0`–`9`. It is a secret: its `Debug` prints `Key(****)` and it
/// has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

/// Why a text or a set of cells is not a box key.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The (trimmed) text does not have 32 characters.
    #[error("a box key is 32 decimal digits, got {found} characters")]
    WrongLength {
        /// How many characters the trimmed text has.
        found: usize,
    },
    /// A character of the text is not a decimal digit.
    #[error("a box key is 32 decimal digits, found {character:?} at position {position}")]
    NotADigit {
        /// The offending character.
        character: char,
        /// Its position in the trimmed text, counting from 1.
        position: usize,
    },
    /// A key cell holds a nibble above 9, which is not a BCD digit.
    #[error(
        "a box key is 32 decimal digits, but cell {cell} holds {value:#04x}, which is not two BCD digits"
    )]
    NotBcd {
        /// The exchange-table index of the cell (922–937).
        cell: u16,
        /// The byte it holds.
        value: u8,
    },
}

impl Key {
    /// Parses a key written as 32 decimal digits, ignoring surrounding whitespace.
    ///
    /// # Errors
    /// [`KeyError::WrongLength`] if the trimmed text is not 32 characters long,
    /// [`KeyError::NotADigit`] for the first character that is not `0`–`9`.
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        let text = text.trim();
        let found = text.chars().count();
        if found != 32 {
            return Err(KeyError::WrongLength { found });
        }
        let mut digits = [0u8; 32];
        for (i, character) in text.chars().enumerate() {
            if !character.is_ascii_digit() {
                return Err(KeyError::NotADigit {
                    character,
                    position: i + 1,
                });
            }
            digits[i] = character as u8;
        }
        Ok(Key(digits))
    }

    /// Reads a key from the 16 cells 922–937, in index order.
    ///
    /// Each byte holds two BCD digits, **low nibble first**: cell 922 + i gives digit 2i from
    /// bits 0–3 and digit 2i+1 from bits 4–7. So the key `1234…` is stored as `0x21, 0x43, …`.
    /// This is what the firmware does (`cryptage()` in `Ethernet/Cryptage.c` and
    /// `sc_AnalyseOrdreAlarmeServeur()` in `Ethernet/www.c` build the ASCII key as
    /// `(b & 0x0F) + '0'` then `(b >> 4) + '0'`), and it matches the alarm code cells 410–411.
    /// `legacy-protocol.md` §5 itself does not say which nibble comes first.
    ///
    /// # Errors
    /// [`KeyError::NotBcd`] for the first cell with a nibble above 9 (the firmware would turn it
    /// into a non-digit character such as `:`; such a key cannot be typed, so it is refused).
    pub fn from_cells(cells: [Value; 16]) -> Result<Key, KeyError> {
        let mut digits = [0u8; 32];
        for (i, cell) in (0u16..).zip(cells) {
            let value = cell.get();
            let (low, high) = (value & 0x0F, value >> 4);
            if low > 9 || high > 9 {
                return Err(KeyError::NotBcd {
                    cell: FIRST_CELL + i,
                    value,
                });
            }
            let at = usize::from(i) * 2;
            digits[at] = b'0' + low;
            digits[at + 1] = b'0' + high;
        }
        Ok(Key(digits))
    }

    /// The 16 cells 922–937 that hold this key: the inverse of [`Key::from_cells`] (low nibble
    /// first).
    pub fn to_cells(&self) -> [Value; 16] {
        let mut cells = [Value(0); 16];
        for (cell, pair) in cells.iter_mut().zip(self.0.chunks_exact(2)) {
            *cell = Value((pair[0] - b'0') | ((pair[1] - b'0') << 4));
        }
        cells
    }

    /// The 32 ASCII digits of the key (also the AES-256 key of the alarm cipher).
    pub fn digits(&self) -> &[u8; 32] {
        &self.0
    }

    /// The lower-case hex of MD5(the 32 ASCII digits): 32 characters.
    pub fn md5_hex(&self) -> String {
        let digest = Md5::digest(self.0);
        let mut hex = String::with_capacity(32);
        for byte in digest {
            push_hex(&mut hex, byte);
        }
        hex
    }

    /// The matricule the box sends after `Authorization: Basic `: base64 of
    /// `hex(D[0..8]) ":" hex(D[8..16])` with D = MD5(key), 44 characters.
    pub fn matricule(&self) -> String {
        BASE64.encode(self.credentials())
    }

    /// The box's client id: the Basic "user" part, i.e. the first 16 hex characters of MD5(key).
    pub fn client_id(&self) -> ClientId {
        let hex = self.md5_hex();
        ClientId::new(&hex[..16]).expect("16 lower-case hex characters are a valid client id")
    }

    /// Whether an `Authorization` header value (`Basic <M>`) carries exactly this key's
    /// matricule.
    ///
    /// The scheme is matched case-insensitively and surrounding spaces are ignored, as in
    /// [`client_id`]; the decoded credentials must then be byte for byte the ones the firmware
    /// sends (`user:password`, lower-case hex). They are compared in constant time. A malformed
    /// header simply does not verify.
    pub fn verifies(&self, authorization: &str) -> bool {
        match decode_credentials(authorization) {
            Ok(credentials) => constant_time_eq(&credentials, self.credentials().as_bytes()),
            Err(_) => false,
        }
    }

    /// `md5chaine`: `hex(D[0..8]) ":" hex(D[8..16])`, 33 characters.
    fn credentials(&self) -> String {
        let hex = self.md5_hex();
        format!("{}:{}", &hex[..16], &hex[16..])
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(****)")
    }
}

impl std::str::FromStr for Key {
    type Err = KeyError;

    /// Same as [`Key::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Key::parse(s)
    }
}

/// Why an `Authorization` header value does not name a box. The messages never quote the header.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The value is not the scheme `Basic` followed by one token.
    #[error("authorization is not 'Basic <base64>'")]
    NotBasic,
    /// The token is not standard (padded) base64.
    #[error("matricule is not valid base64")]
    NotBase64,
    /// The decoded credentials have no `:` between user and password.
    #[error("matricule has no ':' between its user and password parts")]
    NoSeparator,
    /// The user part (before the first `:`) is not 16 hex characters.
    #[error("matricule user part is not 16 hex characters")]
    BadUser,
}

/// The client id a request belongs to, from its `Authorization` header value (None = header
/// absent → [`ClientId::default_box()`]).
///
/// The value must be `Basic <M>`: the scheme in any case, surrounding spaces allowed. M is
/// decoded as standard base64 and split at its first `:`; the user part must be 16 hex
/// characters, which are lower-cased into the id. The password part is not checked here (see
/// [`Key::verifies`]).
///
/// # Errors
/// An [`AuthError`] saying which step failed. A header that is present but empty is
/// [`AuthError::NotBasic`], not the default box.
pub fn client_id(authorization: Option<&str>) -> Result<ClientId, AuthError> {
    let Some(authorization) = authorization else {
        return Ok(ClientId::default_box());
    };
    let credentials = decode_credentials(authorization)?;
    let colon = credentials
        .iter()
        .position(|&b| b == b':')
        .ok_or(AuthError::NoSeparator)?;
    let user = &credentials[..colon];
    if user.len() != 16 || !user.iter().all(u8::is_ascii_hexdigit) {
        return Err(AuthError::BadUser);
    }
    let user: String = user
        .iter()
        .map(|&b| char::from(b.to_ascii_lowercase()))
        .collect();
    ClientId::new(&user).map_err(|_| AuthError::BadUser)
}

/// What a box's matricule is pinned to in open mode (trust on first use): a SHA-256 digest of
/// its id and its password half, so that the secret itself is never stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pin([u8; 32]);

impl Pin {
    /// The pin of the matricule in `authorization` (`Basic <base64>`), if it has a password
    /// half.
    pub fn of(authorization: &str) -> Option<Pin> {
        use sha2::Digest as _;
        let credentials = decode_credentials(authorization).ok()?;
        let colon = credentials.iter().position(|&b| b == b':')?;
        let mut hash = sha2::Sha256::new();
        hash.update(b"essensys-pin\0");
        hash.update(credentials[..colon].to_ascii_lowercase());
        hash.update(b"\0");
        hash.update(&credentials[colon + 1..]);
        Some(Pin(hash.finalize().into()))
    }

    /// As 64 lower-case hex digits, as stores keep it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// From 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Pin> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (n, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * n..2 * n + 2], 16).ok()?;
        }
        Some(Pin(out))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(…)")
    }
}

/// The `Authorization` value with its password half removed, to be kept: `Basic
/// base64("<user>:")`. Tools that read the box's matricule from the store still find its user
/// half (its id); the secret half is never stored. `None` when it is not `Basic <base64>` with
/// a `:`.
pub fn without_password(authorization: &str) -> Option<String> {
    let credentials = decode_credentials(authorization).ok()?;
    let colon = credentials.iter().position(|&b| b == b':')?;
    Some(format!("Basic {}", BASE64.encode(&credentials[..=colon])))
}

/// Splits `Basic <token>` and base64-decodes the token.
fn decode_credentials(authorization: &str) -> Result<Vec<u8>, AuthError> {
    let (scheme, token) = authorization
        .trim()
        .split_once(|c: char| c.is_ascii_whitespace())
        .ok_or(AuthError::NotBasic)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("basic")
        || token.is_empty()
        || token.contains(|c: char| c.is_whitespace())
    {
        return Err(AuthError::NotBasic);
    }
    BASE64.decode(token).map_err(|_| AuthError::NotBase64)
}

/// Compares two byte strings without stopping at the first difference (the lengths are not
/// secret: a matricule is always 33 bytes).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// Appends a byte as two lower-case hex digits.
fn push_hex(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0F)]));
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_KEY: &str = "12345678901234567890123456789012";
    const DOC_MATRICULE: &str = "NzY3MTc5YzdhMmJmZjE5Njo1MWNlOTdkMjk0YzMwY2Zi";

    fn doc_key() -> Key {
        Key::parse(DOC_KEY).unwrap()
    }

    #[test]
    fn a_pin_depends_on_both_halves_and_round_trips_as_hex() {
        let key = Key::parse("12345678901234567890123456789012").expect("key");
        let header = format!("Basic {}", key.matricule());
        let pin = Pin::of(&header).expect("pin");
        assert_eq!(Pin::from_hex(&pin.to_hex()), Some(pin));
        let other = Key::parse("12345678901234567890123456789013").expect("key");
        assert_ne!(Pin::of(&format!("Basic {}", other.matricule())), Some(pin));
        let user = key.client_id();
        let forged = format!(
            "Basic {}",
            BASE64.encode(format!("{user}:another-password"))
        );
        assert_ne!(
            Pin::of(&forged),
            Some(pin),
            "same user half, other password half"
        );
        assert_eq!(Pin::of("Basic bm9jb2xvbg=="), None);
        assert_eq!(Pin::from_hex("zz"), None);
        assert!(!format!("{pin:?}").contains(&pin.to_hex()[..8]));
    }

    #[test]
    fn the_password_half_is_never_kept() {
        let key = Key::parse("12345678901234567890123456789012").expect("key");
        let header = format!("Basic {}", key.matricule());
        let kept = without_password(&header).expect("a matricule");
        let decoded = BASE64
            .decode(kept.trim_start_matches("Basic "))
            .expect("base64");
        assert_eq!(decoded, format!("{}:", key.client_id()).into_bytes());
        assert_eq!(
            client_id(Some(&kept)),
            Ok(key.client_id()),
            "the id still reads"
        );
        assert!(!key.verifies(&kept));
        assert_eq!(without_password("Bearer x"), None);
        assert_eq!(without_password("Basic bm9jb2xvbg=="), None, "no colon");
    }

    #[test]
    fn known_answer_from_the_protocol_doc() {
        let key = doc_key();
        assert_eq!(key.digits(), DOC_KEY.as_bytes());
        assert_eq!(key.md5_hex(), "767179c7a2bff19651ce97d294c30cfb");
        assert_eq!(key.matricule(), DOC_MATRICULE);
        assert_eq!(key.matricule().len(), 44);
        assert_eq!(key.client_id().as_str(), "767179c7a2bff196");
        assert_eq!(
            client_id(Some(&format!("Basic {DOC_MATRICULE}"))).map(|c| c.to_string()),
            Ok("767179c7a2bff196".to_string())
        );
    }

    #[test]
    fn parse_trims_and_reports_errors() {
        assert_eq!(Key::parse(&format!("  {DOC_KEY}\n")), Ok(doc_key()));
        assert_eq!(DOC_KEY.parse::<Key>(), Ok(doc_key()));

        let short = Key::parse(&DOC_KEY[..31]).unwrap_err();
        assert_eq!(short, KeyError::WrongLength { found: 31 });
        assert_eq!(
            short.to_string(),
            "a box key is 32 decimal digits, got 31 characters"
        );
        assert_eq!(Key::parse(""), Err(KeyError::WrongLength { found: 0 }));
        assert_eq!(
            Key::parse(&format!("{DOC_KEY}3")),
            Err(KeyError::WrongLength { found: 33 })
        );

        let bad = Key::parse("12x45678901234567890123456789012").unwrap_err();
        assert_eq!(
            bad,
            KeyError::NotADigit {
                character: 'x',
                position: 3
            }
        );
        assert_eq!(
            bad.to_string(),
            "a box key is 32 decimal digits, found 'x' at position 3"
        );
        // Non-ASCII characters count as one character each and are reported, not split.
        assert_eq!(
            Key::parse("1234567890123456789012345678901é"),
            Err(KeyError::NotADigit {
                character: 'é',
                position: 32
            })
        );
        assert!(matches!(
            Key::parse("1234567890 234567890123456789012"),
            Err(KeyError::NotADigit {
                character: ' ',
                position: 11
            })
        ));
    }

    #[test]
    fn debug_hides_the_digits() {
        let shown = format!("{:?}", doc_key());
        assert_eq!(shown, "Key(****)");
        assert_eq!(format!("{:#?}", doc_key()), "Key(****)");
        assert!(!format!("{:?}", Ok::<_, ()>(doc_key())).contains("1234"));
    }

    #[test]
    fn cells_are_bcd_low_nibble_first() {
        let mut cells = [Value(0); 16];
        for (cell, pair) in cells.iter_mut().zip(DOC_KEY.as_bytes().chunks(2)) {
            *cell = Value((pair[0] - b'0') | ((pair[1] - b'0') << 4));
        }
        assert_eq!(cells[0], Value(0x21));
        assert_eq!(cells[15], Value(0x21));
        assert_eq!(Key::from_cells(cells), Ok(doc_key()));
        assert_eq!(doc_key().to_cells(), cells);

        let mut bad = cells;
        bad[3] = Value(0x3A);
        let error = Key::from_cells(bad).unwrap_err();
        assert_eq!(
            error,
            KeyError::NotBcd {
                cell: 925,
                value: 0x3A
            }
        );
        assert_eq!(
            error.to_string(),
            "a box key is 32 decimal digits, but cell 925 holds 0x3a, which is not two BCD digits"
        );
        bad[3] = Value(0xA3);
        assert!(matches!(
            Key::from_cells(bad),
            Err(KeyError::NotBcd { cell: 925, .. })
        ));
        assert!(Key::from_cells([Value(0x99); 16]).is_ok());
        assert_eq!(
            Key::from_cells([Value(0); 16]).map(|k| *k.digits()),
            Ok([b'0'; 32])
        );
    }

    #[test]
    fn verifies_only_this_keys_matricule() {
        let key = doc_key();
        assert!(key.verifies(&format!("Basic {DOC_MATRICULE}")));
        assert!(key.verifies(&format!("  basic   {DOC_MATRICULE} \r\n")));
        assert!(key.verifies(&format!("BASIC {DOC_MATRICULE}")));

        let other = Key::parse("00000000000000000000000000000000").unwrap();
        assert!(!other.verifies(&format!("Basic {DOC_MATRICULE}")));
        assert!(other.verifies(&format!("Basic {}", other.matricule())));
        assert!(!key.verifies(&format!("Basic {}", other.matricule())));

        // Same user part, wrong password part.
        let forged = BASE64.encode("767179c7a2bff196:0000000000000000");
        assert!(!key.verifies(&format!("Basic {forged}")));
        // Upper-case hex is not what the box sends.
        let upper = BASE64.encode("767179C7A2BFF196:51CE97D294C30CFB");
        assert!(!key.verifies(&format!("Basic {upper}")));
        // Malformed headers.
        assert!(!key.verifies(""));
        assert!(!key.verifies(DOC_MATRICULE));
        assert!(!key.verifies(&format!("Bearer {DOC_MATRICULE}")));
        assert!(!key.verifies(&format!("Basic {}", &DOC_MATRICULE[..43])));
    }

    #[test]
    fn client_id_of_headers() {
        assert_eq!(client_id(None).map(|c| c.to_string()), Ok("default".into()));
        let upper = BASE64.encode("767179C7A2BFF196:whatever");
        assert_eq!(
            client_id(Some(&format!(" bAsIc {upper} "))).map(|c| c.to_string()),
            Ok("767179c7a2bff196".into())
        );
        // Only the first ':' splits.
        let colons = BASE64.encode("0123456789abcdef:a:b");
        assert_eq!(
            client_id(Some(&format!("Basic {colons}"))).map(|c| c.to_string()),
            Ok("0123456789abcdef".into())
        );
    }

    #[test]
    fn malformed_headers_give_clear_errors() {
        let cases: &[(String, AuthError)] = &[
            (String::new(), AuthError::NotBasic),
            ("   ".into(), AuthError::NotBasic),
            ("Basic".into(), AuthError::NotBasic),
            ("Basic    ".into(), AuthError::NotBasic),
            (DOC_MATRICULE.into(), AuthError::NotBasic),
            (format!("Bearer {DOC_MATRICULE}"), AuthError::NotBasic),
            (format!("Basic {DOC_MATRICULE} extra"), AuthError::NotBasic),
            ("Basic not*base64".into(), AuthError::NotBase64),
            (
                format!("Basic {}", &DOC_MATRICULE[..43]),
                AuthError::NotBase64,
            ),
            (
                format!("Basic {}", BASE64.encode("767179c7a2bff196")),
                AuthError::NoSeparator,
            ),
            (
                format!("Basic {}", BASE64.encode("767179c7a2bff19:x")),
                AuthError::BadUser,
            ),
            (
                format!("Basic {}", BASE64.encode("767179c7a2bff1966:x")),
                AuthError::BadUser,
            ),
            (
                format!("Basic {}", BASE64.encode("767179c7a2bff19g:x")),
                AuthError::BadUser,
            ),
            (
                format!("Basic {}", BASE64.encode([0xFFu8; 20])),
                AuthError::NoSeparator,
            ),
            (format!("Basic {}", BASE64.encode(":")), AuthError::BadUser),
        ];
        for (header, expected) in cases {
            assert_eq!(
                &client_id(Some(header)).unwrap_err(),
                expected,
                "{header:?}"
            );
        }
        assert_eq!(
            AuthError::NotBasic.to_string(),
            "authorization is not 'Basic <base64>'"
        );
        assert_eq!(
            AuthError::NotBase64.to_string(),
            "matricule is not valid base64"
        );
        assert_eq!(
            AuthError::BadUser.to_string(),
            "matricule user part is not 16 hex characters"
        );
    }

    #[test]
    fn never_panics_on_junk() {
        let key = doc_key();
        let header = format!("Basic {DOC_MATRICULE}");
        for end in 0..=header.len() {
            let prefix = &header[..end];
            // A cut token may still decode to the full user part: then it names the same box
            // (only `verifies` checks the password part).
            if let Ok(id) = client_id(Some(prefix)) {
                assert_eq!(id.as_str(), "767179c7a2bff196", "{prefix:?}");
            }
            assert_eq!(key.verifies(prefix), end == header.len());
        }

        // A small deterministic xorshift generator: pure, no randomness source needed.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"Basic basic:+/=0123456789abcdefABCDEF \t\r\n\xc3\xa9\x00\xff";
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            let _ = client_id(Some(&text));
            let _ = key.verifies(&text);
            let _ = Key::parse(&text);
            let token = BASE64.encode(&bytes);
            let _ = client_id(Some(&format!("Basic {token}")));
            assert!(!key.verifies(&format!("Basic {token}")));
        }
    }
}

//! The box's remote-access key as the firmware holds and uses it (`legacy-protocol.md` §5),
//! written here independently of core's matricule code so that the two check each other.
//!
//! ```text
//! K  = 32 decimal digits, in cells 922–937, two BCD digits per byte, low nibble first
//! D  = MD5(K as 32 ASCII digits)
//! md5chaine = hex(D[0..8]) ":" hex(D[8..16])      lower-case, 33 characters
//! M  = base64(md5chaine)                          44 characters: "Authorization: Basic M"
//! ```
//! The client id a gateway derives is the Basic "user", the first 16 hex characters of MD5(K).
//!
//! The nibble order is not written in `legacy-protocol.md`; it is the firmware's:
//! `cryptage()` (`Ethernet/Cryptage.c`) and `sc_AnalyseOrdreAlarmeServeur()` (`Ethernet/www.c`)
//! build the ASCII key as `(b & 0x0F) + '0'` then `(b >> 4) + '0'` for each key byte, and
//! `exchange-table.md` stores the alarm code cells 410–411 the same way (b0–3 first digit).

use std::{fmt, ops::RangeInclusive};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use essensys_core::{matricule::Key, ClientId};
use md5::{Digest, Md5};

/// The key cells, `Cle_Acces_Distance` (write-only for the server).
pub(crate) const CELLS: RangeInclusive<u16> = 922..=937;

/// A box key: exactly 32 ASCII digits. A secret: its `Debug` hides the digits.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BoxKey {
    /// The 32 ASCII digits (also the AES-256 key of the alarm cipher).
    digits: [u8; 32],
}

impl fmt::Debug for BoxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxKey(****)")
    }
}

impl BoxKey {
    /// The key whose digits are `text`, if it is exactly 32 ASCII digits.
    pub(crate) fn from_digits(text: &[u8]) -> Option<Self> {
        let digits: [u8; 32] = text.try_into().ok()?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then_some(Self { digits })
    }

    /// The key a caller configured with core's [`Key`] (only its 32 digits are taken, none of
    /// core's derivations); `None` if core's key does not hold 32 ASCII digits.
    pub(crate) fn of(key: &Key) -> Option<Self> {
        Self::from_digits(key.digits())
    }

    /// The same key as core's [`Key`] (for [`crate::SimConfig::key`]), if core accepts it.
    pub(crate) fn to_core(&self) -> Option<Key> {
        Key::parse(self.text()).ok()
    }

    /// Reads the key from the 16 cells 922–937 in index order, low nibble first.
    ///
    /// # Errors
    /// The first cell with a nibble above 9 (not two BCD digits), as a message.
    pub(crate) fn from_cells(cells: [u8; 16]) -> Result<Self, String> {
        let mut digits = [0u8; 32];
        for ((cell, byte), pair) in CELLS.zip(cells).zip(digits.chunks_exact_mut(2)) {
            let (low, high) = (byte % 16, byte / 16);
            if low > 9 || high > 9 {
                return Err(format!(
                    "cell {cell} holds {byte:#04x}, which is not two BCD digits"
                ));
            }
            pair[0] = b'0' + low;
            pair[1] = b'0' + high;
        }
        Ok(Self { digits })
    }

    /// The 16 cells 922–937 holding this key: digit 2i in the low nibble of cell 922 + i, digit
    /// 2i + 1 in its high nibble.
    pub(crate) fn to_cells(&self) -> [u8; 16] {
        let mut cells = [0u8; 16];
        for (cell, pair) in cells.iter_mut().zip(self.digits.chunks_exact(2)) {
            *cell = (pair[0] - b'0') + 16 * (pair[1] - b'0');
        }
        cells
    }

    /// The 32 ASCII digits.
    pub(crate) fn digits(&self) -> &[u8; 32] {
        &self.digits
    }

    /// The digits as text.
    fn text(&self) -> &str {
        // 32 ASCII digits are UTF-8.
        std::str::from_utf8(&self.digits).unwrap_or_default()
    }

    /// The lower-case hex of MD5(the 32 ASCII digits): 32 characters.
    pub(crate) fn md5_hex(&self) -> String {
        Md5::digest(self.digits)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// `md5chaine`: the first 16 hex characters, `:`, the last 16.
    fn md5chaine(&self) -> String {
        let hex = self.md5_hex();
        format!("{}:{}", &hex[..16], &hex[16..])
    }

    /// The matricule M the box sends after `Authorization: Basic `: 44 characters.
    pub(crate) fn matricule(&self) -> String {
        BASE64.encode(self.md5chaine())
    }

    /// The client id a gateway names this box by: the first 16 hex characters of MD5(K).
    pub(crate) fn client_id(&self) -> ClientId {
        let hex = self.md5_hex();
        ClientId::new(&hex[..16])
            .unwrap_or_else(|_| unreachable!("16 lower-case hex characters are a client id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholder key of `legacy-protocol.md` §5 and of the fixtures.
    const PLACEHOLDER: &[u8] = b"12345678901234567890123456789012";

    fn placeholder() -> BoxKey {
        BoxKey::from_digits(PLACEHOLDER).expect("32 digits")
    }

    #[test]
    fn the_documented_matricule_and_box_id() {
        let key = placeholder();
        // legacy-protocol.md §5.
        assert_eq!(
            key.matricule(),
            "NzY3MTc5YzdhMmJmZjE5Njo1MWNlOTdkMjk0YzMwY2Zi"
        );
        assert_eq!(key.matricule().len(), 44);
        // Its base64 decodes to md5chaine: user ":" password.
        assert_eq!(key.md5chaine(), "767179c7a2bff196:51ce97d294c30cfb");
        assert_eq!(key.md5_hex(), "767179c7a2bff19651ce97d294c30cfb");
        assert_eq!(key.client_id().as_str(), "767179c7a2bff196");
    }

    #[test]
    fn cells_are_two_bcd_digits_low_nibble_first() {
        let key = placeholder();
        let cells = key.to_cells();
        // "12" -> 0x21, "34" -> 0x43, ..., "90" -> 0x09, "12" -> 0x21.
        assert_eq!(&cells[..5], &[0x21, 0x43, 0x65, 0x87, 0x09]);
        assert_eq!(cells[15], 0x21);
        assert_eq!(BoxKey::from_cells(cells), Ok(key));
        let mut bad = cells;
        bad[3] = 0x8A;
        assert_eq!(
            BoxKey::from_cells(bad),
            Err("cell 925 holds 0x8a, which is not two BCD digits".to_string())
        );
        bad[3] = 0xA8;
        assert!(BoxKey::from_cells(bad).is_err());
        assert_eq!(
            BoxKey::from_cells([0; 16]).map(|k| k.digits),
            Ok([b'0'; 32])
        );
    }

    #[test]
    fn only_32_ascii_digits_are_a_key() {
        assert!(BoxKey::from_digits(&PLACEHOLDER[..31]).is_none());
        assert!(BoxKey::from_digits(b"1234567890123456789012345678901x").is_none());
        assert!(BoxKey::from_digits(b"123456789012345678901234567890123").is_none());
        assert_eq!(format!("{:?}", placeholder()), "BoxKey(****)");
    }

    /// The sim's derivations must agree with core's: if this fails, one of the two is wrong (the
    /// documented example above says which).
    #[test]
    fn core_agrees_with_the_sim() {
        for text in [
            "12345678901234567890123456789012",
            "00000000000000000000000000000001",
            "98765432109876543210987654321098",
            "99999999999999999999999999999999",
        ] {
            let core = Key::parse(text).expect("core parses 32 digits");
            let ours = BoxKey::of(&core).expect("core holds the 32 digits");
            assert_eq!(ours.digits(), text.as_bytes());
            assert_eq!(ours.to_core().as_ref(), Some(&core));
            let core_cells: Vec<u8> = core.to_cells().iter().map(|v| v.get()).collect();
            assert_eq!(core_cells, ours.to_cells(), "{text}");
            assert_eq!(core.md5_hex(), ours.md5_hex(), "{text}");
            assert_eq!(core.matricule(), ours.matricule(), "{text}");
            assert_eq!(core.client_id(), ours.client_id(), "{text}");
        }
    }
}

//! Value codecs round-trip.

use essensys_core::{codec, Index, Value};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// Every byte survives the LSB-first binary string, and bit k is character k.
    #[test]
    fn binary_strings_round_trip(v in any::<u8>()) {
        let text = codec::to_binary(Value(v));
        prop_assert_eq!(codec::from_binary(&text), Some(Value(v)));
        for (bit, c) in text.iter().enumerate() {
            prop_assert_eq!(*c == b'1', v & (1 << bit) != 0);
        }
    }

    /// A value written as the box reports it for any index reads back the same.
    #[test]
    fn reported_values_round_trip(index in 0u16..953, v in any::<u8>()) {
        let index = Index::new(index).expect("in range");
        let mut out = Vec::new();
        codec::encode_reported(index, Value(v), &mut out);
        prop_assert_eq!(codec::decode_reported(index, &out), Some(Value(v)));
    }

    /// Arbitrary bytes never decode to anything but a valid value, and never panic.
    #[test]
    fn junk_values_are_refused_or_valid(index in 0u16..953, text in prop::collection::vec(any::<u8>(), 0..12)) {
        let index = Index::new(index).expect("in range");
        if let Some(v) = codec::decode_reported(index, &text) {
            let mut out = Vec::new();
            codec::encode_reported(index, v, &mut out);
            prop_assert!(out == text || text.iter().all(u8::is_ascii_digit));
        }
    }
}

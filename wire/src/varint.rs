//! Zigzag varints (and varlongs, up to 10 bytes) as Kafka's record format
//! writes them: one reader and one writer for every module that walks or
//! patches records by hand.

/// The zigzag varint at `*at`, moving `*at` past it; `None` when the bytes
/// end first or the varint runs past 10 bytes.
pub(crate) fn read_varint(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    None
}

/// Appends `value` as a zigzag varint.
pub(crate) fn write_varint(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            300,
            -300,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut bytes = Vec::new();
            write_varint(&mut bytes, v);
            let mut at = 0;
            assert_eq!(read_varint(&bytes, &mut at), Some(v));
            assert_eq!(at, bytes.len());
        }
    }

    #[test]
    fn a_cut_varint_is_none() {
        assert_eq!(read_varint(&[0x80], &mut 0), None);
        assert_eq!(read_varint(&[], &mut 0), None);
        assert_eq!(read_varint(&[0xff; 11], &mut 0), None);
    }
}

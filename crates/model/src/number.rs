//! DynamoDB numbers: exact decimals of up to 38 significant digits, magnitudes from 1E-130 to
//! 9.99…E+125, stored normalised (no leading or trailing zeros) so that equal values have one
//! representation and arithmetic is exact.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::limits::{NUMBER_EXPONENT_MAX, NUMBER_EXPONENT_MIN, NUMBER_PRECISION_DIGITS_MAX};

/// Why a string is not a DynamoDB number; the messages are DynamoDB's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("A value provided cannot be converted into a number")]
    Invalid,
    #[error("Attempting to store more than 38 significant digits in a Number")]
    Precision,
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    #[error("Number underflow. Attempting to store a number with magnitude smaller than supported range")]
    Underflow,
}

/// An exact decimal: `(-1)^negative × 0.d1d2…dn × 10^exponent`.
///
/// Invariants: `digits` holds values 0..=9 with no leading or trailing zero; an empty `digits`
/// is zero, and zero is never negative and has exponent 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Number {
    negative: bool,
    digits: Vec<u8>,
    exponent: i32,
}

impl Number {
    /// Zero.
    pub fn zero() -> Self {
        Number {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        }
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether this is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// How many significant digits the number has (leading and trailing zeros trimmed).
    pub fn significant_digits(&self) -> usize {
        self.digits.len()
    }

    /// Builds a normalised number from raw parts, checking DynamoDB's range and precision.
    fn from_parts(
        negative: bool,
        mut digits: Vec<u8>,
        mut exponent: i64,
    ) -> Result<Self, NumberError> {
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        exponent -= leading as i64;
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        if digits.len() > NUMBER_PRECISION_DIGITS_MAX {
            return Err(NumberError::Precision);
        }
        if exponent > i64::from(NUMBER_EXPONENT_MAX) {
            return Err(NumberError::Overflow);
        }
        if exponent < i64::from(NUMBER_EXPONENT_MIN) {
            return Err(NumberError::Underflow);
        }
        Ok(Number {
            negative,
            digits,
            exponent: exponent as i32,
        })
    }

    /// Parses DynamoDB's number syntax: optional sign, digits with an optional point, optional
    /// exponent.
    pub fn parse(text: &str) -> Result<Self, NumberError> {
        let bytes = text.as_bytes();
        let mut pos = 0;
        let mut negative = false;
        if let Some(&sign) = bytes.first() {
            if sign == b'-' || sign == b'+' {
                negative = sign == b'-';
                pos = 1;
            }
        }
        let mut digits = Vec::with_capacity(bytes.len());
        let mut integer_digits: i64 = 0;
        let mut seen_point = false;
        let mut any_digit = false;
        while pos < bytes.len() {
            match bytes[pos] {
                b @ b'0'..=b'9' => {
                    digits.push(b - b'0');
                    any_digit = true;
                    if !seen_point {
                        integer_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return Err(NumberError::Invalid),
            }
            pos += 1;
        }
        if !any_digit {
            return Err(NumberError::Invalid);
        }
        let mut exp_value: i64 = 0;
        if pos < bytes.len() {
            pos += 1; // the 'e'
            let mut exp_negative = false;
            if pos < bytes.len() && (bytes[pos] == b'-' || bytes[pos] == b'+') {
                exp_negative = bytes[pos] == b'-';
                pos += 1;
            }
            if pos >= bytes.len() {
                return Err(NumberError::Invalid);
            }
            for &b in &bytes[pos..] {
                if !b.is_ascii_digit() {
                    return Err(NumberError::Invalid);
                }
                exp_value = exp_value
                    .saturating_mul(10)
                    .saturating_add(i64::from(b - b'0'));
                // Far beyond any representable exponent: keep it bounded.
                exp_value = exp_value.min(1_000_000);
            }
            if exp_negative {
                exp_value = -exp_value;
            }
        }
        Number::from_parts(negative, digits, integer_digits + exp_value)
    }

    /// Builds a number from an integer.
    pub fn from_i64(value: i64) -> Self {
        let negative = value < 0;
        let text = value.unsigned_abs().to_string();
        let digits: Vec<u8> = text.bytes().map(|b| b - b'0').collect();
        let len = digits.len() as i64;
        // An i64 has at most 19 digits and a small exponent: always in range.
        Number::from_parts(negative, digits, len).unwrap_or_else(|_| Number::zero())
    }

    /// The value as an `f64`, for size estimates and statistics only.
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
    }

    /// The value as an `i64` if it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.exponent < self.digits.len() as i32 || self.exponent > 19 {
            return None;
        }
        self.to_string().parse().ok()
    }

    /// The negation.
    pub fn negate(&self) -> Self {
        if self.is_zero() {
            return self.clone();
        }
        Number {
            negative: !self.negative,
            ..self.clone()
        }
    }

    /// Exact sum; fails like DynamoDB if the result leaves the supported range or precision.
    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        // Align both coefficients on the lowest power of ten either one uses.
        let low = (self.exponent - self.digits.len() as i32)
            .min(other.exponent - other.digits.len() as i32);
        let high = self.exponent.max(other.exponent);
        let width = (high - low) as usize;
        let a = self.aligned(high, width);
        let b = other.aligned(high, width);
        let (negative, digits) = if self.negative == other.negative {
            (self.negative, add_magnitudes(&a, &b))
        } else {
            match a.cmp(&b) {
                Ordering::Equal => return Ok(Number::zero()),
                Ordering::Greater => (self.negative, sub_magnitudes(&a, &b)),
                Ordering::Less => (other.negative, sub_magnitudes(&b, &a)),
            }
        };
        // `digits` has one extra leading position for a carry.
        Number::from_parts(negative, digits, i64::from(high) + 1)
    }

    /// Exact difference.
    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.add(&other.negate())
    }

    /// The coefficient written over `width` digit positions whose top position is `10^(high-1)`.
    fn aligned(&self, high: i32, width: usize) -> Vec<u8> {
        let mut out = vec![0u8; width];
        let offset = (high - self.exponent) as usize;
        out[offset..offset + self.digits.len()].copy_from_slice(&self.digits);
        out
    }

    /// An encoding whose byte order is the numeric order, for keys.
    pub fn encode_ordered(&self, out: &mut Vec<u8>) {
        if self.is_zero() {
            out.push(0x02);
            return;
        }
        let biased = (self.exponent + 0x8000) as u16;
        if self.negative {
            out.push(0x01);
            out.extend_from_slice(&(!biased).to_be_bytes());
            out.extend(self.digits.iter().map(|d| 10 - d));
            out.push(0xFF);
        } else {
            out.push(0x03);
            out.extend_from_slice(&biased.to_be_bytes());
            out.extend(self.digits.iter().map(|d| d + 1));
            out.push(0x00);
        }
    }

    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + 1];
    let mut carry = 0;
    for i in (0..a.len()).rev() {
        let sum = a[i] + b[i] + carry;
        out[i + 1] = sum % 10;
        carry = sum / 10;
    }
    out[0] = carry;
    out
}

/// `a - b` for `a >= b`, with a leading zero position to match `add_magnitudes`.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + 1];
    let mut borrow = 0i8;
    for i in (0..a.len()).rev() {
        let mut diff = a[i] as i8 - b[i] as i8 - borrow;
        borrow = 0;
        if diff < 0 {
            diff += 10;
            borrow = 1;
        }
        out[i + 1] = diff as u8;
    }
    out
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

/// Plain notation without trailing zeros, as DynamoDB returns numbers.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut s = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            s.push('-');
        }
        let len = self.digits.len() as i32;
        let digit = |d: &u8| char::from(b'0' + d);
        if self.exponent <= 0 {
            s.push_str("0.");
            s.extend(std::iter::repeat_n('0', (-self.exponent) as usize));
            s.extend(self.digits.iter().map(digit));
        } else if self.exponent >= len {
            s.extend(self.digits.iter().map(digit));
            s.extend(std::iter::repeat_n('0', (self.exponent - len) as usize));
        } else {
            let split = self.exponent as usize;
            s.extend(self.digits[..split].iter().map(digit));
            s.push('.');
            s.extend(self.digits[split..].iter().map(digit));
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn t10_normalises_like_dynamodb() {
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!(n("0100").to_string(), "100");
        assert_eq!(n("1e2").to_string(), "100");
        assert_eq!(n("-0.000").to_string(), "0");
        assert_eq!(n("+.5").to_string(), "0.5");
        assert_eq!(n("-12.340E-3").to_string(), "-0.01234");
        assert_eq!(n("1E-130").to_string(), format!("0.{}1", "0".repeat(129)));
    }

    #[test]
    fn t10_rejects_bad_numbers() {
        for bad in [
            "", "-", "abc", "1.2.3", "1e", "NaN", "Infinity", " 1", "1 ", "0x10", "e5",
        ] {
            assert_eq!(Number::parse(bad), Err(NumberError::Invalid), "{bad:?}");
        }
        assert_eq!(Number::parse(&"1".repeat(39)), Err(NumberError::Precision));
        assert!(Number::parse(&format!("{}000", "1".repeat(38))).is_ok());
        assert_eq!(Number::parse("1E126"), Err(NumberError::Overflow));
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert_eq!(Number::parse("1E-131"), Err(NumberError::Underflow));
        assert_eq!(
            Number::parse("1e99999999999999999999"),
            Err(NumberError::Overflow)
        );
    }

    #[test]
    fn t20_arithmetic_is_exact() {
        assert_eq!(n("0.1").add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("5").sub(&n("7")).unwrap(), n("-2"));
        assert_eq!(n("-5").add(&n("5")).unwrap(), Number::zero());
        assert_eq!(n("999").add(&n("1")).unwrap(), n("1000"));
        let big = "9".repeat(38);
        assert_eq!(
            n(&big).add(&n("1")).unwrap().to_string(),
            format!("1{}", "0".repeat(38))
        );
        assert_eq!(
            n(&"1".repeat(38)).add(&n("0.1")),
            Err(NumberError::Precision)
        );
        assert_eq!(
            n("12345678901234567890123456789012345678")
                .sub(&n("1"))
                .unwrap()
                .to_string(),
            "12345678901234567890123456789012345677"
        );
        assert_eq!(n("1E125").add(&n("1E-100")), Err(NumberError::Precision));
    }

    fn arb_number() -> impl Strategy<Value = Number> {
        (
            any::<bool>(),
            proptest::collection::vec(0u8..10, 0..12),
            -20i64..20,
        )
            .prop_map(|(neg, digits, exp)| Number::from_parts(neg, digits, exp).unwrap())
    }

    fn encoded(x: &Number) -> Vec<u8> {
        let mut v = Vec::new();
        x.encode_ordered(&mut v);
        v
    }

    proptest! {
        #[test]
        fn p10_encoding_preserves_order(a in arb_number(), b in arb_number()) {
            prop_assert_eq!(a.cmp(&b), encoded(&a).cmp(&encoded(&b)));
        }

        #[test]
        fn p10_display_round_trips(a in arb_number()) {
            prop_assert_eq!(Number::parse(&a.to_string()).unwrap(), a);
        }

        #[test]
        fn p20_add_matches_i128(x in -1_000_000_000i64..1_000_000_000, y in -1_000_000_000i64..1_000_000_000) {
            let sum = Number::from_i64(x).add(&Number::from_i64(y)).unwrap();
            prop_assert_eq!(sum.to_string(), (i128::from(x) + i128::from(y)).to_string());
        }

        #[test]
        fn p20_order_matches_f64_for_small_values(x in -1_000_000i64..1_000_000, y in -1_000_000i64..1_000_000) {
            let a = Number::parse(&format!("{}e-3", x)).unwrap();
            let b = Number::parse(&format!("{}e-3", y)).unwrap();
            prop_assert_eq!(a.cmp(&b), x.cmp(&y));
        }
    }
}

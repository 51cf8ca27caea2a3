//! Which digit each image asks for: one digit, the digits in turn, or any digit (the network's
//! unconditional branch). Written `0`-`9`, `0-9` and `any` everywhere: the CLI's `--label`, the
//! page's links, the wasm API and the manifests' tuned levels.

use crate::unet::UNCONDITIONAL;

/// Which digit each image asks for; written `any`, `0`-`9` or `0-9` (see [`std::str::FromStr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelChoice {
    /// No label: any digit (the model's unconditional branch, trained on the steps whose label
    /// was dropped).
    #[default]
    Any,
    /// The same digit for every image.
    Digit(usize),
    /// The digits 0-9 in turn: image `k` of the seed asks for digit `k mod 10`. Counted from the
    /// seed's first image, not the batch's, so a batch split into parts gets the same labels.
    InTurn,
}

impl LabelChoice {
    /// Every choice: any digit, each digit, the digits in turn.
    pub const ALL: [LabelChoice; 12] = [
        Self::Any,
        Self::Digit(0),
        Self::Digit(1),
        Self::Digit(2),
        Self::Digit(3),
        Self::Digit(4),
        Self::Digit(5),
        Self::Digit(6),
        Self::Digit(7),
        Self::Digit(8),
        Self::Digit(9),
        Self::InTurn,
    ];

    /// The labels of images `first_image .. first_image + count` ([`UNCONDITIONAL`] for any).
    pub fn labels(self, first_image: u64, count: usize) -> Vec<usize> {
        (first_image..first_image + count as u64)
            .map(|k| match self {
                Self::Any => UNCONDITIONAL,
                Self::Digit(d) => d,
                Self::InTurn => (k % 10) as usize,
            })
            .collect()
    }

    /// The one label of a choice that gives every image the same label; an error for
    /// [`LabelChoice::InTurn`] (an interpolation path keeps one label).
    pub fn single(self) -> Result<usize, String> {
        match self {
            Self::Any => Ok(UNCONDITIONAL),
            Self::Digit(d) => Ok(d),
            Self::InTurn => Err("an interpolation keeps one label: use a digit or \"any\", not \"0-9\"".into()),
        }
    }

    /// The error for a label that is none of the choices (`got` as the caller received it).
    pub fn invalid(got: impl std::fmt::Display) -> String {
        format!("label must be a digit 0-9, \"any\" or \"0-9\" (the digits in turn), got {got}")
    }
}

impl std::str::FromStr for LabelChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "any" => Ok(Self::Any),
            "0-9" => Ok(Self::InTurn),
            _ => match s.parse::<usize>() {
                Ok(d) if d <= 9 => Ok(Self::Digit(d)),
                _ => Err(Self::invalid(format!("{s:?}"))),
            },
        }
    }
}

impl std::fmt::Display for LabelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::Digit(d) => write!(f, "{d}"),
            Self::InTurn => f.write_str("0-9"),
        }
    }
}


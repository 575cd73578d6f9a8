//! One migration and its TOML file ([`Migration`]), and the checksums that tell whether an
//! applied file changed.

use super::*;

/// One migration: its id (the file name without `.toml`), message, steps and checksum.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// `20261124061500_initial`: sorts in the order migrations apply.
    pub id: String,
    /// What the migration is for.
    pub message: String,
    /// The steps that apply it.
    pub up: Vec<Operation>,
    /// The steps that revert it.
    pub down: Vec<Operation>,
    /// A checksum of the file's text (line endings normalised), recorded when applied: the
    /// first 128 bits of its SHA-256, in hex ([`checksum`]).
    pub checksum: String,
    /// The FNV-1a checksum earlier versions recorded ([`legacy_checksum`]): read, never
    /// written, so that migrations they applied are not reported as changed.
    pub legacy_checksum: String,
}

/// The contents of a migration file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrationFile {
    message: String,
    #[serde(default)]
    up: Vec<Operation>,
    #[serde(default)]
    down: Vec<Operation>,
}

impl Migration {
    /// Parses the text of migration `id`.
    pub fn parse(id: &str, text: &str) -> Result<Migration> {
        let file: MigrationFile = toml::from_str(text).map_err(|e| {
            Error::migration(MigrationKind::File, format!("migration {id} is not a valid migration file: {}", e.to_string().trim_end()))
        })?;
        Ok(Migration {
            id: id.to_string(),
            message: file.message,
            up: file.up,
            down: file.down,
            checksum: checksum(text),
            legacy_checksum: legacy_checksum(text),
        })
    }

    /// Whether a checksum recorded when this migration was applied is this file's: the
    /// SHA-256 one, or, recorded by an earlier version, the FNV one.
    pub fn checksum_matches(&self, recorded: &str) -> bool {
        recorded == self.checksum || (recorded.len() == 16 && recorded == self.legacy_checksum)
    }

    /// The migration file's text: a header comment, then the steps as TOML.
    pub fn to_text(&self) -> Result<String> {
        let file = MigrationFile { message: self.message.clone(), up: self.up.clone(), down: self.down.clone() };
        let body = toml::to_string(&file)
            .map_err(|e| Error::migration(MigrationKind::File, format!("cannot write migration {}: {e}", self.id)))?;
        Ok(format!(
            "# duo-orm migration {id}\n\
             # Steps are portable: each dialect renders them when the migration is applied\n\
             # (`duo-orm migrate sql` shows the SQL). Review and edit before applying; once applied,\n\
             # the file must not change (its checksum is recorded).\n\n{body}",
            id = self.id
        ))
    }
}

/// The checksum of a migration file's `text` with `\r\n` read as `\n`: the first 128 bits of
/// its SHA-256, in hex (32 characters, the width of the version table's column).
pub fn checksum(text: &str) -> String {
    use sha2::Digest;
    let normalised = text.replace("\r\n", "\n");
    let digest = sha2::Sha256::digest(normalised.as_bytes());
    digest[..16].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// FNV-1a (64 bit) of `text` with `\r\n` read as `\n`, in hex: what versions before the
/// SHA-256 checksum recorded (16 characters), and the key of the migration lock.
pub fn legacy_checksum(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = text.as_bytes();
    for (i, &byte) in bytes.iter().enumerate() {
        if byte == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_ignore_line_endings_only() {
        assert_eq!(checksum("a\r\nb\n"), checksum("a\nb\n"));
        assert_ne!(checksum("a\nb\n"), checksum("a\nc\n"));
        assert_eq!(checksum("abc").len(), 32);
        // SHA-256("abc") begins ba7816bf8f01cfea414140de5dae2223.
        assert_eq!(checksum("abc"), "ba7816bf8f01cfea414140de5dae2223");
        assert_eq!(legacy_checksum("a\r\nb\n"), legacy_checksum("a\nb\n"));
        assert_eq!(legacy_checksum("abc").len(), 16);
    }
}

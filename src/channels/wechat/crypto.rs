//! WeChat's and WeCom's callback security, done with well-kept parts (sha1, aes + cbc,
//! base64, subtle): the SHA-1 signature over the sorted token, timestamp, nonce (and, in
//! safe mode, the ciphertext), and the AES-256-CBC envelope of safe mode
//! (`encrypt_type=aes`): 16 random bytes, the message's length (4 bytes, big-endian), the
//! XML, and the app id, padded PKCS#7-style to 32-byte blocks.

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Why a callback was refused. Never carries the message body (it may hold an investor's
/// words), so it can be logged as it is. The messages name no channel: WeChat's and
/// WeCom's callbacks both use them, and each prefixes its own name when it logs one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("bad signature")]
    BadSignature,
    #[error("the EncodingAESKey must be 43 base64 characters")]
    BadKey,
    #[error("ciphertext is not base64 of whole 16-byte blocks")]
    BadCiphertext,
    #[error("decrypted message is malformed")]
    Malformed,
    #[error("message is for another app id (WeChat AppID or WeCom CorpID)")]
    WrongAppId,
}

/// SHA-1 (hex) of the parts sorted and concatenated: the callback's `signature` over token,
/// timestamp and nonce, and its `msg_signature` with the ciphertext as a fourth part.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex::encode(Sha1::digest(sorted.concat().as_bytes()))
}

/// Whether `given` is the signature of `parts`, compared in constant time.
pub fn verify(parts: &[&str], given: &str) -> Result<(), CryptoError> {
    let expected = signature(parts);
    let given = given.trim().to_ascii_lowercase();
    if expected.as_bytes().ct_eq(given.as_bytes()).into() {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// Safe mode's blocks: PKCS#7 padding to 32 bytes, not AES's 16, so a pad byte may be up
/// to 32 (the stock 16-byte unpadder refuses those).
const PAD_BLOCK: usize = 32;

/// One EncodingAESKey, decoded: the AES-256 key, whose first 16 bytes are also the IV.
#[derive(Clone)]
pub struct AesKey([u8; 32]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

impl AesKey {
    /// The 43-character EncodingAESKey plus "=", base64-decoded. Its last character carries
    /// bits beyond the 32 bytes, which a strict decoder (base64 0.22's default) refuses.
    pub fn from_encoding_key(encoding_key: &str) -> Result<AesKey, CryptoError> {
        let encoding_key = encoding_key.trim();
        if encoding_key.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        let lenient = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let bytes = lenient
            .decode(format!("{encoding_key}="))
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(AesKey(key))
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }

    /// The XML inside a safe-mode `Encrypt` field, checked to be addressed to `app_id`
    /// (WeChat: the appid; WeCom: the corpid).
    pub fn decrypt(&self, ciphertext_b64: &str, app_id: &str) -> Result<String, CryptoError> {
        let mut buf = base64::engine::general_purpose::STANDARD
            .decode(ciphertext_b64.trim())
            .map_err(|_| CryptoError::BadCiphertext)?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CryptoError::BadCiphertext);
        }
        let plain = cbc::Decryptor::<Aes256>::new(&self.0.into(), &self.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::BadCiphertext)?;
        let pad = *plain.last().ok_or(CryptoError::Malformed)? as usize;
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::Malformed);
        }
        let plain = &plain[..plain.len() - pad];
        if plain.len() < 20 {
            return Err(CryptoError::Malformed);
        }
        let len = u32::from_be_bytes([plain[16], plain[17], plain[18], plain[19]]) as usize;
        let rest = &plain[20..];
        if len > rest.len() {
            return Err(CryptoError::Malformed);
        }
        let (xml, to) = rest.split_at(len);
        if to.ct_eq(app_id.as_bytes()).unwrap_u8() != 1 {
            return Err(CryptoError::WrongAppId);
        }
        String::from_utf8(xml.to_vec()).map_err(|_| CryptoError::Malformed)
    }

    /// Safe mode's `Encrypt` field for `xml` sent as `app_id`, with a fresh random prefix.
    pub fn encrypt(&self, xml: &str, app_id: &str) -> String {
        let mut random = [0u8; 16];
        // An unpredictable prefix is what keeps equal replies from looking equal; should the
        // OS source fail, a time-derived one still differs between replies.
        if getrandom::fill(&mut random).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            random.copy_from_slice(&nanos.to_le_bytes());
        }
        self.encrypt_with(random, xml, app_id)
    }

    fn encrypt_with(&self, random: [u8; 16], xml: &str, app_id: &str) -> String {
        let mut buf = Vec::with_capacity(20 + xml.len() + app_id.len() + PAD_BLOCK);
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&(xml.len() as u32).to_be_bytes());
        buf.extend_from_slice(xml.as_bytes());
        buf.extend_from_slice(app_id.as_bytes());
        let pad = PAD_BLOCK - buf.len() % PAD_BLOCK;
        buf.extend(std::iter::repeat_n(pad as u8, pad));
        let len = buf.len();
        let sealed = cbc::Encryptor::<Aes256>::new(&self.0.into(), &self.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, len)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(sealed)
    }
}

/// The keys a safe-mode callback may be sealed with: the current EncodingAESKey and, while
/// an office rotates it, the previous one.
#[derive(Debug, Clone)]
pub struct Keys {
    pub current: AesKey,
    pub previous: Option<AesKey>,
}

impl Keys {
    /// Decrypts with the current key, then the previous one.
    pub fn decrypt(&self, ciphertext_b64: &str, app_id: &str) -> Result<String, CryptoError> {
        match self.current.decrypt(ciphertext_b64, app_id) {
            Ok(xml) => Ok(xml),
            Err(first) => match &self.previous {
                Some(previous) => previous.decrypt(ciphertext_b64, app_id).map_err(|_| first),
                None => Err(first),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tencent's published sample for the message-encryption guide (reproduced in its
    // sample code in every language and in the ports of it).
    const TOKEN: &str = "spamtest";
    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APP_ID: &str = "wx2c2769f8efd9abc2";
    const TIMESTAMP: &str = "1409735669";
    const NONCE: &str = "1320562132";
    const MSG_SIGNATURE: &str = "5d197aaffba7e9b25a30732f161a50dee96bd5fa";
    const ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    #[test]
    fn tencents_sample_verifies_and_decrypts() {
        verify(&[TOKEN, TIMESTAMP, NONCE, ENCRYPT], MSG_SIGNATURE).unwrap();
        let key = AesKey::from_encoding_key(KEY).unwrap();
        let xml = key.decrypt(ENCRYPT, APP_ID).unwrap();
        // The sample's plain fields, sealed: a text message "abcdteT" to gh_10f6c3c3ac5a.
        assert!(
            xml.starts_with("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]>"),
            "{xml}"
        );
        assert!(xml.contains("<MsgType><![CDATA[text]]></MsgType>"), "{xml}");
        assert!(
            xml.contains("<Content><![CDATA[abcdteT]]></Content>"),
            "{xml}"
        );
        assert!(xml.contains("<MsgId>6054768590064713728</MsgId>"), "{xml}");
    }

    #[test]
    fn a_wrong_signature_app_id_or_key_is_refused() {
        assert_eq!(
            verify(
                &[TOKEN, TIMESTAMP, NONCE, ENCRYPT],
                &MSG_SIGNATURE.replace('5', "6")
            ),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            verify(&["other", TIMESTAMP, NONCE, ENCRYPT], MSG_SIGNATURE),
            Err(CryptoError::BadSignature)
        );
        let key = AesKey::from_encoding_key(KEY).unwrap();
        assert_eq!(
            key.decrypt(ENCRYPT, "wx0000000000000000"),
            Err(CryptoError::WrongAppId)
        );
        let other = AesKey::from_encoding_key(&KEY.replace('a', "b")).unwrap();
        assert!(other.decrypt(ENCRYPT, APP_ID).is_err());
        assert_eq!(
            AesKey::from_encoding_key("short").unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            key.decrypt("not base64!", APP_ID),
            Err(CryptoError::BadCiphertext)
        );
        assert_eq!(key.decrypt("AAAA", APP_ID), Err(CryptoError::BadCiphertext));
    }

    #[test]
    fn sealing_round_trips_with_pads_up_to_32_bytes() {
        let key = AesKey::from_encoding_key(KEY).unwrap();
        // Lengths that leave every pad size from 1 to 32 once.
        for extra in 0..32 {
            let xml = format!(
                "<xml><Content><![CDATA[{}]]></Content></xml>",
                "字".repeat(extra)
            );
            let sealed = key.encrypt_with([7; 16], &xml, APP_ID);
            assert_eq!(key.decrypt(&sealed, APP_ID).unwrap(), xml);
        }
        // A fresh random prefix each time: equal replies do not look equal.
        assert_ne!(key.encrypt("<xml/>", APP_ID), key.encrypt("<xml/>", APP_ID));
    }

    #[test]
    fn the_previous_key_still_opens_messages_while_an_office_rotates() {
        let old = AesKey::from_encoding_key(KEY).unwrap();
        let new = AesKey::from_encoding_key(&KEY.replace('z', "y")).unwrap();
        let keys = Keys {
            current: new.clone(),
            previous: Some(old),
        };
        assert!(keys.decrypt(ENCRYPT, APP_ID).is_ok());
        let sealed_new = new.encrypt("<xml>new</xml>", APP_ID);
        assert_eq!(keys.decrypt(&sealed_new, APP_ID).unwrap(), "<xml>new</xml>");
        let without = Keys {
            current: new,
            previous: None,
        };
        assert!(without.decrypt(ENCRYPT, APP_ID).is_err());
        assert_eq!(format!("{:?}", keys.current), "AesKey(<redacted>)");
    }

    #[test]
    fn the_get_handshake_signature_is_over_three_parts() {
        let s = signature(&[TOKEN, TIMESTAMP, NONCE]);
        verify(&[NONCE, TOKEN, TIMESTAMP], &s.to_uppercase()).unwrap();
        assert_eq!(s.len(), 40);
    }
}

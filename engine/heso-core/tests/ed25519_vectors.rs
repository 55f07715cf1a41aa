//! Ed25519 signing and strict verification pinned to public vector suites (receipts spec §12 and
//! §16 item 4) and to the receipts spec's own golden keys and signature (§14.1, §14.2).
//!
//! Every suite tests raw Ed25519, so the domain passed to `sign` and `verify_strict` is empty.

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a panic is a failed test; clippy.toml allow-*-in-tests covers #[test] fns, not helpers"
)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use heso_core::crypto::{blake3_hex, verify_strict};
use heso_core::identity::{Identity, SecretSeed};
use serde_json::Value;

/// Raw Ed25519: no domain prefix.
const NO_DOMAIN: &[u8] = b"";

#[allow(
    clippy::disallowed_methods,
    reason = "the purity fence is for library code; a test reads its vector files"
)]
fn read_vector(dir: &Path, relative: &str) -> Vec<u8> {
    let path = dir.join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read `{}`: {error}", path.display()))
}

fn load_json(dir: &Path, relative: &str) -> Value {
    serde_json::from_slice(&read_vector(dir, relative))
        .unwrap_or_else(|error| panic!("`{relative}` is not JSON: {error}"))
}

fn hex_bytes(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex `{text}`");
    (0..text.len())
        .step_by(2)
        .map(|at| {
            u8::from_str_radix(&text[at..at + 2], 16)
                .unwrap_or_else(|_| panic!("not hex: `{text}`"))
        })
        .collect()
}

fn hex_array<const N: usize>(text: &str) -> [u8; N] {
    hex_bytes(text)
        .try_into()
        .unwrap_or_else(|bytes: Vec<u8>| panic!("`{text}` is {} bytes, not {N}", bytes.len()))
}

fn json_str<'a>(value: &'a Value, member: &str) -> &'a str {
    value[member]
        .as_str()
        .unwrap_or_else(|| panic!("`{member}` is not a string in {value}"))
}

fn verdict(accepted: bool) -> &'static str {
    if accepted {
        "accepted"
    } else {
        "rejected"
    }
}

fn assert_no_failures(suite: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{suite}: {} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Wycheproof

#[test]
fn wycheproof_ed25519_verification() {
    let Some(dir) = common::vectors_dir() else {
        common::skip("Wycheproof Ed25519");
        return;
    };
    let suite = load_json(&dir, "wycheproof/ed25519_test.json");
    assert_eq!(suite["numberOfTests"], 151, "Wycheproof numberOfTests");

    let mut total = 0;
    let mut valid_accepted = 0;
    let mut invalid_rejected = 0;
    let mut wrong_length = 0;
    let mut failures = Vec::new();
    for group in suite["testGroups"]
        .as_array()
        .expect("`testGroups` is an array")
    {
        let public_key: [u8; 32] = hex_array(json_str(&group["publicKey"], "pk"));
        for test in group["tests"].as_array().expect("`tests` is an array") {
            total += 1;
            let id = &test["tcId"];
            let expected = json_str(test, "result");
            let message = hex_bytes(json_str(test, "msg"));
            let signature = hex_bytes(json_str(test, "sig"));
            // A signature that is not 64 bytes cannot even be handed to the verifier: it is
            // rejected by the type before any curve arithmetic.
            let accepted = if let Ok(signature) = <[u8; 64]>::try_from(signature.as_slice()) {
                verify_strict(&public_key, NO_DOMAIN, &message, &signature)
            } else {
                wrong_length += 1;
                false
            };
            match (expected, accepted) {
                ("valid", true) => valid_accepted += 1,
                ("invalid", false) => invalid_rejected += 1,
                _ => failures.push(format!(
                    "tcId {id} (flags {}, comment `{}`): expected `{expected}`, verify_strict {}",
                    test["flags"],
                    json_str(test, "comment"),
                    verdict(accepted)
                )),
            }
        }
    }
    assert_no_failures("Wycheproof ed25519_test.json", &failures);
    assert_eq!(
        (total, valid_accepted, invalid_rejected),
        (151, 88, 63),
        "Wycheproof (total, valid accepted, invalid rejected)"
    );
    assert_eq!(wrong_length, 12, "Wycheproof signatures not 64 bytes long");
}

// ---------------------------------------------------------------------------------------------
// ed25519-speccheck

/// Expected verdict of each speccheck case (index = position in `cases.json`), with the
/// repository README's description. A `verify_strict` verifier accepts only case 3.
const SPECCHECK_EXPECTED: [(bool, &str); 12] = [
    (false, "S = 0, small-order A and small-order R"),
    (false, "small-order A, mixed-order R"),
    (false, "small-order R, mixed-order A"),
    (
        true,
        "mixed-order A and R; passes unless full order is checked",
    ),
    (
        false,
        "mixed-order A and R; passes cofactored, fails cofactorless",
    ),
    (
        false,
        "mixed-order A, R of order L; fails cofactored iff 8h is prereduced",
    ),
    (false, "S > L"),
    (false, "S >> L (high bit set)"),
    (false, "non-canonical R, reduced for the hash"),
    (false, "non-canonical R, not reduced for the hash"),
    (false, "non-canonical A, reduced for the hash"),
    (false, "non-canonical A, not reduced for the hash"),
];

#[test]
fn speccheck_accepts_only_case_3() {
    let Some(dir) = common::vectors_dir() else {
        common::skip("ed25519-speccheck");
        return;
    };
    let cases = load_json(&dir, "ed25519-speccheck/cases.json");
    let cases = cases.as_array().expect("cases.json is an array");
    assert_eq!(
        cases.len(),
        SPECCHECK_EXPECTED.len(),
        "speccheck case count"
    );

    let mut failures = Vec::new();
    for (index, (case, (expected, description))) in cases.iter().zip(SPECCHECK_EXPECTED).enumerate()
    {
        let public_key: [u8; 32] = hex_array(json_str(case, "pub_key"));
        let signature: [u8; 64] = hex_array(json_str(case, "signature"));
        let message = hex_bytes(json_str(case, "message"));
        let accepted = verify_strict(&public_key, NO_DOMAIN, &message, &signature);
        if accepted != expected {
            failures.push(format!(
                "case {index} ({description}): expected {}, verify_strict {}",
                verdict(expected),
                verdict(accepted)
            ));
        }
    }
    assert_no_failures("ed25519-speccheck cases.json", &failures);
}

// ---------------------------------------------------------------------------------------------
// RFC 8032 §7.1, through OpenSSL's evp_test file

/// RFC 8032 §7.1 Ed25519 tests: name, SECRET KEY (the seed) and message length, as printed in the
/// RFC. Each must be among the signing cases found in the OpenSSL file.
const RFC8032_SECTION_7_1: [(&str, &str, usize); 5] = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        0,
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        1,
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        2,
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        1023,
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        64,
    ),
];

/// DER prefix of a PKCS#8 Ed25519 private key (OID 1.3.101.112); the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// DER prefix of an SPKI Ed25519 public key (OID 1.3.101.112); the 32-byte key follows.
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Signature bits flipped to tamper with a good signature, as (byte, bit): the low and sign bits
/// of R, the low bit of S and the top bit of S (which pushes S above L).
const SIGNATURE_BIT_FLIPS: [(usize, u8); 4] = [(0, 0), (31, 7), (32, 0), (63, 7)];

/// One blank-line-separated stanza of an OpenSSL `evp_test` file: its `Keyword = value` lines
/// and the decoded body of a PEM block, if it has one.
#[derive(Debug, Default)]
struct Stanza {
    line: usize,
    entries: Vec<(String, String)>,
    pem: Vec<u8>,
}

impl Stanza {
    fn first(&self) -> (&str, &str) {
        let (keyword, value) = self.entries.first().expect("a stanza has an entry");
        (keyword, value)
    }

    fn get(&self, keyword: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(name, _)| name == keyword)
            .map(|(_, value)| value.as_str())
    }

    fn require(&self, keyword: &str) -> &str {
        self.get(keyword)
            .unwrap_or_else(|| panic!("stanza at line {} has no `{keyword}`", self.line))
    }
}

/// Splits an `evp_test` file into stanzas. `#` lines are comments; PEM blocks belong to the
/// stanza whose `PrivateKey=`/`PublicKey=` line precedes them.
fn parse_evp_test(text: &str) -> Vec<Stanza> {
    let mut stanzas = Vec::new();
    let mut current = Stanza::default();
    let mut pem_base64: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(body) = pem_base64.as_mut() {
            if line.starts_with("-----END") {
                current.pem = STANDARD.decode(body.as_str()).expect("PEM body is base64");
                pem_base64 = None;
            } else {
                body.push_str(line);
            }
        } else if line.starts_with("-----BEGIN") {
            pem_base64 = Some(String::new());
        } else if line.starts_with('#') {
            // A comment line neither ends a stanza nor belongs to one.
        } else if line.is_empty() {
            if !current.entries.is_empty() {
                stanzas.push(std::mem::take(&mut current));
            }
        } else {
            let (keyword, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("line {} is not `Keyword = value`", index + 1));
            if current.entries.is_empty() {
                current.line = index + 1;
            }
            current
                .entries
                .push((keyword.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !current.entries.is_empty() {
        stanzas.push(current);
    }
    stanzas
}

/// An `Input =` value: a quoted literal string, or hex.
fn evp_input(value: &str) -> Vec<u8> {
    match value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(literal) => literal.as_bytes().to_vec(),
        None => hex_bytes(value),
    }
}

/// The Ed25519 keys an `evp_test` file defines, by name. Keys of other algorithms are left out.
#[derive(Debug, Default)]
struct Ed25519Keys {
    seeds: HashMap<String, [u8; 32]>,
    public_keys: HashMap<String, [u8; 32]>,
}

fn ed25519_keys(stanzas: &[Stanza]) -> Ed25519Keys {
    fn der_key(der: &[u8], prefix: &[u8]) -> Option<[u8; 32]> {
        der.strip_prefix(prefix)?.try_into().ok()
    }
    fn raw_key(value: &str) -> Option<(String, [u8; 32])> {
        match value.split(':').collect::<Vec<_>>().as_slice() {
            [name, "ED25519", hex] => Some(((*name).to_owned(), hex_array(hex))),
            _ => None,
        }
    }

    let mut keys = Ed25519Keys::default();
    for stanza in stanzas {
        let (keyword, value) = stanza.first();
        let name = value.to_owned();
        let (seed, public_key) = match keyword {
            "PrivateKey" => (
                der_key(&stanza.pem, &PKCS8_ED25519_PREFIX).map(|k| (name, k)),
                None,
            ),
            "PublicKey" => (
                None,
                der_key(&stanza.pem, &SPKI_ED25519_PREFIX).map(|k| (name, k)),
            ),
            "PrivateKeyRaw" => (raw_key(value), None),
            "PublicKeyRaw" => (None, raw_key(value)),
            _ => (None, None),
        };
        keys.seeds.extend(seed);
        keys.public_keys.extend(public_key);
    }
    keys
}

fn identity_of(seed: [u8; 32]) -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes(seed))
}

/// Names an `evp_test` case in a failure message.
fn evp_case(stanza: &Stanza) -> String {
    let (keyword, _) = stanza.first();
    let key = stanza.get("Key").unwrap_or("-");
    format!(
        "evppkey_ecx.txt line {} ({keyword}, Key = {key})",
        stanza.line
    )
}

/// Checks the Ed25519 `PrivPubKeyPair` stanzas: the public key derived from the seed equals the
/// named public key exactly when no mismatch is expected. Returns the public key of each private
/// key name, for the signing cases to verify under, and the (matching, mismatching) counts.
fn check_key_pairs<'a>(
    stanzas: &'a [Stanza],
    keys: &Ed25519Keys,
    failures: &mut Vec<String>,
) -> (HashMap<&'a str, [u8; 32]>, (usize, usize)) {
    let mut public_key_of = HashMap::new();
    let (mut matched, mut mismatched) = (0, 0);
    for stanza in stanzas {
        let ("PrivPubKeyPair", names) = stanza.first() else {
            continue;
        };
        let (private_name, public_name) = names.split_once(':').expect("`private:public`");
        let (Some(&seed), Some(&public_key)) = (
            keys.seeds.get(private_name),
            keys.public_keys.get(public_name),
        ) else {
            continue;
        };
        let expect_match = match stanza.get("Result") {
            None => true,
            Some("KEYPAIR_MISMATCH") => false,
            Some(other) => panic!("{}: unexpected Result `{other}`", evp_case(stanza)),
        };
        let derived = *identity_of(seed).public_key().as_bytes();
        if (derived == public_key) != expect_match {
            failures.push(format!(
                "{}: derived public key {}",
                evp_case(stanza),
                heso_core::hex::encode(&derived)
            ));
        } else if expect_match {
            matched += 1;
            public_key_of.insert(private_name, public_key);
        } else {
            mismatched += 1;
        }
    }
    (public_key_of, (matched, mismatched))
}

/// Checks one `OneShotDigestSign` case: our signer reproduces `Output` byte for byte, our
/// verifier accepts it, and rejects it once the message or the signature is tampered with.
fn check_sign_case(
    stanza: &Stanza,
    seed: [u8; 32],
    public_key: &[u8; 32],
    failures: &mut Vec<String>,
) {
    assert_eq!(stanza.get("Result"), None, "{}", evp_case(stanza));
    let message = evp_input(stanza.require("Input"));
    let expected: [u8; 64] = hex_array(stanza.require("Output"));
    let mut fail = |problem: String| failures.push(format!("{}: {problem}", evp_case(stanza)));

    let signature = identity_of(seed).sign(NO_DOMAIN, &message);
    if signature != expected {
        fail(format!("signed {}", heso_core::hex::encode(&signature)));
    }
    if !verify_strict(public_key, NO_DOMAIN, &message, &expected) {
        fail("verify_strict rejected the expected signature".into());
    }
    // Tamper with the message: flip its first bit, or give an empty message a byte.
    let mut tampered = message.clone();
    match tampered.first_mut() {
        Some(byte) => *byte ^= 1,
        None => tampered.push(0),
    }
    if verify_strict(public_key, NO_DOMAIN, &tampered, &expected) {
        fail("verify_strict accepted a tampered message".into());
    }
    for (byte, bit) in SIGNATURE_BIT_FLIPS {
        let mut tampered = expected;
        tampered[byte] ^= 1 << bit;
        if verify_strict(public_key, NO_DOMAIN, &message, &tampered) {
            fail(format!(
                "verify_strict accepted signature byte {byte} bit {bit} flipped"
            ));
        }
    }
}

/// Checks one `OneShotDigestVerify` case: accepted exactly when no `VERIFY_ERROR` is expected.
/// Returns whether it was accepted.
fn check_verify_case(stanza: &Stanza, public_key: &[u8; 32], failures: &mut Vec<String>) -> bool {
    let expect_accept = match stanza.get("Result") {
        None => true,
        Some("VERIFY_ERROR") => false,
        Some(other) => panic!("{}: unexpected Result `{other}`", evp_case(stanza)),
    };
    let message = evp_input(stanza.require("Input"));
    let signature: [u8; 64] = hex_array(stanza.require("Output"));
    let accepted = verify_strict(public_key, NO_DOMAIN, &message, &signature);
    if accepted != expect_accept {
        failures.push(format!(
            "{}: verify_strict {}",
            evp_case(stanza),
            verdict(accepted)
        ));
    }
    accepted
}

#[test]
fn rfc8032_signatures_reproduced_and_verified() {
    let Some(dir) = common::vectors_dir() else {
        common::skip("RFC 8032 (OpenSSL evppkey_ecx.txt)");
        return;
    };
    let text = String::from_utf8(read_vector(&dir, "rfc8032/evppkey_ecx.txt"))
        .expect("evppkey_ecx.txt is UTF-8");
    let stanzas = parse_evp_test(&text);
    let keys = ed25519_keys(&stanzas);
    assert_eq!(
        (keys.seeds.len(), keys.public_keys.len()),
        (6, 6),
        "Ed25519 (private, public) keys in evppkey_ecx.txt: five PEM pairs and TEST 1 raw"
    );

    let mut failures = Vec::new();
    let (public_key_of, pair_counts) = check_key_pairs(&stanzas, &keys, &mut failures);
    let mut signed = Vec::new();
    let mut verified = Vec::new();
    for stanza in &stanzas {
        match stanza.first() {
            ("OneShotDigestSign", _) => {
                let key_name = stanza.require("Key");
                let Some(&seed) = keys.seeds.get(key_name) else {
                    continue; // not an Ed25519 key
                };
                let Some(public_key) = public_key_of.get(key_name) else {
                    failures.push(format!(
                        "{}: no PrivPubKeyPair names its key",
                        evp_case(stanza)
                    ));
                    continue;
                };
                check_sign_case(stanza, seed, public_key, &mut failures);
                signed.push((seed, evp_input(stanza.require("Input")).len()));
            }
            ("OneShotDigestVerify", _) => {
                if let Some(public_key) = keys.public_keys.get(stanza.require("Key")) {
                    verified.push(check_verify_case(stanza, public_key, &mut failures));
                }
            }
            _ => {}
        }
    }
    for (name, seed_hex, message_len) in RFC8032_SECTION_7_1 {
        if !signed.contains(&(hex_array(seed_hex), message_len)) {
            failures.push(format!(
                "RFC 8032 §7.1 {name} is not among the signing cases"
            ));
        }
    }
    assert_no_failures("RFC 8032 (evppkey_ecx.txt)", &failures);

    assert_eq!(
        pair_counts,
        (6, 1),
        "Ed25519 PrivPubKeyPair stanzas (matching, mismatching)"
    );
    // Five RFC 8032 §7.1 tests, plus TEST 1 signed again with the raw-hex key.
    assert_eq!(signed.len(), 6, "Ed25519 OneShotDigestSign stanzas");
    // TEST 1 accepted under the PEM and the raw key; rejected: corrupted input, corrupted
    // signature, and S + L (malleability).
    assert_eq!(
        verified,
        [true, false, false, true, false],
        "Ed25519 OneShotDigestVerify verdicts in file order"
    );
}

// ---------------------------------------------------------------------------------------------
// The receipts spec's own golden values

/// Receipts spec §4: the ACTION domain, `heso-action/v1` and a NUL byte.
const ACTION_DOMAIN: &[u8] = b"heso-action/v1\0";

/// Receipts spec §3: the canonical bytes C of the v2 golden content, copied verbatim.
const GOLDEN_CANONICAL: &str = r#"{"action":{"account":"acct_acme","fields":{"model":"gpt-4o","prompt":"summarize the filing"},"result_hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","target_host":"api.openai.com","tool_name":"openai.chat.completions","verb":"llm_call","workflow":"research-run-7"},"action_version":"heso-action/2.0","agent_identity":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=","captured_at":"2026-05-29T12:00:00Z","policy":{"decision_path":"allow","matched_conditions":[{"field":"verb","op":"eq","value":"llm_call"}],"rule_display":"allow llm_call to api.openai.com","rule_id":"allow-llm"},"trust_level":"L0"}"#;

/// Receipts spec §14.2: `action_hash` of the golden content.
const GOLDEN_ACTION_HASH: &str = "988baa2e41ab2046d86cd90eb2115afc795ef15855332bd683e3d4d7e248dc8d";

/// Receipts spec §14.2: the operator signature with the all-zero seed.
const GOLDEN_SIGNATURE: &str =
    "ujGbJO2VR2PpaguiG3NegMWAyQLWJlgAVxuKnwaeV8KsMbtT4K/f8lGhLrNI3NSxbIXQnwZGCS1b4BtXnRMQAQ==";

#[test]
fn receipts_spec_golden_keys() {
    let golden = [
        (0x00, "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="),
        (0x05, "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E="),
        (0x07, "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw="),
    ];
    for (seed_byte, public_base64) in golden {
        let expected = STANDARD
            .decode(public_base64)
            .expect("golden key is base64");
        let public_key = identity_of([seed_byte; 32]).public_key();
        assert_eq!(
            public_key.as_bytes().as_slice(),
            expected.as_slice(),
            "receipts spec §14.1: public key of seed 0x{seed_byte:02x}"
        );
    }
}

#[test]
fn receipts_spec_golden_signature() {
    let canonical = GOLDEN_CANONICAL.as_bytes();
    // Both checks guard the verbatim copy of the canonical line before anything is signed.
    assert_eq!(canonical.len(), 621, "receipts spec §3: C is 621 bytes");
    assert_eq!(
        blake3_hex(canonical),
        GOLDEN_ACTION_HASH,
        "receipts spec §14.2 action_hash"
    );

    let expected: [u8; 64] = STANDARD
        .decode(GOLDEN_SIGNATURE)
        .expect("golden signature is base64")
        .try_into()
        .expect("golden signature is 64 bytes");
    let operator = identity_of([0; 32]);
    assert_eq!(
        operator.sign(ACTION_DOMAIN, canonical),
        expected,
        "receipts spec §14.2: zero-seed signature over ACTION ‖ C"
    );

    let public_key = operator.public_key();
    assert!(verify_strict(
        public_key.as_bytes(),
        ACTION_DOMAIN,
        canonical,
        &expected
    ));
    // The same signature must not verify for another use of the same bytes (§4).
    assert!(!verify_strict(
        public_key.as_bytes(),
        b"heso-approval/v1\0",
        canonical,
        &expected
    ));
}

//! Target hosts and the `scope` of a rule (policy.md §6.4).
//!
//! A scope restricts a rule by the action's target host: `*` matches every action; anything else
//! is one or more host patterns (an exact host, the subdomains of a domain, or an IP address), and
//! the rule applies when any of them matches. Hosts and patterns go through the same
//! normalization, [`normalize_host`], so `API.Example.COM.` and `api.example.com` are one host and
//! `bücher.example` is `xn--bcher-kva.example` wherever it is written.
//!
//! Beyond the specification's wording, hosts are read the way the WHATWG URL Standard reads the
//! host of a URL, so that a host cannot slip past a scoped `block` rule by being spelled
//! differently from the pattern while reaching the same machine:
//!
//! * Names go through UTS #46 (non-transitional, no checks on hyphen positions, so real names such
//!   as `r3---sn-abc.googlevideo.com` are hosts). After that a name holds only ASCII letters,
//!   digits, `-` and `_` (which real hosts and DNS service names use), with labels of 1 to 63
//!   bytes and at most 253 bytes in all.
//! * A name whose last label is a number is an IPv4 address, in any form `inet_aton` accepts:
//!   `127.1`, `0x7f.0.0.1` and `2130706433` are all `127.0.0.1`, and a name such as `example.123`
//!   is no host at all. Patterns are stricter: an IPv4 pattern is four decimal numbers, since
//!   `010.0.0.1` (octal, so `8.0.0.1`) in a policy is almost certainly a typo.
//! * IP addresses compare as addresses, and an IPv4-mapped IPv6 address (`::ffff:10.0.0.7`) is the
//!   IPv4 address it maps, because connecting to one reaches the other.
//! * A bracketed IPv6 host (`[::1]`, as it appears in a URL) is accepted and the brackets
//!   removed. In a pattern the brackets are a load error: the specification writes IPv6 without
//!   them.
//! * A host with a port (`example.com:443`) is not a host; the caller passes the host alone.
//!
//! A host that [`normalize_host`] rejects matches no host pattern, only `*`. Callers therefore
//! refuse such a host before evaluating (sdk.md §4.2) instead of treating it as "no host": a host
//! that no pattern can match would otherwise escape every scoped `block` rule.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::borrow::Cow;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// The longest label of a DNS name, in bytes (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// The longest DNS name without its root dot, in bytes (RFC 1035).
const MAX_NAME_LEN: usize = 253;

/// ASCII that UTS #46 processing refuses in a host: everything except letters, digits, `-`, `.`
/// (which the deny list cannot name) and `_`; `true` adds space, control characters and DEL.
/// Evaluated at compile time, so the constructor's checks cannot fail at run time.
const HOST_DENY_LIST: AsciiDenyList = AsciiDenyList::new(true, "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~");

/// A normalized host: ASCII lowercase, one trailing dot removed, internationalized names as
/// A-labels (`xn--`), no port. IP addresses are written in their standard form (IPv6 as RFC 5952
/// text, without brackets).
///
/// Returns `None` when `host` is not a valid host: empty, with a port, a scheme or a path, with an
/// empty label, with characters no host has, too long, or a name ending in a number that is not
/// an IPv4 address. A bracketed IPv6 address (`[::1]`) is accepted and written without brackets.
///
/// ```
/// use heso_core::policy::scope::normalize_host;
///
/// assert_eq!(normalize_host("API.Example.COM.").as_deref(), Some("api.example.com"));
/// assert_eq!(normalize_host("bücher.example").as_deref(), Some("xn--bcher-kva.example"));
/// assert_eq!(normalize_host("[0:0:0:0:0:0:0:1]").as_deref(), Some("::1"));
/// assert_eq!(normalize_host("example.com:443"), None);
/// ```
pub fn normalize_host(host: &str) -> Option<String> {
    match recorded_host(host)? {
        Host::Name(name) => Some(name.into_owned()),
        Host::Address(address) => Some(address.to_string()),
    }
}

/// Which hosts a rule applies to (policy.md §6.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `*`: every action, with or without a host.
    Any,
    /// Actions whose host matches at least one of these patterns, kept in the order written.
    /// [`Scope::parse_one`] and [`Scope::parse_list`] never produce an empty list.
    Hosts(Vec<HostPattern>),
}

/// One host pattern of a scope, normalized as [`normalize_host`] normalizes hosts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// Exactly this host name (`api.example.com`).
    Exact(String),
    /// Any host that is this domain with at least one more label in front (`a.example.com`,
    /// `a.b.example.com`). Holds the domain after `*.`: `example.com` for `*.example.com`, a host
    /// the pattern does not match.
    Subdomain(String),
    /// Exactly this address.
    Ip(IpAddr),
}

/// Why a string is not a valid scope. Messages name the scope as written and, where one can be
/// worked out, the host to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// An empty string where a host pattern belongs.
    #[error("scope `` is empty; write a host such as `api.example.com`")]
    Empty,
    /// An empty array.
    #[error("scope list is empty; list at least one host, or write `*` to match every action")]
    EmptyList,
    /// `*` as an element of an array.
    #[error(
        "`*` cannot appear in a scope list; write `scope = \"*\"` alone to match every action"
    )]
    WildcardInList,
    /// A URL or host with a scheme, port, path, query, user info, brackets or surrounding
    /// whitespace.
    #[error(
        "scope `{}` is not a host pattern; {}",
        .pattern.escape_debug(),
        write_instead(.host.as_deref())
    )]
    NotAHostPattern {
        /// The pattern as written.
        pattern: String,
        /// The host pattern found inside it, when it is a valid one.
        host: Option<String>,
    },
    /// Whitespace inside a host.
    #[error("scope `{}` contains whitespace; write the host without it", .pattern.escape_debug())]
    Whitespace {
        /// The pattern as written.
        pattern: String,
    },
    /// `*` anywhere except a leading `*.`.
    #[error(
        "scope `{}` has `*` outside a leading `*.`; write `*.example.com` to match the \
         subdomains of `example.com`",
        .pattern.escape_debug()
    )]
    MisplacedWildcard {
        /// The pattern as written.
        pattern: String,
    },
    /// `*.` with nothing after it.
    #[error(
        "scope `{}` names no domain after `*.`; write a pattern such as `*.example.com`",
        .pattern.escape_debug()
    )]
    MissingDomain {
        /// The pattern as written.
        pattern: String,
    },
    /// Two dots in a row, or a leading dot.
    #[error(
        "scope `{}` has an empty label; separate labels with single dots",
        .pattern.escape_debug()
    )]
    EmptyLabel {
        /// The pattern as written.
        pattern: String,
    },
    /// A name ending in a number that is not an IPv4 address in four decimal numbers.
    #[error(
        "scope `{}` ends in a number, so it must be an IPv4 address written as four decimal \
         numbers, such as `10.0.0.7`",
        .pattern.escape_debug()
    )]
    NotDecimalIpv4 {
        /// The pattern as written.
        pattern: String,
    },
    /// `*.` before an IP address.
    #[error(
        "scope `{}` puts `*.` before an IP address, which has no subdomains; write `{address}`",
        .pattern.escape_debug()
    )]
    SubdomainOfAddress {
        /// The pattern as written.
        pattern: String,
        /// The address after `*.`, normalized.
        address: String,
    },
    /// Characters no host has, a label longer than 63 bytes, a name longer than 253 bytes, or an
    /// internationalized name that UTS #46 refuses.
    #[error("scope `{}` is not a valid host name or IP address", .pattern.escape_debug())]
    InvalidHost {
        /// The pattern as written.
        pattern: String,
    },
}

impl ScopeError {
    /// The pattern the error is about, as written, so a caller can point at that element of a
    /// scope array; `None` for [`ScopeError::EmptyList`].
    pub fn pattern(&self) -> Option<&str> {
        match self {
            Self::Empty => Some(""),
            Self::EmptyList => None,
            Self::WildcardInList => Some("*"),
            Self::NotAHostPattern { pattern, .. }
            | Self::Whitespace { pattern }
            | Self::MisplacedWildcard { pattern }
            | Self::MissingDomain { pattern }
            | Self::EmptyLabel { pattern }
            | Self::NotDecimalIpv4 { pattern }
            | Self::SubdomainOfAddress { pattern, .. }
            | Self::InvalidHost { pattern } => Some(pattern),
        }
    }
}

/// The fix part of [`ScopeError::NotAHostPattern`].
fn write_instead(host: Option<&str>) -> String {
    match host {
        Some(host) => format!("write `{}`", host.escape_debug()),
        None => "write only the host, such as `api.example.com`".to_owned(),
    }
}

impl Scope {
    /// Parses a scope written as a single string: `*`, or one host pattern.
    ///
    /// ```
    /// use heso_core::policy::scope::{HostPattern, Scope};
    ///
    /// assert_eq!(Scope::parse_one("*"), Ok(Scope::Any));
    /// assert_eq!(
    ///     Scope::parse_one("*.Example.com"),
    ///     Ok(Scope::Hosts(vec![HostPattern::Subdomain("example.com".to_owned())]))
    /// );
    /// ```
    pub fn parse_one(pattern: &str) -> Result<Scope, ScopeError> {
        if pattern == "*" {
            return Ok(Scope::Any);
        }
        parse_pattern(pattern).map(|pattern| Scope::Hosts(vec![pattern]))
    }

    /// Parses a scope written as an array of host patterns. The array must not be empty and must
    /// not contain `*`. The first invalid element decides the error.
    pub fn parse_list(patterns: &[&str]) -> Result<Scope, ScopeError> {
        if patterns.is_empty() {
            return Err(ScopeError::EmptyList);
        }
        patterns
            .iter()
            .map(|&pattern| {
                if pattern == "*" {
                    Err(ScopeError::WildcardInList)
                } else {
                    parse_pattern(pattern)
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Scope::Hosts)
    }

    /// Whether an action with this target host is in the scope. `host` is the host as recorded;
    /// it is normalized here. No host matches only [`Scope::Any`], and neither does a host that
    /// [`normalize_host`] rejects.
    ///
    /// ```
    /// use heso_core::policy::scope::Scope;
    ///
    /// let scope = Scope::parse_one("*.example.com").unwrap();
    /// assert!(scope.matches(Some("A.Example.COM.")));
    /// assert!(!scope.matches(Some("example.com")));
    /// assert!(!scope.matches(None));
    /// ```
    pub fn matches(&self, host: Option<&str>) -> bool {
        let patterns = match self {
            Scope::Any => return true,
            Scope::Hosts(patterns) => patterns,
        };
        let Some(host) = host.and_then(recorded_host) else {
            return false;
        };
        patterns.iter().any(|pattern| pattern.matches(&host))
    }

    /// The scope part of `rule_display` (policy.md §12): empty for [`Scope::Any`], otherwise
    /// `" on "` and the patterns in the order written, joined by `" or "`, each as `host <host>`
    /// or `a subdomain of <domain>`.
    ///
    /// ```
    /// use heso_core::policy::scope::Scope;
    ///
    /// let scope = Scope::parse_list(&["pastebin.com", "*.ngrok.io"]).unwrap();
    /// assert_eq!(scope.display(), " on host pastebin.com or a subdomain of ngrok.io");
    /// ```
    pub fn display(&self) -> String {
        let Scope::Hosts(patterns) = self else {
            return String::new();
        };
        let mut out = String::new();
        for (index, pattern) in patterns.iter().enumerate() {
            out.push_str(if index == 0 { " on " } else { " or " });
            match pattern {
                HostPattern::Exact(host) => {
                    out.push_str("host ");
                    out.push_str(host);
                }
                HostPattern::Subdomain(domain) => {
                    out.push_str("a subdomain of ");
                    out.push_str(domain);
                }
                HostPattern::Ip(address) => {
                    out.push_str("host ");
                    out.push_str(&address.to_string());
                }
            }
        }
        out
    }
}

impl HostPattern {
    /// Whether this pattern matches a normalized host.
    fn matches(&self, host: &Host<'_>) -> bool {
        match (self, host) {
            (HostPattern::Exact(pattern), Host::Name(name)) => pattern == name,
            (HostPattern::Subdomain(domain), Host::Name(name)) => name
                .strip_suffix(domain.as_str())
                .and_then(|labels| labels.strip_suffix('.'))
                .is_some_and(|labels| !labels.is_empty()),
            (HostPattern::Ip(pattern), Host::Address(address)) => {
                pattern.to_canonical() == address.to_canonical()
            }
            _ => false,
        }
    }
}

/// A host after normalization: a DNS name in A-label form, or an IP address.
#[derive(Debug, PartialEq, Eq)]
enum Host<'a> {
    Name(Cow<'a, str>),
    Address(IpAddr),
}

/// Why a text is not a host, in as much detail as pattern errors need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostProblem {
    EmptyLabel,
    NotDecimalIpv4,
    Invalid,
}

/// Which spellings of an IPv4 address are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ipv4Syntax {
    /// Four decimal numbers, as in a policy.
    Decimal,
    /// Every form the WHATWG URL Standard and `inet_aton` accept, as in a recorded host.
    Any,
}

/// Normalizes a recorded host, accepting a bracketed IPv6 address.
fn recorded_host(host: &str) -> Option<Host<'_>> {
    if let Some(inner) = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return inner
            .parse::<Ipv6Addr>()
            .ok()
            .map(|address| Host::Address(address.into()));
    }
    parse_host(host, Ipv4Syntax::Any).ok()
}

/// Parses a host or the host part of a pattern (without `*.`, brackets or port).
fn parse_host(text: &str, ipv4: Ipv4Syntax) -> Result<Host<'_>, HostProblem> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(Host::Address(address));
    }
    // Evaluation normalizes the host once per rule that has a scope; hosts recorded by the SDK are
    // nearly always normalized already, and this check spares them the allocation of UTS #46.
    if is_normalized_name(text) {
        return Ok(Host::Name(Cow::Borrowed(text)));
    }
    parse_host_slowly(text, ipv4)
}

/// [`parse_host`] for text that is not already a normalized name.
fn parse_host_slowly(text: &str, ipv4: Ipv4Syntax) -> Result<Host<'_>, HostProblem> {
    // UTS #46 may accept empty labels, and a pattern with one deserves its own error.
    let written = text.strip_suffix('.').unwrap_or(text);
    if written.split('.').any(str::is_empty) {
        return Err(HostProblem::EmptyLabel);
    }
    let ascii = Uts46::new()
        .to_ascii(
            text.as_bytes(),
            HOST_DENY_LIST,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map_err(|_| HostProblem::Invalid)?;
    let name = without_root_dot(ascii);
    check_name(&name)?;
    if ends_in_number(&name) {
        return parse_ipv4(&name, ipv4).map(|address| Host::Address(address.into()));
    }
    Ok(Host::Name(name))
}

/// Removes one trailing dot, keeping a borrowed name borrowed.
fn without_root_dot(name: Cow<'_, str>) -> Cow<'_, str> {
    match name {
        Cow::Borrowed(name) => Cow::Borrowed(name.strip_suffix('.').unwrap_or(name)),
        Cow::Owned(mut name) => {
            if name.ends_with('.') {
                name.pop();
            }
            Cow::Owned(name)
        }
    }
}

/// Checks the labels, characters and length of a name after UTS #46.
fn check_name(name: &str) -> Result<(), HostProblem> {
    if name.len() > MAX_NAME_LEN {
        return Err(HostProblem::Invalid);
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(HostProblem::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN || !label.bytes().all(is_name_byte) {
            return Err(HostProblem::Invalid);
        }
    }
    Ok(())
}

/// Whether `text` is a name [`parse_host_slowly`] would return unchanged. A-labels are left out
/// because only UTS #46 can tell whether their Punycode is valid.
fn is_normalized_name(text: &str) -> bool {
    text.len() <= MAX_NAME_LEN
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && !label.starts_with("xn--")
                && label.bytes().all(is_name_byte)
        })
        && !ends_in_number(text)
}

/// The bytes of a normalized name's labels.
fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
}

/// Whether the last label is a number, which makes the name an IPv4 address (WHATWG URL
/// Standard, "ends in a number").
fn ends_in_number(name: &str) -> bool {
    name.rsplit('.').next().is_some_and(|last| {
        !last.is_empty()
            && (last.bytes().all(|byte| byte.is_ascii_digit()) || ipv4_number(last).is_some())
    })
}

/// Reads a name that ends in a number as an IPv4 address.
fn parse_ipv4(name: &str, syntax: Ipv4Syntax) -> Result<Ipv4Addr, HostProblem> {
    if let Ok(address) = name.parse::<Ipv4Addr>() {
        return Ok(address);
    }
    match syntax {
        Ipv4Syntax::Decimal => Err(HostProblem::NotDecimalIpv4),
        Ipv4Syntax::Any => parse_any_ipv4(name).ok_or(HostProblem::Invalid),
    }
}

/// The WHATWG URL Standard's IPv4 parser, which accepts what `inet_aton` accepts: one to four
/// numbers in decimal, octal (leading `0`) or hexadecimal (leading `0x`), the last filling the
/// bytes the others leave.
fn parse_any_ipv4(name: &str) -> Option<Ipv4Addr> {
    let mut numbers = Vec::with_capacity(4);
    for part in name.split('.') {
        if numbers.len() == 4 {
            return None;
        }
        numbers.push(ipv4_number(part)?);
    }
    let (&last, leading) = numbers.split_last()?;
    let mut value: u64 = 0;
    for &number in leading {
        if number > 255 {
            return None;
        }
        value = (value << 8) | number;
    }
    let free_bits = 8 * (4 - u32::try_from(leading.len()).ok()?);
    if last >> free_bits != 0 {
        return None;
    }
    u32::try_from((value << free_bits) | last)
        .ok()
        .map(Ipv4Addr::from)
}

/// One number of the WHATWG IPv4 parser; `None` when `part` is not a number or does not fit
/// 64 bits (either way, not part of an address).
fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if let Some(octal) = part.strip_prefix('0').filter(|rest| !rest.is_empty()) {
            (octal, 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|digit| digit.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Parses one element of a scope (never `*` itself).
fn parse_pattern(pattern: &str) -> Result<HostPattern, ScopeError> {
    if pattern.is_empty() {
        return Err(ScopeError::Empty);
    }
    let has_whitespace = pattern.chars().any(char::is_whitespace);
    if has_whitespace || has_url_parts(pattern) {
        let host = host_inside(pattern)
            .filter(|host| parse_bare_pattern(pattern, host).is_ok())
            .map(str::to_owned);
        return Err(if host.is_none() && has_whitespace {
            ScopeError::Whitespace {
                pattern: pattern.to_owned(),
            }
        } else {
            ScopeError::NotAHostPattern {
                pattern: pattern.to_owned(),
                host,
            }
        });
    }
    parse_bare_pattern(pattern, pattern)
}

/// Whether a pattern has the parts of a URL around its host: scheme, path, query, fragment, user
/// info, brackets or port. A colon is a port unless the whole pattern is an IPv6 address.
fn has_url_parts(pattern: &str) -> bool {
    pattern.contains(['/', '?', '#', '@', '[', ']'])
        || (pattern.contains(':') && pattern.parse::<Ipv6Addr>().is_err())
}

/// The host inside a URL-like pattern, as written, for the error message to suggest.
fn host_inside(pattern: &str) -> Option<&str> {
    let text = pattern.trim();
    let after_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next()?;
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(bracketed) = host_and_port.strip_prefix('[') {
        return bracketed.split_once(']').map(|(host, _)| host);
    }
    if host_and_port.parse::<Ipv6Addr>().is_ok() {
        return Some(host_and_port);
    }
    Some(
        host_and_port
            .rsplit_once(':')
            .map_or(host_and_port, |(host, _)| host),
    )
}

/// Parses `text`, a pattern without URL parts or whitespace; errors name `pattern`.
fn parse_bare_pattern(pattern: &str, text: &str) -> Result<HostPattern, ScopeError> {
    let error = |problem: HostProblem| {
        let pattern = pattern.to_owned();
        match problem {
            HostProblem::EmptyLabel => ScopeError::EmptyLabel { pattern },
            HostProblem::NotDecimalIpv4 => ScopeError::NotDecimalIpv4 { pattern },
            HostProblem::Invalid => ScopeError::InvalidHost { pattern },
        }
    };
    if let Some(domain) = text.strip_prefix("*.") {
        if domain.is_empty() {
            return Err(ScopeError::MissingDomain {
                pattern: pattern.to_owned(),
            });
        }
        if domain.contains('*') {
            return Err(ScopeError::MisplacedWildcard {
                pattern: pattern.to_owned(),
            });
        }
        return match parse_host(domain, Ipv4Syntax::Decimal).map_err(error)? {
            Host::Name(domain) => Ok(HostPattern::Subdomain(domain.into_owned())),
            Host::Address(address) => Err(ScopeError::SubdomainOfAddress {
                pattern: pattern.to_owned(),
                address: address.to_string(),
            }),
        };
    }
    if text.contains('*') {
        return Err(ScopeError::MisplacedWildcard {
            pattern: pattern.to_owned(),
        });
    }
    match parse_host(text, Ipv4Syntax::Decimal).map_err(error)? {
        Host::Name(host) => Ok(HostPattern::Exact(host.into_owned())),
        Host::Address(address) => Ok(HostPattern::Ip(address)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(pattern: &str) -> Scope {
        Scope::parse_one(pattern).unwrap()
    }

    fn message(result: Result<Scope, ScopeError>) -> String {
        result.unwrap_err().to_string()
    }

    fn normalized(host: &str) -> Option<String> {
        normalize_host(host)
    }

    // §6.4, row `"*"`: every action, with or without a host.
    #[test]
    fn star_matches_every_action_with_or_without_a_host() {
        let scope = one("*");
        assert_eq!(scope, Scope::Any);
        assert!(scope.matches(None));
        assert!(scope.matches(Some("api.example.com")));
        assert!(scope.matches(Some("10.0.0.7")));
        assert!(scope.matches(Some("not a host")));
    }

    // §6.4, row `api.example.com`.
    #[test]
    fn exact_host_matches_that_host_in_any_spelling() {
        let scope = one("api.example.com");
        assert_eq!(
            scope,
            Scope::Hosts(vec![HostPattern::Exact("api.example.com".to_owned())])
        );
        assert!(scope.matches(Some("api.example.com")));
        assert!(scope.matches(Some("API.Example.COM.")));
        assert!(!scope.matches(Some("example.com")));
        assert!(!scope.matches(Some("a.api.example.com")));
        assert!(!scope.matches(Some("api.example.com.evil.net")));
        assert!(!scope.matches(Some("api.example.co")));
        assert!(!scope.matches(None));
        assert_eq!(one("API.Example.COM."), scope);
    }

    // §6.4, row `*.example.com`.
    #[test]
    fn subdomain_pattern_needs_at_least_one_more_label() {
        let scope = one("*.example.com");
        assert_eq!(
            scope,
            Scope::Hosts(vec![HostPattern::Subdomain("example.com".to_owned())])
        );
        assert!(scope.matches(Some("a.example.com")));
        assert!(scope.matches(Some("a.b.example.com")));
        assert!(scope.matches(Some("A.Example.COM.")));
        assert!(!scope.matches(Some("example.com")));
        assert!(!scope.matches(Some("example.com.")));
        assert!(!scope.matches(Some("badexample.com")));
        assert!(!scope.matches(Some("a.example.com.evil.net")));
        assert!(!scope.matches(Some(".example.com")));
        assert!(!scope.matches(None));
    }

    // §6.4, row "IPv4 / IPv6 literal".
    #[test]
    fn ipv4_literal_matches_exactly_that_address() {
        let scope = one("10.0.0.7");
        assert_eq!(
            scope,
            Scope::Hosts(vec![HostPattern::Ip(IpAddr::from([10, 0, 0, 7]))])
        );
        assert!(scope.matches(Some("10.0.0.7")));
        assert!(scope.matches(Some("10.0.0.7.")));
        assert!(!scope.matches(Some("10.0.0.70")));
        assert!(!scope.matches(Some("10.0.0.8")));
        assert!(!scope.matches(Some("a.10.0.0.7")));
        assert!(!scope.matches(None));
    }

    #[test]
    fn ipv6_literal_matches_the_address_however_written() {
        let scope = one("::1");
        assert_eq!(
            scope,
            Scope::Hosts(vec![HostPattern::Ip(Ipv6Addr::LOCALHOST.into())])
        );
        assert!(scope.matches(Some("::1")));
        assert!(scope.matches(Some("0:0:0:0:0:0:0:1")));
        assert!(scope.matches(Some("[::1]")));
        assert!(!scope.matches(Some("::2")));
        assert!(!scope.matches(Some("127.0.0.1")));
        assert_eq!(one("0:0:0:0:0:0:0:1"), scope);
        assert!(one("2001:DB8::1").matches(Some("2001:db8:0:0:0:0:0:1")));
    }

    // §6.4, row "an array of the above".
    #[test]
    fn list_matches_when_any_element_matches() {
        let scope = Scope::parse_list(&["pastebin.com", "*.ngrok.io", "10.0.0.7"]).unwrap();
        assert!(scope.matches(Some("pastebin.com")));
        assert!(scope.matches(Some("abc.ngrok.io")));
        assert!(scope.matches(Some("10.0.0.7")));
        assert!(!scope.matches(Some("ngrok.io")));
        assert!(!scope.matches(Some("www.pastebin.com")));
        assert!(!scope.matches(None));
    }

    #[test]
    fn star_cannot_appear_in_a_list() {
        for list in [&["*"][..], &["a.com", "*"], &["*", "a.com"]] {
            assert_eq!(Scope::parse_list(list), Err(ScopeError::WildcardInList));
        }
        assert_eq!(
            message(Scope::parse_list(&["pastebin.com", "*"])),
            "`*` cannot appear in a scope list; write `scope = \"*\"` alone to match every action"
        );
    }

    #[test]
    fn an_empty_list_is_an_error() {
        assert_eq!(Scope::parse_list(&[]), Err(ScopeError::EmptyList));
        assert_eq!(
            message(Scope::parse_list(&[])),
            "scope list is empty; list at least one host, or write `*` to match every action"
        );
    }

    #[test]
    fn the_first_invalid_element_of_a_list_decides_the_error() {
        let error = Scope::parse_list(&["a.com", "x.com:443", "a..b"]).unwrap_err();
        assert_eq!(error.pattern(), Some("x.com:443"));
    }

    // §6.4: "An action with no host never matches a scope other than `*`."
    #[test]
    fn no_host_matches_only_star() {
        for pattern in ["example.com", "*.example.com", "10.0.0.7", "::1"] {
            assert!(!one(pattern).matches(None), "{pattern}");
        }
        assert!(one("*").matches(None));
    }

    #[test]
    fn a_host_that_does_not_normalize_matches_no_pattern() {
        assert!(!one("example.com").matches(Some("example.com:443")));
        assert!(!one("*.example.com").matches(Some("a..example.com")));
        assert!(!one("*.example.com").matches(Some("")));
    }

    // §6.4 load errors, with the specification's own example first.
    #[test]
    fn a_url_is_not_a_host_pattern() {
        assert_eq!(
            message(Scope::parse_one("https://x.com/api")),
            "scope `https://x.com/api` is not a host pattern; write `x.com`"
        );
        assert_eq!(
            Scope::parse_one("https://x.com/api"),
            Err(ScopeError::NotAHostPattern {
                pattern: "https://x.com/api".to_owned(),
                host: Some("x.com".to_owned()),
            })
        );
    }

    #[test]
    fn a_port_is_a_load_error() {
        assert_eq!(
            message(Scope::parse_one("x.com:443")),
            "scope `x.com:443` is not a host pattern; write `x.com`"
        );
        assert_eq!(
            message(Scope::parse_one("*.x.com:8080")),
            "scope `*.x.com:8080` is not a host pattern; write `*.x.com`"
        );
        assert_eq!(
            message(Scope::parse_one("10.0.0.7:22")),
            "scope `10.0.0.7:22` is not a host pattern; write `10.0.0.7`"
        );
    }

    #[test]
    fn path_query_fragment_and_user_info_are_load_errors() {
        for (pattern, host) in [
            ("x.com/api", "x.com"),
            ("x.com?q=1", "x.com"),
            ("x.com#top", "x.com"),
            ("user@x.com", "x.com"),
            ("https://user:secret@x.com:8443/a?b#c", "x.com"),
            ("HTTPS://API.X.COM/", "API.X.COM"),
        ] {
            assert_eq!(
                Scope::parse_one(pattern),
                Err(ScopeError::NotAHostPattern {
                    pattern: pattern.to_owned(),
                    host: Some(host.to_owned()),
                }),
                "{pattern}"
            );
        }
    }

    #[test]
    fn a_url_without_a_usable_host_gets_a_general_hint() {
        assert_eq!(
            message(Scope::parse_one("https://")),
            "scope `https://` is not a host pattern; write only the host, such as `api.example.com`"
        );
        assert_eq!(
            message(Scope::parse_one("file:///etc/passwd")),
            "scope `file:///etc/passwd` is not a host pattern; write only the host, such as \
             `api.example.com`"
        );
    }

    #[test]
    fn bracketed_ipv6_is_a_load_error_in_a_pattern() {
        assert_eq!(
            message(Scope::parse_one("[::1]")),
            "scope `[::1]` is not a host pattern; write `::1`"
        );
        assert_eq!(
            message(Scope::parse_one("http://[::1]:8080/")),
            "scope `http://[::1]:8080/` is not a host pattern; write `::1`"
        );
    }

    #[test]
    fn whitespace_is_a_load_error() {
        assert_eq!(
            message(Scope::parse_one(" x.com")),
            "scope ` x.com` is not a host pattern; write `x.com`"
        );
        assert_eq!(
            message(Scope::parse_one("ex ample.com")),
            "scope `ex ample.com` contains whitespace; write the host without it"
        );
        // Messages stay on one line whatever the pattern holds.
        let text = message(Scope::parse_one("x.com\n"));
        assert_eq!(
            text,
            "scope `x.com\\n` is not a host pattern; write `x.com`"
        );
        assert!(!message(Scope::parse_one("a\tb.com")).contains('\t'));
    }

    #[test]
    fn star_is_only_allowed_as_a_leading_star_dot() {
        let expected = "scope `foo*.com` has `*` outside a leading `*.`; write `*.example.com` to \
                        match the subdomains of `example.com`";
        assert_eq!(message(Scope::parse_one("foo*.com")), expected);
        for pattern in [
            "*example.com",
            "a.*.example.com",
            "*.*.example.com",
            "**.example.com",
        ] {
            assert_eq!(
                Scope::parse_one(pattern),
                Err(ScopeError::MisplacedWildcard {
                    pattern: pattern.to_owned()
                }),
                "{pattern}"
            );
        }
    }

    #[test]
    fn star_dot_needs_a_domain() {
        assert_eq!(
            message(Scope::parse_one("*.")),
            "scope `*.` names no domain after `*.`; write a pattern such as `*.example.com`"
        );
    }

    #[test]
    fn an_empty_label_is_a_load_error() {
        assert_eq!(
            message(Scope::parse_one("a..b")),
            "scope `a..b` has an empty label; separate labels with single dots"
        );
        for pattern in [
            ".example.com",
            "example.com..",
            "*..example.com",
            ".",
            "a。。b",
        ] {
            assert_eq!(
                Scope::parse_one(pattern),
                Err(ScopeError::EmptyLabel {
                    pattern: pattern.to_owned()
                }),
                "{pattern}"
            );
        }
    }

    #[test]
    fn an_empty_pattern_is_a_load_error() {
        assert_eq!(
            message(Scope::parse_one("")),
            "scope `` is empty; write a host such as `api.example.com`"
        );
        assert_eq!(Scope::parse_list(&["a.com", ""]), Err(ScopeError::Empty));
    }

    #[test]
    fn a_subdomain_of_an_address_is_a_load_error() {
        assert_eq!(
            message(Scope::parse_one("*.10.0.0.7")),
            "scope `*.10.0.0.7` puts `*.` before an IP address, which has no subdomains; write \
             `10.0.0.7`"
        );
    }

    #[test]
    fn ipv4_patterns_are_four_decimal_numbers() {
        for pattern in [
            "010.0.0.1",
            "127.1",
            "0x7f.0.0.1",
            "2130706433",
            "example.123",
            "256.0.0.1",
        ] {
            assert_eq!(
                Scope::parse_one(pattern),
                Err(ScopeError::NotDecimalIpv4 {
                    pattern: pattern.to_owned()
                }),
                "{pattern}"
            );
        }
        assert_eq!(
            message(Scope::parse_one("010.0.0.1")),
            "scope `010.0.0.1` ends in a number, so it must be an IPv4 address written as four \
             decimal numbers, such as `10.0.0.7`"
        );
    }

    #[test]
    fn characters_no_host_has_are_load_errors() {
        for pattern in [
            "ex!ample.com",
            "exa%mple.com",
            "a\\b.com",
            "a\"b.com",
            "xn--.example",
        ] {
            assert_eq!(
                Scope::parse_one(pattern),
                Err(ScopeError::InvalidHost {
                    pattern: pattern.to_owned()
                }),
                "{pattern}"
            );
        }
        assert_eq!(
            message(Scope::parse_one("ex!ample.com")),
            "scope `ex!ample.com` is not a valid host name or IP address"
        );
    }

    #[test]
    fn error_names_the_pattern_for_locating_it() {
        assert_eq!(Scope::parse_list(&[]).unwrap_err().pattern(), None);
        assert_eq!(ScopeError::WildcardInList.pattern(), Some("*"));
        assert_eq!(ScopeError::Empty.pattern(), Some(""));
        assert_eq!(
            Scope::parse_one("foo*.com").unwrap_err().pattern(),
            Some("foo*.com")
        );
    }

    #[test]
    fn normalization_lowercases_and_removes_one_trailing_dot() {
        assert_eq!(
            normalized("API.Example.COM.").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            normalized("api.example.com").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(normalized("localhost").as_deref(), Some("localhost"));
        assert_eq!(normalized("example.com.."), None);
        assert_eq!(normalized("."), None);
        assert_eq!(normalized(""), None);
        assert_eq!(normalized(".example.com"), None);
    }

    #[test]
    fn internationalized_names_become_a_labels_as_host_and_as_pattern() {
        for host in [
            "bücher.example",
            "BÜCHER.example.",
            "xn--bcher-kva.example",
            "XN--BCHER-KVA.example",
        ] {
            assert_eq!(
                normalized(host).as_deref(),
                Some("xn--bcher-kva.example"),
                "{host}"
            );
        }
        // Ideographic full stops separate labels (UTS #46 maps them to dots).
        assert_eq!(
            normalized("bücher。example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        // Non-transitional processing: ß stays ß, as browsers resolve it.
        assert_eq!(normalized("faß.de").as_deref(), Some("xn--fa-hia.de"));
        assert_eq!(one("bücher.example"), one("xn--bcher-kva.example"));
        assert!(one("bücher.example").matches(Some("xn--bcher-kva.example")));
        assert!(one("*.bücher.example").matches(Some("www.BÜCHER.example")));
        assert_eq!(
            one("*.bücher.example").display(),
            " on a subdomain of xn--bcher-kva.example"
        );
    }

    #[test]
    fn names_real_hosts_use_are_hosts() {
        for host in [
            "r3---sn-abc.googlevideo.com",
            "_dmarc.example.com",
            "my_service",
            "a-.b",
        ] {
            assert_eq!(normalized(host).as_deref(), Some(host), "{host}");
        }
    }

    #[test]
    fn dns_length_limits_apply() {
        let label_63 = "a".repeat(63);
        let label_64 = "a".repeat(64);
        assert!(normalized(&format!("{label_63}.com")).is_some());
        assert_eq!(normalized(&format!("{label_64}.com")), None);
        let name_253 = format!("{label_63}.{label_63}.{label_63}.{}", "a".repeat(61));
        assert_eq!(name_253.len(), 253);
        assert!(normalized(&name_253).is_some());
        assert!(normalized(&format!("{name_253}.")).is_some());
        assert_eq!(normalized(&format!("a{name_253}")), None);
    }

    #[test]
    fn hosts_with_ports_or_url_parts_are_not_hosts() {
        for host in [
            "example.com:443",
            "https://example.com",
            "example.com/path",
            "u@example.com",
            "a b.com",
            "[::1]:443",
            "fe80::1%eth0",
        ] {
            assert_eq!(normalized(host), None, "{host}");
        }
    }

    #[test]
    fn bracketed_ipv6_hosts_are_accepted_without_brackets() {
        assert_eq!(normalized("[::1]").as_deref(), Some("::1"));
        assert_eq!(normalized("[0:0:0:0:0:0:0:1]").as_deref(), Some("::1"));
        assert_eq!(normalized("[2001:DB8::1]").as_deref(), Some("2001:db8::1"));
        assert_eq!(normalized("[10.0.0.7]"), None);
        assert_eq!(normalized("[example.com]"), None);
        assert_eq!(normalized("[::1"), None);
    }

    #[test]
    fn ip_addresses_are_written_in_standard_form() {
        assert_eq!(normalized("0:0:0:0:0:0:0:1").as_deref(), Some("::1"));
        assert_eq!(normalized("2001:DB8:0::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(normalized("10.0.0.7.").as_deref(), Some("10.0.0.7"));
    }

    // A host spelled the way `inet_aton` reads it reaches the same machine, so it must meet the
    // same scoped rules.
    #[test]
    fn every_ipv4_spelling_a_resolver_accepts_is_that_address() {
        for host in [
            "127.1",
            "127.0.1",
            "0x7f.0.0.1",
            "0x7F.1",
            "2130706433",
            "017700000001",
            "0177.0.0.1",
            "127.0.0.1.",
            "１２７.０.０.１",
        ] {
            assert_eq!(normalized(host).as_deref(), Some("127.0.0.1"), "{host}");
            assert!(one("127.0.0.1").matches(Some(host)), "{host}");
        }
        assert_eq!(normalized("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(normalized("1.2.3.0x").as_deref(), Some("1.2.3.0"));
        assert_eq!(normalized("4294967295").as_deref(), Some("255.255.255.255"));
        for host in [
            "4294967296",
            "1.2.3.4.5",
            "256.0.0.1",
            "1.256.0.0.1",
            "1.2.65536",
            "example.123",
            "a.0x1",
            "09.0.0.1",
            "99999999999999999999999",
        ] {
            assert_eq!(normalized(host), None, "{host}");
        }
        // A last label that is not a number keeps the name a name.
        assert_eq!(normalized("1.2.3.0x1g").as_deref(), Some("1.2.3.0x1g"));
        assert_eq!(normalized("123.example").as_deref(), Some("123.example"));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_address() {
        let scope = one("10.0.0.7");
        assert!(scope.matches(Some("::ffff:10.0.0.7")));
        assert!(scope.matches(Some("[::ffff:a00:7]")));
        assert!(one("::ffff:10.0.0.7").matches(Some("10.0.0.7")));
        assert!(!scope.matches(Some("::10.0.0.7")));
        assert_eq!(
            normalized("::FFFF:10.0.0.7").as_deref(),
            Some("::ffff:10.0.0.7")
        );
    }

    #[test]
    fn names_never_match_addresses() {
        assert!(!one("localhost").matches(Some("127.0.0.1")));
        assert!(!one("127.0.0.1").matches(Some("localhost")));
    }

    // §12: the "block, scoped" example.
    #[test]
    fn display_follows_rule_display_grammar() {
        let scope = Scope::parse_list(&["pastebin.com", "*.ngrok.io"]).unwrap();
        assert_eq!(
            scope.display(),
            " on host pastebin.com or a subdomain of ngrok.io"
        );
        assert_eq!(one("*").display(), "");
        assert_eq!(one("Pastebin.COM.").display(), " on host pastebin.com");
        assert_eq!(
            Scope::parse_list(&["*.ngrok.io", "0:0:0:0:0:0:0:1", "10.0.0.7"])
                .unwrap()
                .display(),
            " on a subdomain of ngrok.io or host ::1 or host 10.0.0.7"
        );
    }

    #[test]
    fn the_fast_path_agrees_with_uts46_on_names_it_accepts() {
        for name in ["example.com", "a-b_c.d", "r3---sn-abc.googlevideo.com"] {
            assert!(is_normalized_name(name), "{name}");
        }
        for name in [
            "Example.com",
            "example.com.",
            "xn--bcher-kva.example",
            "127.1",
            "a..b",
            "bücher.example",
        ] {
            assert!(!is_normalized_name(name), "{name}");
        }
    }

    proptest! {
        #[test]
        fn fast_path_names_normalize_to_themselves(
            name in "[a-z0-9_-]{1,12}(\\.[a-z0-9x_-]{1,12}){0,4}"
        ) {
            if is_normalized_name(&name) {
                prop_assert_eq!(
                    parse_host_slowly(&name, Ipv4Syntax::Any),
                    Ok(Host::Name(Cow::Borrowed(name.as_str())))
                );
            }
        }

        #[test]
        fn normalization_is_idempotent(host in "[a-zA-Z0-9._:\\[\\]-]{0,24}|[a-zäöüß.]{1,16}") {
            if let Some(once) = normalize_host(&host) {
                prop_assert_eq!(normalize_host(&once), Some(once.clone()));
                let scope = Scope::parse_one(&once).unwrap();
                prop_assert!(scope.matches(Some(&host)));
            }
        }
    }
}

//! Built-in list of legitimate high-entropy DNS services. A match *lowers*
//! the score (multiplies it by `allowlist_factor`); it never exempts, so a
//! tunnel under an allowlisted name with enough volume still alerts.

use std::collections::HashSet;

/// Registered domains (or suffixes) of services that put hashes, addresses or
/// random identifiers in query names by design.
const BUILTIN_DOMAINS: &[&str] = &[
    // Anti-virus / file and URL reputation lookups.
    "sophosxl.net",
    "sophos.com",
    "mcafee.com",
    "mcafee.net",
    "trendmicro.com",
    "eset.com",
    "e5.sk",
    "bitdefender.net",
    "avast.com",
    "avcdn.net",
    "kaspersky-labs.com",
    "kaspersky.com",
    "norton.com",
    "symantec.com",
    "symcb.com",
    "crowdstrike.com",
    "sentinelone.net",
    "paloaltonetworks.com",
    "webroot.com",
    "brightcloud.com",
    "threatstop.com",
    "spamhaus.net",
    // DNS block lists (reversed addresses and hashes of domains).
    "spamhaus.org",
    "spamcop.net",
    "sorbs.net",
    "barracudacentral.org",
    "uribl.com",
    "surbl.org",
    "dnswl.org",
    "mailspike.net",
    "abuseat.org",
    "spameatingmonkey.net",
    "senderscore.com",
    "junkemailfilter.com",
    "dnsbl.info",
    "abuse.ch",
    "s5h.net",
    "manitu.net",
    "blocklist.de",
    "psbl.org",
    // CDNs.
    "akamaiedge.net",
    "akamai.net",
    "akamaihd.net",
    "edgekey.net",
    "edgesuite.net",
    "akadns.net",
    "cloudfront.net",
    "fastly.net",
    "fastlylb.net",
    "cloudflare.net",
    "cloudflare.com",
    "azureedge.net",
    "llnwd.net",
    "cdn77.org",
    "googlevideo.com",
    "gvt1.com",
    "gvt2.com",
    "1e100.net",
    "footprintdns.com",
    "trafficmanager.net",
    "msedge.net",
    "azurefd.net",
    // Cloud load balancers and platforms.
    "amazonaws.com",
    "cloudapp.azure.com",
    "cloudapp.net",
    "azurewebsites.net",
    "googleusercontent.com",
    "appspot.com",
    "herokuapp.com",
    "elasticbeanstalk.com",
    // Telemetry / connectivity with per-device identifiers.
    "data.microsoft.com",
    "msftncsi.com",
    "msftconnecttest.com",
    "windowsupdate.com",
];

/// Underscore labels of DKIM/DMARC/ACME/SPF/MTA-STS, AD SRV/DC locator and
/// DNS-SD names (RFC 8552 attribute leaves). Matched anywhere in the name.
const BUILTIN_LABELS: &[&str] = &[
    "_domainkey",
    "_dmarc",
    "_acme-challenge",
    "_spf",
    "_mta-sts",
    "_smtp",
    "_msdcs",
    "_ldap",
    "_kerberos",
    "_kpasswd",
    "_gc",
    "_sites",
    "_dns-sd",
    "_services",
    "_tcp",
    "_udp",
    "_autodiscover",
    "_sip",
    "_sipfederationtls",
];

/// The effective allowlist (built-in minus removals plus additions).
#[derive(Debug, Clone)]
pub(crate) struct Allowlist {
    enabled: bool,
    domains: HashSet<String>,
    labels: HashSet<String>,
}

impl Allowlist {
    pub(crate) fn new(enabled: bool, add: &[String], remove: &[String]) -> Self {
        let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_lowercase();
        let removed: HashSet<String> = remove.iter().map(|s| norm(s)).collect();
        let mut domains: HashSet<String> = BUILTIN_DOMAINS.iter().map(|s| (*s).to_string()).collect();
        let mut labels: HashSet<String> = BUILTIN_LABELS.iter().map(|s| (*s).to_string()).collect();
        domains.retain(|d| !removed.contains(d));
        labels.retain(|d| !removed.contains(d));
        for a in add {
            let a = norm(a);
            if a.starts_with('_') && !a.contains('.') {
                labels.insert(a);
            } else if !a.is_empty() {
                domains.insert(a);
            }
        }
        Self { enabled, domains, labels }
    }

    /// Whether the registered domain (lower case), or any parent of it,
    /// is listed (`x.elb.amazonaws.com` matches `amazonaws.com`).
    pub(crate) fn domain_matches(&self, reg: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        let mut rest = reg;
        loop {
            if std::str::from_utf8(rest).is_ok_and(|s| self.domains.contains(s)) {
                return true;
            }
            match rest.iter().position(|&c| c == b'.') {
                Some(p) => rest = rest.get(p + 1..).unwrap_or(&[]),
                None => return false,
            }
        }
    }

    /// Whether the lower-case name carries a listed underscore label.
    pub(crate) fn label_matches(&self, lower: &[u8]) -> bool {
        self.enabled
            && lower.contains(&b'_')
            && lower.split(|&c| c == b'.').any(|l| {
                l.first() == Some(&b'_') && std::str::from_utf8(l).is_ok_and(|l| self.labels.contains(l))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let a = Allowlist::new(true, &["example.net".into(), "_custom".into()], &["sophosxl.net".into()]);
        let m = |n: &str| a.domain_matches(n.as_bytes()) || a.label_matches(n.as_bytes());
        assert!(m("0.0.0.1.zen.spamhaus.org"));
        assert!(m("internal-lb-123.us-east-1.elb.amazonaws.com"));
        assert!(m("sel1._domainkey.example.org"));
        assert!(m("a.b.example.net"));
        assert!(m("x._custom.foo.org"));
        assert!(!m("abc.sophosxl.net"));
        assert!(!m("www.example.org"));
        assert!(!m("notamazonaws.com"));
        let off = Allowlist::new(false, &[], &[]);
        assert!(!off.domain_matches(b"spamhaus.org"));
        assert!(!off.label_matches(b"_dmarc.example.org"));
    }
}

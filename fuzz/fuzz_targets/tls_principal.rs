//! The TLS front door's own code: what turns a client certificate into a
//! principal. An even first byte fuzzes `ssl.principal.mapping.rules`: the
//! rest, split at the first 0xFF, is a rule list (parsed as the broker parses
//! the setting at start) and a distinguished name to map with it. An odd
//! first byte fuzzes the certificate: the rest is DER handed to
//! `certificate_principal`, the function every TLS listener calls with the
//! client's certificate, under DEFAULT and under rules with groups, case
//! changes and `$n` replacements. No input may panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata_governance::principal_mapping::{
    certificate_principal, certificate_subject, SslPrincipalMapper,
};
use strata_governance::Principal;

/// Rules in the shapes Kafka's documentation and tests use.
const RULES: &str = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,\
                     RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,\
                     RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1\\/$2/U,\
                     RULE:^(.*)=#(.*)$/hex-$2/";

fn mappers() -> &'static [SslPrincipalMapper; 2] {
    static MAPPERS: OnceLock<[SslPrincipalMapper; 2]> = OnceLock::new();
    MAPPERS.get_or_init(|| {
        [
            SslPrincipalMapper::parse("DEFAULT").expect("DEFAULT parses"),
            SslPrincipalMapper::parse(RULES).expect("the fuzz rules parse"),
        ]
    })
}

fn rules_on_a_name(data: &[u8]) {
    let (rules, name) = match data.iter().position(|b| *b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let rules = String::from_utf8_lossy(rules);
    let name = String::from_utf8_lossy(name);
    if let Ok(mapper) = SslPrincipalMapper::parse(&rules) {
        let _ = mapper.map(&name);
    }
}

fn certificate(der: &[u8]) {
    let [default, rules] = mappers();
    // DEFAULT is the subject itself: the two functions agree.
    assert_eq!(
        certificate_principal(der, default),
        certificate_subject(der).map(Principal::user)
    );
    let _ = certificate_principal(der, rules);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        rules_on_a_name(rest);
    } else {
        certificate(rest);
    }
});

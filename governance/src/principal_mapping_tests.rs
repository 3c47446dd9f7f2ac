use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::*;

/// `openssl req -x509 -subj "/C=US/O=Acme, Inc./OU=eng+OU=ops/CN=alice =x#/emailAddress=a@b.c"`
const CERT: &str = "MIICJDCCAcmgAwIBAgIUE6MHgtz6sotM8qikPdsB+Cu14QIwCgYIKoZIzj0EAwIwZjELMAkGA1UEBhMCVVMxEzARBgNVBAoMCkFjbWUsIEluYy4xGDAKBgNVBAsMA2VuZzAKBgNVBAsMA29wczESMBAGA1UEAwwJYWxpY2UgPXgjMRQwEgYJKoZIhvcNAQkBFgVhQGIuYzAgFw0yNjEyMDcwMDUxNDBaGA8yMTI2MTExMzAwNTE0MFowZjELMAkGA1UEBhMCVVMxEzARBgNVBAoMCkFjbWUsIEluYy4xGDAKBgNVBAsMA2VuZzAKBgNVBAsMA29wczESMBAGA1UEAwwJYWxpY2UgPXgjMRQwEgYJKoZIhvcNAQkBFgVhQGIuYzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABA4VEVb0+R4ZXI8+T35rLdtjABRLvC0BK/7ohBweo9lBlFNGqCOhiNN6bBvCOvytMkQCIZVX48j4pGCmCBI90WWjUzBRMB0GA1UdDgQWBBSXh51jOMExs+HIxRdhplUkmpb3+DAfBgNVHSMEGDAWgBSXh51jOMExs+HIxRdhplUkmpb3+DAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCnsdllUrqZvdIXuh2tKDQ1bvTr6J3yWgpIUnkIqgLxZwIhAPqTMH7j1R37w9ddngPmZEYsnTOy29JtO5JJ+UZZ3FoZ";

fn mapper(rules: &str) -> SslPrincipalMapper {
    SslPrincipalMapper::parse(rules).unwrap_or_else(|e| panic!("{rules:?}: {e}"))
}

#[test]
fn default_keeps_the_dn() {
    for rules in ["DEFAULT", "", "  DEFAULT  "] {
        assert_eq!(mapper(rules).map("CN=a,O=b").as_deref(), Some("CN=a,O=b"));
    }
}

#[test]
fn rules_as_kafkas_tests_write_them() {
    let m = mapper(
        "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,\
         RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,\
         RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U,\
         RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U,\
         DEFAULT",
    );
    assert_eq!(
        m.map("CN=kafka-server1,OU=ServiceUsers,O=Org,C=US")
            .as_deref(),
        Some("kafka-server1")
    );
    assert_eq!(
        m.map("CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US")
            .as_deref(),
        Some("duke@javasoft")
    );
    assert_eq!(
        m.map("cn=duke,ou=javasoft,dc=oracle,dc=com").as_deref(),
        Some("DUKE@JAVASOFT")
    );
    assert_eq!(
        m.map("OU=JavaSoft,O=Sun Microsystems,C=US,cn=duke")
            .as_deref(),
        Some("DUKE")
    );
    assert_eq!(
        m.map("OU=JavaSoft,O=Sun Microsystems,C=US").as_deref(),
        Some("OU=JavaSoft,O=Sun Microsystems,C=US")
    );
}

#[test]
fn comma_newline_separated_escaped_slashes_and_literal_dollars() {
    let m = mapper("RULE:^CN=([^,]*)\\/x,(.*)$/$1\\/$2$3/,\n  RULE:^CN=(.*)$/u-$1/");
    assert_eq!(m.map("CN=a/x,O=b").as_deref(), Some("a/O=b$3"));
    assert_eq!(m.map("CN=z").as_deref(), Some("u-z"));
    // A rule that does not match the whole DN does not apply; none left.
    assert_eq!(mapper("RULE:^CN=a/b/").map("CN=ab"), None);
    // `$1x` is group 1 then `x`.
    assert_eq!(
        mapper("RULE:^CN=(.*)$/$1x/").map("CN=q").as_deref(),
        Some("qx")
    );
    // Empty entries are ignored.
    assert_eq!(mapper(",DEFAULT,,").map("CN=q").as_deref(), Some("CN=q"));
}

#[test]
fn invalid_rules_are_refused() {
    for rules in [
        "DEFAULTS",
        "RULE:abc",
        "RULE:a/b",
        "RULE:a/b/Lx",
        "RULE:a/b/ junk",
        "GARBAGE",
        "DEFAULT,RULE:^CN=(.*$/$1/",
        "DEFAULT x",
        // Kafka needs the comma between rules; a newline alone is refused.
        "RULE:^CN=(.*)$/$1/\nDEFAULT",
    ] {
        assert!(SslPrincipalMapper::parse(rules).is_err(), "{rules:?}");
    }
}

#[test]
fn subject_is_rfc2253_as_java_prints_it() {
    let der = STANDARD.decode(CERT).unwrap();
    assert_eq!(
        certificate_subject(&der).unwrap(),
        "1.2.840.113549.1.9.1=#16056140622e63,CN=alice \\=x\\#,OU=eng+OU=ops,O=Acme\\, Inc.,C=US"
    );
    assert_eq!(certificate_subject(b"not a certificate"), None);
}

#[test]
fn escaping_spaces_and_specials() {
    assert_eq!(escape(" a b "), "\\ a b\\ ");
    assert_eq!(
        escape("a,b+c\"d\\e<f>g;h"),
        "a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h"
    );
}

#[test]
fn a_certificate_maps_to_a_user_principal() {
    let der = STANDARD.decode(CERT).unwrap();
    assert_eq!(
        certificate_principal(&der, &mapper("RULE:^.*,CN=(.*?) .*,O=Acme.*$/$1/U")),
        Some(Principal::user("ALICE"))
    );
    // DEFAULT keeps the DN; no matching rule, or no certificate, is no principal.
    assert_eq!(
        certificate_principal(&der, &mapper("DEFAULT")).map(|p| p.to_string()),
        Some("User:1.2.840.113549.1.9.1=#16056140622e63,CN=alice \\=x\\#,OU=eng+OU=ops,O=Acme\\, Inc.,C=US".to_string())
    );
    assert_eq!(
        certificate_principal(&der, &mapper("RULE:^CN=bob$/bob/")),
        None
    );
    assert_eq!(
        certificate_principal(b"\x30\x03\x02\x01", &mapper("DEFAULT")),
        None
    );
}

/// The tls_principal fuzz seeds (fuzz/seeds/gen.py) still hold certificates
/// with a subject, so the fuzzer starts from inputs that reach the mapping.
#[test]
fn the_fuzz_seed_certificates_have_subjects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/tls_principal");
    let mut certificates = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let seed = std::fs::read(&path).unwrap();
        if seed.first().is_some_and(|b| b % 2 == 1) {
            assert!(
                certificate_subject(&seed[1..]).is_some(),
                "{}",
                path.display()
            );
            certificates += 1;
        }
    }
    assert_eq!(certificates, 2);
}

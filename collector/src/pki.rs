//! Minimal PKI for a CSIRT deployment: one CA, one server certificate, one
//! client certificate per sensor (rcgen, ECDSA P-256).
//!
//! The CA key stays in the PKI directory on the collector host. `enroll`
//! rebuilds the CA's issuer identity from its key and the fixed distinguished
//! name (no certificate parsing needed), then signs the sensor's certificate
//! whose DNS SAN and CN are the sensor id.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use std::fs;
use std::path::{Path, PathBuf};

/// Common name of the CA created by `init`.
pub const CA_CN: &str = "Centinela CSIRT CA";

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_CN);
    dn.push(DnType::OrganizationName, "Centinela");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2045, 1, 1);
    p
}

fn leaf_params(
    names: &[String],
    cn: &str,
    eku: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(names.to_vec()).map_err(|e| format!("bad name in {names:?}: {e}"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![eku];
    p.use_authority_key_identifier_extension = true;
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2035, 1, 1);
    Ok(p)
}

fn write_private(path: &Path, data: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(data.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_public(path: &Path, data: &str) -> Result<(), String> {
    fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))
}

/// Files written by [`init`].
#[derive(Debug)]
pub struct InitFiles {
    /// CA certificate.
    pub ca_cert: PathBuf,
    /// Server certificate.
    pub server_cert: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
}

/// Creates a CA (`ca.pem`, `ca.key`) and a server certificate for `hosts`
/// (`server.pem`, `server.key`) in `dir`. Refuses to overwrite an existing CA.
pub fn init(dir: &Path, hosts: &[String]) -> Result<InitFiles, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ca_key_path = dir.join("ca.key");
    if ca_key_path.exists() {
        return Err(format!(
            "{} exists: refusing to replace the CA (every enrolled sensor depends on it)",
            ca_key_path.display()
        ));
    }
    let ca_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let ca_cert = ca_params().self_signed(&ca_key).map_err(|e| e.to_string())?;
    write_private(&ca_key_path, &ca_key.serialize_pem())?;
    write_public(&dir.join("ca.pem"), &ca_cert.pem())?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cn = hosts.first().cloned().unwrap_or_else(|| "localhost".into());
    let cert = leaf_params(hosts, &cn, ExtendedKeyUsagePurpose::ServerAuth)?
        .signed_by(&key, &issuer)
        .map_err(|e| e.to_string())?;
    write_private(&dir.join("server.key"), &key.serialize_pem())?;
    write_public(&dir.join("server.pem"), &cert.pem())?;
    Ok(InitFiles {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    })
}

/// Issues a client certificate for `sensor` signed by the CA in `dir`;
/// returns (certificate path, key path).
pub fn enroll(dir: &Path, sensor: &str) -> Result<(PathBuf, PathBuf), String> {
    let ca_pem = fs::read_to_string(dir.join("ca.key"))
        .map_err(|e| format!("{}: {e} (run `init` first)", dir.join("ca.key").display()))?;
    let ca_key = KeyPair::from_pem(&ca_pem).map_err(|e| format!("ca.key: {e}"))?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let sdir = dir.join("sensors");
    fs::create_dir_all(&sdir).map_err(|e| format!("{}: {e}", sdir.display()))?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = leaf_params(&[sensor.to_string()], sensor, ExtendedKeyUsagePurpose::ClientAuth)?
        .signed_by(&key, &issuer)
        .map_err(|e| e.to_string())?;
    let cp = sdir.join(format!("{sensor}.pem"));
    let kp = sdir.join(format!("{sensor}.key"));
    write_private(&kp, &key.serialize_pem())?;
    write_public(&cp, &cert.pem())?;
    Ok((cp, kp))
}

/// 32 random bytes from the OS, hex-encoded.
pub fn random_token() -> Result<String, String> {
    use std::io::Read;
    let mut b = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(hex::encode(b))
}

/// Hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

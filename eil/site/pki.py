"""The site's own certificate authority, made with the `cryptography` package: the broker's
server certificate (the gateway's host names and addresses as SANs), one client certificate per
node with the node id as its common name (Mosquitto's `use_identity_as_username` makes that the
node's user name, so the pattern ACL and the client-id binding apply to it), and the list of
revoked node certificates the broker checks.

Keys are ECDSA P-256: a TLS handshake costs a Pi Zero 2 W far less than with RSA 2048, and every
TLS 1.2/1.3 stack Mosquitto and paho use speaks it. Private keys are written mode 600 and never
leave the directory they are made in (a node's key goes to that node only).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import EilError

CA_DAYS = 10 * 366  # the site CA outlives its nodes' SD cards
SERVER_DAYS = 2 * 366
NODE_DAYS = 2 * 366  # renew with `eil site add-node NAME --renew` before `eil site list` warns


class PkiError(EilError):
    """A key or certificate of the site could not be made or read."""


def write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 600 from the start (never briefly readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Issued:
    serial: int
    not_after: dt.datetime


class SiteCa:
    """The CA of one site: `ca.key` (600) and `ca.crt` in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.key_path, self.cert_path = directory / "ca.key", directory / "ca.crt"

    def exists(self) -> bool:
        return self.key_path.exists() and self.cert_path.exists()

    def create(self, site: str) -> bool:
        """Make the CA unless it exists; True if it was made now."""
        if self.exists():
            return False
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"EIL site {site}"),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"EIL {site} site CA")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(_now() - dt.timedelta(minutes=5))
                .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        write_private(self.key_path, _key_pem(key))
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return True

    def _load(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        try:
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
            cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise PkiError(f"cannot read the site CA in {self.dir}: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{self.key_path} is not an EC key")
        return key, cert

    def issue(self, common_name: str, key_path: Path, cert_path: Path, *, server: bool,
              hosts: Iterable[str] = (), days: int = NODE_DAYS) -> Issued:
        """A key pair and a certificate signed by this CA: for the broker (`server`, with the
        host names and IP addresses as SANs) or for a node (client authentication)."""
        ca_key, ca_cert = self._load()
        key = ec.generate_private_key(ec.SECP256R1())
        serial = x509.random_serial_number()
        not_after = min(_now() + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                               common_name)]))
                   .issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(serial)
                   .not_valid_before(_now() - dt.timedelta(minutes=5)).not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.SERVER_AUTH if server
                        else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            sans: list[x509.GeneralName] = []
            for host in hosts:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    sans.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        write_private(key_path, _key_pem(key))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return Issued(serial, not_after)

    def write_crl(self, path: Path, revoked: Iterable[int]) -> None:
        """The list of revoked serial numbers, signed by the CA, valid for a year (the broker
        refuses every certificate of this CA once the list has expired, so re-run `eil site
        revoke-node` or `eil site init` within the year)."""
        ca_key, ca_cert = self._load()
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
                   .last_update(_now() - dt.timedelta(minutes=5))
                   .next_update(_now() + dt.timedelta(days=366)))
        for serial in sorted(set(revoked)):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(_now() - dt.timedelta(minutes=1)).build())
        path.write_bytes(builder.sign(ca_key, hashes.SHA256())
                         .public_bytes(serialization.Encoding.PEM))


def certificate_facts(path: Path) -> tuple[int, dt.datetime, str]:
    """(serial, not after, common name) of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return cert.serial_number, cert.not_valid_after_utc, str(cn[0].value) if cn else ""

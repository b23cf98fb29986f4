"""Fixtures shared by the service's tests."""

from __future__ import annotations

import base64

import pytest


@pytest.fixture(scope="module")
def sendgrid_key() -> tuple[object, str]:
    """A P-256 key pair as SendGrid signs its event webhook: the private key, and the
    public key as the base64 DER that SendGrid's settings page shows."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, base64.b64encode(public).decode()

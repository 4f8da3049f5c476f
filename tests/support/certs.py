"""Throwaway TLS material for loopback tests (trustme: a private CA per test run).

>>> material = tls_material()
>>> server_ctx = material.server_context()   # give to a loopback TLS server
>>> client_ctx = material.client_context()   # a client context that trusts the private CA
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import lru_cache

import trustme

__all__ = ["TLSMaterial", "tls_material"]


@dataclass(frozen=True)
class TLSMaterial:
    ca: trustme.CA
    server_cert: trustme.LeafCert

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context (hostname check on) that trusts only the test CA."""
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


@lru_cache(maxsize=1)
def tls_material() -> TLSMaterial:
    # Key generation is the slow part; one CA and leaf per test session is enough.
    ca = trustme.CA()
    return TLSMaterial(ca=ca, server_cert=ca.issue_cert("127.0.0.1", "localhost"))

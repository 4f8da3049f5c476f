"""Behaviour that differs between the supported Pythons (3.10 to 3.13) and must not.

TLS: 3.13's ``ssl.create_default_context()`` turns on ``VERIFY_X509_STRICT``; the contexts the
adapters build must keep it (never weaker than the stdlib default), and the test certificates must
pass it on every version so the TLS tests mean the same thing everywhere.
"""

from __future__ import annotations

import ssl
import sys
import warnings

import pytest

import oairt_anyio
import oairt_trio
from oairt_core._driver import plan_connection
from tests.support.certs import tls_material


def _default_contexts() -> dict[str, ssl.SSLContext]:
    """Every TLS context the library builds when the user passes none."""
    from oairt_anyio._backend import BACKEND as ANYIO_BACKEND
    from oairt_trio._backend import BACKEND as TRIO_BACKEND

    options = {"api_key": "sk-test", "base_url": "wss://example.invalid/v1", "model": "m"}
    ws = plan_connection(options, {}, default_ssl=ANYIO_BACKEND.default_ssl_context)
    ws_trio = plan_connection(options, {}, default_ssl=TRIO_BACKEND.default_ssl_context)
    assert ws.ssl_context is not None and ws_trio.ssl_context is not None
    rest_anyio = oairt_anyio.RealtimeRestClient("sk-test", base_url="https://example.invalid/v1")
    rest_trio = oairt_trio.RealtimeRestClient("sk-test", base_url="https://example.invalid/v1")
    return {
        "websocket-anyio": ws.ssl_context,
        "websocket-trio": ws_trio.ssl_context,
        "rest-anyio": rest_anyio.ssl_context(),
        "rest-trio": rest_trio.ssl_context(),
    }


@pytest.mark.parametrize("which", ["websocket-anyio", "websocket-trio", "rest-anyio", "rest-trio"])
def test_default_tls_context_is_as_strict_as_the_stdlib_default(which: str) -> None:
    ctx = _default_contexts()[which]
    stdlib = ssl.create_default_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    # Every verification flag the running Python turns on by default stays on.
    assert ctx.verify_flags & stdlib.verify_flags == stdlib.verify_flags
    assert ctx.minimum_version >= stdlib.minimum_version
    if sys.version_info >= (3, 13):
        assert ctx.verify_flags & ssl.VERIFY_X509_STRICT
        assert ctx.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, hostname: str) -> None:
    """A full TLS handshake in memory (no sockets); raises the client's verification error."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):  # a TLS 1.3 handshake needs 2-3 flights; 20 bounds a broken peer
        for name, side in (("c", c), ("s", s)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done["c"] and done["s"]:
            return
    raise AssertionError("handshake did not finish")


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_test_certificates_pass_strict_x509_verification_on_every_python(hostname: str) -> None:
    material = tls_material()
    client = material.client_context()
    # Explicitly strict even before 3.13, where it is not the default: OpenSSL has the flag on all
    # supported versions, so a certificate 3.13 would refuse fails here on 3.10 too.
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    _handshake(client, material.server_context(), hostname)


def test_strict_verification_refuses_a_certificate_from_another_ca() -> None:
    # The handshake helper must be able to fail, or the test above proves nothing.
    import trustme

    other = trustme.CA()
    client = ssl.create_default_context()
    other.configure_trust(client)
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(client, tls_material().server_context(), "localhost")


def test_g711_oracle_is_importable_on_every_supported_python() -> None:
    # The G.711 cross-check in test_audio.py uses the stdlib audioop; 3.13 removed it and the dev
    # extra installs audioop-lts (the same C code) there, so the cross-check never silently skips.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.11-3.12 warn on import
        import audioop

    assert audioop.lin2ulaw(b"\x00\x00", 2) == b"\xff"


def test_supported_versions_agree_everywhere() -> None:
    # README, classifiers, the Makefile's lock list, CI's loop and the constraints files name the
    # same Pythons, so adding 3.14 cannot be done in one place and forgotten in another.
    import re
    from pathlib import Path

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    root = Path(__file__).resolve().parent.parent
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    prefix = "Programming Language :: Python :: "
    classified = [
        c.removeprefix(prefix)
        for c in pyproject["project"]["classifiers"]
        if re.fullmatch(r"3\.\d+", c.removeprefix(prefix))
    ]
    expected = ["3.10", "3.11", "3.12", "3.13"]
    assert classified == expected
    assert pyproject["project"]["requires-python"] == ">=3.10"
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    listed = re.search(r"^SUPPORTED_PYTHONS := (.*)$", makefile, re.M)
    assert listed is not None and listed[1].split() == expected
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert f'VERSIONS=${{OAIRT_CI_PYTHONS:-"{" ".join(expected)}"}}' in ci
    locks = sorted(p.name for p in (root / "constraints").glob("py3.*.txt"))
    assert locks == [f"py{v}.txt" for v in expected]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "Supported Pythons: 3.10, 3.11, 3.12 and 3.13" in readme

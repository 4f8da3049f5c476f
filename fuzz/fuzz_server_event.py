"""atheris: decode_server_event must return an event or raise RemoteProtocolError.

.venv/bin/python -m fuzz.fuzz_server_event -runs=200000 -max_len=65536
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["oairt_core", "msgspec"]):
    from oairt_core.codec import decode_server_event
    from oairt_core.errors import RemoteProtocolError

from fuzz._common import structured
from fuzz.corpus import SERVER_EVENT_SEEDS


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    payload = structured(fdp, SERVER_EVENT_SEEDS)
    try:
        decode_server_event(payload)
    except RemoteProtocolError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

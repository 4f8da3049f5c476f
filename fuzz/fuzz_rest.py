"""atheris: the REST response parser (h11) and the typed parsers on top.

Only ``RemoteProtocolError`` (bad HTTP, too big) and ``APIError`` (non-2xx) come out.

    .venv/bin/python -m fuzz.fuzz_rest -runs=100000 -max_len=65536
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["oairt_core", "h11"]):
    from oairt_core.errors import APIError, RemoteProtocolError
    from oairt_core.rest import (
        NEED_DATA,
        NeedData,
        RestConfig,
        RestConnection,
        RestResponse,
        build_hangup_call,
        parse_call_answer,
        parse_client_secret,
        parse_empty_response,
    )

from fuzz._common import structured
from fuzz.corpus import REST_SEEDS

_REQUEST = build_hangup_call(RestConfig("sk-fuzz-0123456789"), "rtc_1")
_PARSERS = (parse_client_secret, parse_call_answer, parse_empty_response)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    payload = structured(fdp, REST_SEEDS)
    conn = RestConnection(max_response_size=1 << 16)
    conn.send_request(_REQUEST)
    try:
        pos = 0
        response: RestResponse | NeedData = NEED_DATA
        while response is NEED_DATA:
            step = fdp.ConsumeIntInRange(1, 2048) if fdp.remaining_bytes() else len(payload) + 1
            piece = payload[pos : pos + step]
            pos += step
            conn.receive_data(piece)
            response = conn.next_response()
            if not piece:
                break
    except RemoteProtocolError:
        return
    if isinstance(response, NeedData):
        return
    for parse in _PARSERS:
        try:
            parse(response)
        except (APIError, RemoteProtocolError):
            pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""REST helpers (WebRTC/SIP): post a raw SDP offer, capture the call_id, hang up.

The seed's ``RealtimeRestAdapter`` is ``oairt_anyio.RealtimeRestClient`` (``oairt_trio`` has
the same class). ``base_url`` may be the WebSocket URL: the REST client swaps the scheme.
"""

from __future__ import annotations

import anyio

import oairt_anyio

OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
)


async def main(base_url: str | None, api_key: str) -> str | None:
    async with oairt_anyio.RealtimeRestClient(api_key, base_url=base_url) as rest:
        # WebRTC (raw SDP) + call_id capture; `session=...` would send the multipart form.
        answer = await rest.create_call(OFFER)
        print("call_id:", answer.call_id)
        # Hang up
        if answer.call_id is not None:
            await rest.hangup_call(answer.call_id)
    return answer.call_id


async def run() -> str | None:
    from _voice_support import endpoint

    async with endpoint() as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)

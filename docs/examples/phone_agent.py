"""A phone agent: Twilio streams each call here, a voice agent with a typed tool answers.

Run ``OPENAI_API_KEY=sk-... python phone_agent.py``, expose port 8080 as ``wss://`` and
point your number's TwiML at it (see docs/phone.md).
"""

from __future__ import annotations

from typing import Any

import anyio
import msgspec

from oairt_anyio.phone import PhoneCall, serve_twilio
from oairt_core.tools import tool
from oairt_core.twilio import CallStarted, DtmfReceived
from oairt_core.voice import VoiceConfig


class Order(msgspec.Struct):
    order_id: str


@tool(description="Look up the status of an order.")
async def order_status(order: Order) -> dict[str, str]:
    return {"order_id": order.order_id, "status": "shipped"}


async def on_event(call: PhoneCall, event: Any) -> None:
    if isinstance(event, CallStarted):
        await call.session.create_response()  # the agent greets the caller
    elif isinstance(event, DtmfReceived) and event.digit == "0":
        await call.session.send_text("(The caller pressed 0: offer a human.)")


async def main(port: int = 8080, **options: Any) -> None:
    config = VoiceConfig(instructions="You answer calls for Acme. Be brief.", tools=(order_status,))
    await serve_twilio(config, port=port, on_event=on_event, **options)


if __name__ == "__main__":
    anyio.run(main)

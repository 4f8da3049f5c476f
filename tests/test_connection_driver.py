"""oairt_core._driver without any I/O: the decisions both adapters share."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from oairt_core._driver import (
    ConnectionDriver,
    ConnectionPlan,
    OpenConnection,
    RestDriver,
    connect_error,
    plan_connection,
)
from oairt_core.connection import NEED_DATA, ConnectionClosed
from oairt_core.errors import (
    APIError,
    ConnectError,
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
    RequestOutcomeUnknown,
)
from oairt_core.events import InputAudioBufferClearedEvent, InputAudioBufferClearEvent
from oairt_core.rest import (
    PROBE_CONNECTION,
    RestConfig,
    RestRequest,
    RestResponse,
    build_hangup_call,
    build_refer_call,
)

KEY = "sk-test-DRIVER-abcdefghijklmnop"
ENV = {"OPENAI_API_KEY": KEY}


def plan_connection_(options: dict[str, Any], environ: dict[str, str]) -> ConnectionPlan:
    """``plan_connection`` with the system's TLS context as the adapters pass it."""
    return plan_connection(options, environ, default_ssl=ssl.create_default_context)


CLEARED = '{"type":"input_audio_buffer.cleared","event_id":"e1"}'


# -- planning -----------------------------------------------------------------------


def test_plan_defaults_from_the_environment() -> None:
    plan = plan_connection_(
        {"model": "gpt-realtime"}, {**ENV, "OAIRT_BASE_URL": "http://127.0.0.1:9/v1"}
    )
    assert plan.driver.core.url == "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime"
    assert (plan.host, plan.port, plan.ssl_context) == ("127.0.0.1", 9, None)
    assert (plan.connect_timeout, plan.close_timeout, plan.write_timeout) == (30.0, 2.0, 30.0)
    assert plan.max_buffered_events == 256
    assert KEY not in repr(plan.driver.core)


def test_plan_explicit_options_win() -> None:
    plan = plan_connection_(
        {
            "api_key": "sk-test-explicit-1234567",
            "model": "m",
            "base_url": "wss://gw.example.test/v1",
            "connect_timeout": None,
            "write_timeout": 1.5,
            "max_buffered_events": 4,
        },
        {"OPENAI_API_KEY": "", "OAIRT_BASE_URL": "ws://127.0.0.1:9/v1"},
    )
    assert plan.host == "gw.example.test" and plan.port == 443
    assert plan.ssl_context is not None and plan.ssl_context.check_hostname
    assert (plan.connect_timeout, plan.write_timeout, plan.max_buffered_events) == (None, 1.5, 4)


def test_plan_refuses_missing_key_and_unknown_options() -> None:
    with pytest.raises(LocalProtocolError, match="OPENAI_API_KEY"):
        plan_connection_({"model": "m"}, {})
    with pytest.raises(TypeError, match="modle"):
        plan_connection_({"modle": "m"}, ENV)
    with pytest.raises(LocalProtocolError):
        plan_connection_({"model": "m", "ssl": False}, ENV)  # wss:// without TLS


def test_plan_timeout_error_names_the_endpoint() -> None:
    plan = plan_connection_({"model": "m", "connect_timeout": 3.0}, ENV)
    error = plan.timeout_error()
    assert isinstance(error, TimeoutError)
    assert "api.openai.com:443" in str(error) and "3.0 s" in str(error)


# -- connect errors -----------------------------------------------------------------


def _wrapped(inner: BaseException) -> Exception:
    # How trio reports a TLS failure: BrokenResourceError raised from the ssl error.
    outer = RuntimeError("broken")
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (socket.gaierror(-2, "Name or service not known"), "DNS lookup failed"),
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (OSError(113, "No route to host"), "TCP connection failed (No route to host)"),
        (_wrapped(ssl.SSLCertVerificationError(1, "bad cert")), "TLS certificate verification"),
        (_wrapped(ssl.SSLError(1, "wrong version")), "TLS handshake failed"),
        (
            OSError("all attempts failed").with_traceback(None),
            "TCP connection failed",
        ),
    ],
)
def test_connect_error_names_endpoint_and_kind(exc: BaseException, kind: str) -> None:
    error = connect_error("example.test", 8443, exc)
    assert isinstance(error, ConnectionClosedError) and error.code == 1006
    assert "example.test:8443" in str(error) and kind in str(error)
    assert error.__cause__ is exc


class _Group(Exception):
    """Shaped like an ExceptionGroup (a builtin only from Python 3.11)."""

    def __init__(self, exceptions: list[BaseException]) -> None:
        super().__init__("attempts")
        self.exceptions = tuple(exceptions)


def test_connect_error_finds_the_cause_inside_an_exception_group() -> None:
    # trio: OSError("all attempts to connect ... failed") from a group of per-address errors.
    outer = OSError("all attempts to connect failed")
    outer.__cause__ = _Group([ConnectionRefusedError(111, "refused")])
    assert "connection refused" in str(connect_error("h", 1, outer))


# -- the WebSocket driver -----------------------------------------------------------


def opened(**options: object) -> tuple[ConnectionDriver, WSConnection]:
    driver = plan_connection_({"model": "m", **options}, ENV).driver
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(driver.initiate())
    assert isinstance(next(server.events()), Request)
    assert driver.handshake_done() is False
    driver.receive_data(server.send(AcceptConnection()))
    assert driver.handshake_done() is True
    return driver, server


def test_handshake_rejection_raises_the_handshake_error() -> None:
    driver = plan_connection_({"model": "m"}, ENV).driver
    driver.initiate()
    driver.receive_data(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n")
    with pytest.raises(Exception, match="401"):
        driver.handshake_done()


def test_events_then_the_end() -> None:
    driver, server = opened()
    driver.receive_data(server.send(TextMessage(data=CLEARED)))
    assert isinstance(driver.next_step(), InputAudioBufferClearedEvent)
    assert driver.next_step() is NEED_DATA
    driver.receive_data(None)
    end = driver.next_step()
    assert isinstance(end, ConnectionClosed) and end.code == 1006
    assert driver.closed is end and not driver.iteration_ends_quietly
    assert isinstance(driver.end_error(), ConnectionClosedError)
    with pytest.raises(ConnectionClosedError):
        driver.frame_event(InputAudioBufferClearEvent())
    assert driver.frame_close(1000, "") == b""


def test_discarded_events_are_dropped_but_the_end_still_comes() -> None:
    driver, server = opened()
    driver.discard_events()
    driver.receive_data(server.send(TextMessage(data=CLEARED)))
    assert driver.next_step() is NEED_DATA
    driver.receive_data(None)
    assert isinstance(driver.next_step(), ConnectionClosed)


def test_local_close_ends_iteration_quietly() -> None:
    driver, server = opened()
    server.receive_data(driver.frame_close(1000, "done"))
    driver.receive_data(server.send(next(iter(server.events())).response()))  # type: ignore[attr-defined]
    end = driver.next_step()
    assert isinstance(end, ConnectionClosed) and end.initiated_locally
    assert driver.iteration_ends_quietly


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("cancelled", "a send was cancelled part-way"),
        ("timeout", "write timed out"),
        ("lost", "connection lost while sending"),
    ],
)
def test_a_failed_write_aborts_and_every_later_operation_says_why(kind: str, reason: str) -> None:
    driver, _ = opened()
    error = driver.write_failed(kind)  # type: ignore[arg-type]
    assert error.code == 1006 and reason in error.reason
    with pytest.raises(ConnectionClosedError, match=reason):
        driver.frame_event(InputAudioBufferClearEvent())
    with pytest.raises(ConnectionClosedError, match=reason):
        driver.check_writable(False)
    assert driver.frame_close(1000, "") == b""
    # The adapter closed its transport; the reader reports the loss with the reason.
    closed = driver.reader_finished()
    assert closed.code == 1006 and reason in closed.reason and not closed.normal
    with pytest.raises(ConnectionClosedError, match=reason):
        raise driver.end_error()


def test_a_closed_transport_refuses_writes() -> None:
    driver, _ = opened()
    driver.check_writable(False)
    with pytest.raises(ConnectionClosedError, match="aborted"):
        driver.check_writable(True)


# -- the REST driver ----------------------------------------------------------------

CONFIG = RestConfig(KEY, base_url="http://127.0.0.1:9/v1")
REQUEST = build_hangup_call(CONFIG, "rtc_1")
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


def exchange(driver: RestDriver, reply: bytes) -> RestResponse:
    """One request through the driver; ``reply`` is what the server answers."""
    driver.begin(REQUEST)
    while True:
        step = driver.next_step()
        if isinstance(step, OpenConnection):
            driver.opened()
        elif step is PROBE_CONNECTION:
            driver.probed(False)  # the idle kept-alive connection is still open
        elif isinstance(step, bytes):
            assert step.startswith(b"POST /v1/realtime/calls/rtc_1/hangup ")
        elif step is NEED_DATA:
            driver.receive_data(reply)
        else:
            assert isinstance(step, RestResponse)
            return step


def test_rest_keep_alive_reuses_one_connection() -> None:
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    for _ in range(3):
        assert exchange(driver, OK).status_code == 200
        assert driver.keep_transport
    assert driver.connections_opened == 1


def test_rest_connection_close_opens_a_new_connection_next_time() -> None:
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    close = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
    exchange(driver, close)
    assert not driver.keep_transport
    exchange(driver, OK)
    assert driver.connections_opened == 2


def test_rest_reconnects_when_the_probe_finds_the_idle_connection_closed() -> None:
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    exchange(driver, OK)
    driver.begin(REQUEST)
    assert driver.next_step() is PROBE_CONNECTION  # before writing on the kept-alive one
    driver.probed(True)  # the server closed it: nothing was written, nothing is lost
    assert isinstance(driver.next_step(), OpenConnection)
    driver.opened()
    assert isinstance(driver.next_step(), bytes)  # no second probe on a fresh connection
    driver.receive_data(OK)
    assert isinstance(driver.next_step(), RestResponse)
    assert driver.connections_opened == 2


def test_rest_never_resends_a_post_the_server_may_have_read() -> None:
    # Issue 13.6: the server read the request on a kept-alive connection, then closed it.
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    exchange(driver, OK)
    refer = build_refer_call(CONFIG, "rtc_1", "tel:+15550100")
    driver.begin(refer)
    assert driver.next_step() is PROBE_CONNECTION
    driver.probed(False)
    assert isinstance(driver.next_step(), bytes)  # written on the kept-alive connection
    driver.receive_data(b"")
    with pytest.raises(RemoteProtocolError) as raised:
        driver.next_step()
    with pytest.raises(RequestOutcomeUnknown, match="connection lost during POST") as info:
        driver.transport_failed(raised.value)
    assert (info.value.method, info.value.target) == ("POST", refer.target)
    assert "may or may not have processed it" in str(info.value)
    # Not armed for a resend: the next request starts afresh and opens a new connection.
    assert exchange(driver, OK).status_code == 200
    assert driver.connections_opened == 2


def test_rest_resends_an_idempotent_request_once_after_a_kept_alive_drop() -> None:
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    exchange(driver, OK)
    get = RestRequest("GET", "/v1/models", CONFIG.headers(), b"")
    driver.begin(get)
    driver.next_step()
    driver.probed(False)
    assert isinstance(driver.next_step(), bytes)
    driver.transport_failed(BrokenPipeError())  # RFC 9110 9.2.2: a GET may be repeated
    assert isinstance(driver.next_step(), OpenConnection)
    driver.opened()
    assert isinstance(driver.next_step(), bytes)
    with pytest.raises(RequestOutcomeUnknown):  # a fresh connection: once only
        driver.transport_failed(BrokenPipeError())


def test_rest_does_not_resend_on_a_fresh_connection_or_after_a_response_byte() -> None:
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    driver.begin(REQUEST)
    assert isinstance(driver.next_step(), OpenConnection)
    driver.opened()
    driver.next_step()
    with pytest.raises(RemoteProtocolError, match="connection lost during POST"):
        driver.transport_failed(ConnectionResetError())
    exchange(driver, OK)
    driver.begin(REQUEST)
    assert driver.next_step() is PROBE_CONNECTION
    driver.probed(False)
    assert isinstance(driver.next_step(), bytes)
    driver.receive_data(b"HTTP/1.1 2")
    with pytest.raises(RemoteProtocolError):
        driver.transport_failed(ConnectionResetError())


def test_rest_maps_connect_failures_and_keeps_protocol_errors() -> None:
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    driver.begin(REQUEST)
    assert driver.next_step() == OpenConnection("127.0.0.1", 9, False)
    with pytest.raises(ConnectError, match="127.0.0.1:9: connection refused"):
        driver.transport_failed(ConnectionRefusedError(111, "refused"))
    driver.begin(REQUEST)
    driver.next_step()
    driver.opened()
    driver.next_step()
    driver.receive_data(b"garbage\r\n\r\n")  # the server answered, with something malformed
    original = RemoteProtocolError("invalid HTTP response")
    with pytest.raises(RemoteProtocolError) as info:
        driver.transport_failed(original)
    assert info.value is original


def test_rest_timeout_error_names_the_request() -> None:
    driver = RestDriver(CONFIG, max_response_size=1 << 20)
    error = driver.timeout_error(REQUEST, 5.0)
    assert isinstance(error, TimeoutError) and "POST /v1/realtime/calls/rtc_1/hangup" in str(error)
    assert not isinstance(error, APIError)

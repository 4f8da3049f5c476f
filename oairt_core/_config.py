"""Voice session configuration: a frozen :class:`VoiceConfig` and a fluent builder.

Two spellings of the same thing. The keyword form::

    >>> from oairt_core._config import VoiceConfig, server_vad
    >>> cfg = VoiceConfig(api_key="sk-test-123456789", voice="alloy", output_modality="audio",
    ...                   turn_detection=server_vad(), transcription="gpt-4o-transcribe")
    >>> cfg.api_key
    Secret('sk-...6789')

and the builder that mirrors the seed SDK::

    >>> cfg2 = (Realtime.builder().api_key("sk-test-123456789").model("gpt-realtime")
    ...         .voice_session().voice("alloy").vad_server_default()
    ...         .transcription("gpt-4o-transcribe").auto_barge_in(True).build())
    >>> cfg2 == cfg
    True

``cfg.session_update()`` gives the validated ``session.update`` event;
invalid combinations raise :class:`~oairt_core.errors.InvalidClientEvent` naming
the field and the rule before anything is sent. ``cfg.diff(new_cfg)`` gives the
``session.update`` that changes only what differs (live re-configuration).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

import msgspec

from ._redact import Secret
from ._validation import validate_client_event
from .errors import InvalidArgumentType, InvalidClientEvent
from .events import SessionUpdateEvent
from .models import (
    AudioConfig,
    AudioInputConfig,
    AudioOutputConfig,
    FunctionTool,
    InputTranscription,
    McpTool,
    NoiseReduction,
    PCMAFormat,
    PCMFormat,
    PCMUFormat,
    RealtimeSessionConfig,
    SemanticVad,
    ServerVad,
    TranscriptionAudioConfig,
    TranscriptionSessionConfig,
)
from .tools import ToolRegistry, TypedTool
from .tools import tool as _make_tool

if TYPE_CHECKING:
    from ._voice_events import McpApprovalRequest

__all__ = [
    "ApprovalCallback",
    "AudioFormatName",
    "Realtime",
    "RealtimeBuilder",
    "VoiceConfig",
    "mcp_tool",
    "semantic_vad",
    "server_vad",
]

AudioFormatName = Literal["pcm", "pcmu", "pcma"]
"""``"pcm"`` = ``audio/pcm`` 24 kHz PCM16; ``"pcmu"``/``"pcma"`` = G.711 u-law/A-law 8 kHz."""

ApprovalResult: TypeAlias = bool | tuple[bool, str | None]
ApprovalCallback = Callable[["McpApprovalRequest"], ApprovalResult | Awaitable[ApprovalResult]]
"""``(request) -> bool | (bool, reason)``, sync or async: answers MCP approval requests."""

_FORMAT_ALIASES: dict[str, AudioFormatName] = {
    "pcm": "pcm",
    "pcm16": "pcm",
    "audio/pcm": "pcm",
    "pcmu": "pcmu",
    "g711_ulaw": "pcmu",
    "ulaw": "pcmu",
    "audio/pcmu": "pcmu",
    "pcma": "pcma",
    "g711_alaw": "pcma",
    "alaw": "pcma",
    "audio/pcma": "pcma",
}

_NOISE = ("near_field", "far_field")

# Fields that only steer the client-side session and never go to the server.
_LOCAL_FIELDS = frozenset(
    {"api_key", "auto_barge_in", "auto_tool_response", "mcp_approval", "base_url"}
)


def _format_name(value: str, fieldname: str) -> AudioFormatName:
    try:
        return _FORMAT_ALIASES[value.lower()]
    except (KeyError, AttributeError):
        raise InvalidClientEvent(
            fieldname, "must be one of 'pcm' (24 kHz PCM16), 'pcmu' (G.711 u-law), 'pcma' (A-law)"
        ) from None


def _format_struct(name: AudioFormatName) -> PCMFormat | PCMUFormat | PCMAFormat:
    if name == "pcm":
        return PCMFormat(rate=24000)
    if name == "pcmu":
        return PCMUFormat()
    return PCMAFormat()


def server_vad(
    *,
    threshold: float | None = None,
    prefix_padding_ms: int | None = None,
    silence_duration_ms: int | None = None,
    idle_timeout_ms: int | None = None,
    create_response: bool | None = None,
    interrupt_response: bool | None = None,
) -> ServerVad:
    """Server VAD; parameters left ``None`` keep the server's defaults.

    >>> server_vad(silence_duration_ms=300).silence_duration_ms
    300
    """
    kw: dict[str, Any] = {
        "threshold": threshold,
        "prefix_padding_ms": prefix_padding_ms,
        "silence_duration_ms": silence_duration_ms,
        "idle_timeout_ms": idle_timeout_ms,
        "create_response": create_response,
        "interrupt_response": interrupt_response,
    }
    return ServerVad(**{k: v for k, v in kw.items() if v is not None})


def semantic_vad(
    eagerness: Literal["low", "medium", "high", "auto"] | None = None,
    *,
    create_response: bool | None = None,
    interrupt_response: bool | None = None,
) -> SemanticVad:
    """Semantic VAD with an eagerness (``low``/``medium``/``high``/``auto``)."""
    kw: dict[str, Any] = {
        "eagerness": eagerness,
        "create_response": create_response,
        "interrupt_response": interrupt_response,
    }
    return SemanticVad(**{k: v for k, v in kw.items() if v is not None})


def mcp_tool(
    server_label: str,
    *,
    server_url: str | None = None,
    connector_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    authorization: str | None = None,
    allowed_tools: Sequence[str] | None = None,
    require_approval: Any = None,
    server_description: str | None = None,
) -> McpTool:
    """An MCP tool entry (exactly one of ``server_url`` / ``connector_id``).

    ``require_approval`` is ``"always"``, ``"never"`` or the GA filter object.

    >>> mcp_tool("weather", server_url="https://mcp.example.com",
    ...          require_approval="always").server_label
    'weather'
    """
    if (server_url is None) == (connector_id is None):
        raise InvalidClientEvent(
            "tools.mcp", "exactly one of server_url or connector_id must be given"
        )
    kw: dict[str, Any] = {
        "server_label": server_label,
        "server_url": server_url,
        "connector_id": connector_id,
        "headers": dict(headers) if headers is not None else None,
        "authorization": authorization,
        "allowed_tools": list(allowed_tools) if allowed_tools is not None else None,
        "require_approval": require_approval,
        "server_description": server_description,
    }
    return McpTool(**{k: v for k, v in kw.items() if v is not None})


_B = TypeVar("_B", bound="RealtimeBuilder")

ToolSpec: TypeAlias = TypedTool[Any, Any] | FunctionTool | McpTool


@dataclass(frozen=True)
class VoiceConfig:
    """Everything a voice session needs, one keyword per option.

    ``msgspec.UNSET`` (the default for server-side options) means "leave the
    server default"; ``None`` means "off" where the server allows turning a
    feature off (``turn_detection=None`` is push-to-talk, the app commits).

    - ``kind``: ``"realtime"`` (a voice or text agent) or ``"transcription"``
      (transcription only: input audio, transcription, VAD, noise reduction).
    - ``output_modality``: ``"audio"`` (spoken replies with transcripts) or ``"text"``.
    - ``transcription``: a model name or an ``InputTranscription``; with
      ``transcription_language``/``transcription_prompt``.
    - ``input_format``/``output_format``: ``"pcm"``, ``"pcmu"``, ``"pcma"``.
    - ``tools``: typed tools (functions made with :func:`oairt_core.tools.tool`),
      raw ``FunctionTool`` (answer with ``session.tool_finished``) or ``McpTool``.
    - ``auto_barge_in``: interrupt the assistant when VAD hears the user.
    - ``auto_tool_response``: send ``response.create`` after tool outputs and
      MCP approvals.
    - ``mcp_approval``: callback answering MCP approval requests.
    """

    api_key: Secret | None = None
    model: str = "gpt-realtime"
    kind: Literal["realtime", "transcription"] = "realtime"
    voice: str | msgspec.UnsetType = msgspec.UNSET
    instructions: str | msgspec.UnsetType = msgspec.UNSET
    output_modality: Literal["audio", "text"] | msgspec.UnsetType = msgspec.UNSET
    turn_detection: ServerVad | SemanticVad | None | msgspec.UnsetType = msgspec.UNSET
    transcription: str | InputTranscription | None | msgspec.UnsetType = msgspec.UNSET
    transcription_language: str | None = None
    transcription_prompt: str | None = None
    noise_reduction: Literal["near_field", "far_field"] | None | msgspec.UnsetType = msgspec.UNSET
    input_format: AudioFormatName = "pcm"
    output_format: AudioFormatName = "pcm"
    speed: float | msgspec.UnsetType = msgspec.UNSET
    max_output_tokens: int | Literal["inf"] | msgspec.UnsetType = msgspec.UNSET
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Any = msgspec.UNSET
    tracing: Any = msgspec.UNSET
    truncation: Any = msgspec.UNSET
    auto_barge_in: bool = True
    auto_tool_response: bool = True
    mcp_approval: ApprovalCallback | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Normalise friendly inputs so equal configurations compare equal.
        if self.api_key is not None and not isinstance(self.api_key, Secret):
            if not isinstance(self.api_key, str):
                raise InvalidArgumentType(
                    f"api_key must be a str, got {type(self.api_key).__name__}"
                )
            object.__setattr__(self, "api_key", Secret(self.api_key))
        object.__setattr__(self, "input_format", _format_name(self.input_format, "input_format"))
        object.__setattr__(self, "output_format", _format_name(self.output_format, "output_format"))
        if not isinstance(self.tools, tuple):
            object.__setattr__(self, "tools", tuple(self.tools))
        if self.noise_reduction not in (msgspec.UNSET, None, *_NOISE):
            raise InvalidClientEvent("noise_reduction", "must be 'near_field', 'far_field' or None")
        if self.kind not in ("realtime", "transcription"):
            raise InvalidClientEvent("kind", "must be 'realtime' or 'transcription'")
        # The rules the builder and session.update apply, at construction: a mistake
        # (speed=3, output_modality="both") fails where it is made, not at connect.
        self.to_session_config()

    # -- derived views -------------------------------------------------------

    def registry(self) -> ToolRegistry:
        """The typed tools of this configuration as a registry."""
        return ToolRegistry([t for t in self.tools if isinstance(t, TypedTool)])

    def manual_function_names(self) -> frozenset[str]:
        """Names of raw ``FunctionTool`` entries: the app answers those calls itself."""
        return frozenset(
            t.name for t in self.tools if isinstance(t, FunctionTool) and isinstance(t.name, str)
        )

    def to_session_config(self) -> RealtimeSessionConfig | TranscriptionSessionConfig:
        """The GA ``session`` object (validated as part of a ``session.update``)."""
        session = self._build_session()
        validate_client_event(SessionUpdateEvent(session=session))
        return session

    def session_update(self) -> SessionUpdateEvent:
        """The validated ``session.update`` that sets up this configuration."""
        return SessionUpdateEvent(session=self.to_session_config())

    def replace(self, **changes: Any) -> VoiceConfig:
        """A copy with ``changes`` applied (same keywords as the constructor)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown VoiceConfig option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def diff(self, new: VoiceConfig) -> SessionUpdateEvent | None:
        """The ``session.update`` that turns this configuration into ``new``.

        Only fields that changed are sent; a feature switched off is sent as its
        GA "clear" value (``null`` for objects, ``""`` for strings, ``[]`` for
        lists). Returns ``None`` when nothing the server knows about changed.
        """
        if new.kind != self.kind:
            raise InvalidClientEvent("session.type", "cannot change once the session started")
        if new.model != self.model:
            raise InvalidClientEvent("session.model", "cannot change once the session started")
        old_s = self._build_session()
        new_s = new._build_session()
        changed = _struct_diff(old_s, new_s)
        if changed is None:
            return None
        event = SessionUpdateEvent(session=changed)
        validate_client_event(event)
        return event

    # -- building ------------------------------------------------------------

    def _transcription(self) -> InputTranscription | None | msgspec.UnsetType:
        t = self.transcription
        if t is msgspec.UNSET or t is None:
            return t
        if isinstance(t, str):
            kw: dict[str, Any] = {"model": t}
            if self.transcription_language is not None:
                kw["language"] = self.transcription_language
            if self.transcription_prompt is not None:
                kw["prompt"] = self.transcription_prompt
            return InputTranscription(**kw)
        return t

    def _audio_input(self) -> AudioInputConfig:
        nr: NoiseReduction | None | msgspec.UnsetType = msgspec.UNSET
        if self.noise_reduction is None:
            nr = None
        elif self.noise_reduction is not msgspec.UNSET:
            nr = NoiseReduction(type=self.noise_reduction)
        return AudioInputConfig(
            format=_format_struct(self.input_format),
            noise_reduction=nr,
            transcription=self._transcription(),
            turn_detection=self.turn_detection,
        )

    def _build_session(self) -> RealtimeSessionConfig | TranscriptionSessionConfig:
        if self.kind == "transcription":
            return self._build_transcription()
        tools = [t.to_function_tool() if isinstance(t, TypedTool) else t for t in self.tools]
        return RealtimeSessionConfig(
            model=self.model,
            instructions=self.instructions,
            output_modalities=(
                msgspec.UNSET if self.output_modality is msgspec.UNSET else [self.output_modality]
            ),
            audio=AudioConfig(
                input=self._audio_input(),
                output=AudioOutputConfig(
                    format=_format_struct(self.output_format),
                    voice=self.voice,
                    speed=self.speed,
                ),
            ),
            tools=tools if tools else msgspec.UNSET,
            tool_choice=self.tool_choice,
            tracing=self.tracing,
            truncation=self.truncation,
            max_output_tokens=self.max_output_tokens,
        )

    def _build_transcription(self) -> TranscriptionSessionConfig:
        # Rules of a transcription-only session: it has no output side at all.
        realtime_only = {
            "voice": self.voice,
            "instructions": self.instructions,
            "output_modality": self.output_modality,
            "speed": self.speed,
            "max_output_tokens": self.max_output_tokens,
            "tool_choice": self.tool_choice,
            "tracing": self.tracing,
            "truncation": self.truncation,
        }
        for name, value in realtime_only.items():
            if value is not msgspec.UNSET:
                raise InvalidClientEvent(name, "not allowed in a transcription-only session")
        if self.tools:
            raise InvalidClientEvent("tools", "not allowed in a transcription-only session")
        if self.output_format != "pcm":
            raise InvalidClientEvent("output_format", "not allowed in a transcription-only session")
        if self.transcription is msgspec.UNSET or self.transcription is None:
            raise InvalidClientEvent(
                "transcription", "a transcription-only session needs a transcription model"
            )
        return TranscriptionSessionConfig(audio=TranscriptionAudioConfig(input=self._audio_input()))


def _clear_value(old: Any) -> Any:
    if isinstance(old, str):
        return ""
    if isinstance(old, list):
        return []
    return None


def _struct_diff(old: Any, new: Any) -> Any:
    """The sparse struct holding the fields of ``new`` that differ from ``old``."""
    changes: dict[str, Any] = {}
    for name in new.__struct_fields__:
        if name == "type":
            continue
        a, b = getattr(old, name), getattr(new, name)
        if a == b:
            continue
        if b is msgspec.UNSET:
            changes[name] = _clear_value(a)
        elif (
            isinstance(a, msgspec.Struct)
            and isinstance(b, msgspec.Struct)
            and type(a) is type(b)
            and name in ("audio", "input", "output")
        ):
            sub = _struct_diff(a, b)
            if sub is not None:
                changes[name] = sub
        else:
            changes[name] = b
    if not changes:
        return None
    return type(new)(**changes)


class RealtimeBuilder:
    """Fluent construction of a :class:`VoiceConfig`, as in the seed SDK.

    Each method sets one option and returns the builder; :meth:`build` makes
    the frozen config (validated). Pass the builder or the config to
    ``oairt_anyio.open_voice`` / ``oairt_trio.open_voice``.
    """

    def __init__(self, config: VoiceConfig | None = None) -> None:
        self._kw: dict[str, Any] = {}
        self._tools: list[ToolSpec] = []
        if config is not None:
            for f in dataclasses.fields(config):
                self._kw[f.name] = getattr(config, f.name)
            self._tools = list(config.tools)

    def _set(self: _B, **kw: Any) -> _B:
        self._kw.update(kw)
        return self

    def api_key(self: _B, key: str | Secret) -> _B:
        """The API key (a ``str`` or :class:`Secret`; anything else is a ``TypeError``)."""
        return self._set(api_key=Secret(key))

    def model(self: _B, model: str) -> _B:
        return self._set(model=model)

    def voice_session(self: _B) -> _B:
        """A speech-to-speech session (audio output)."""
        return self._set(kind="realtime", output_modality="audio")

    def text_session(self: _B) -> _B:
        """A realtime session that answers in text."""
        return self._set(kind="realtime", output_modality="text")

    def transcription_session(self: _B) -> _B:
        """A transcription-only session (no model replies)."""
        return self._set(kind="transcription")

    def voice(self: _B, voice: str) -> _B:
        return self._set(voice=voice)

    def instructions(self: _B, text: str) -> _B:
        return self._set(instructions=text)

    def output_text(self: _B) -> _B:
        return self._set(output_modality="text")

    def output_audio(self: _B) -> _B:
        return self._set(output_modality="audio")

    def vad_server_default(self: _B) -> _B:
        """Server VAD with the server's default parameters."""
        return self._set(turn_detection=server_vad())

    def vad_server(
        self: _B,
        *,
        threshold: float | None = None,
        prefix_padding_ms: int | None = None,
        silence_duration_ms: int | None = None,
        idle_timeout_ms: int | None = None,
        create_response: bool | None = None,
        interrupt_response: bool | None = None,
    ) -> _B:
        return self._set(
            turn_detection=server_vad(
                threshold=threshold,
                prefix_padding_ms=prefix_padding_ms,
                silence_duration_ms=silence_duration_ms,
                idle_timeout_ms=idle_timeout_ms,
                create_response=create_response,
                interrupt_response=interrupt_response,
            )
        )

    def vad_semantic(
        self: _B,
        eagerness: Literal["low", "medium", "high", "auto"] | None = None,
        *,
        create_response: bool | None = None,
        interrupt_response: bool | None = None,
    ) -> _B:
        return self._set(
            turn_detection=semantic_vad(
                eagerness, create_response=create_response, interrupt_response=interrupt_response
            )
        )

    def no_vad(self: _B) -> _B:
        """Push-to-talk: no turn detection; the app calls ``commit()``."""
        return self._set(turn_detection=None)

    push_to_talk = no_vad

    def transcription(
        self: _B, model: str, *, language: str | None = None, prompt: str | None = None
    ) -> _B:
        return self._set(
            transcription=model, transcription_language=language, transcription_prompt=prompt
        )

    def noise_reduction(self: _B, kind: Literal["near_field", "far_field"] | None) -> _B:
        return self._set(noise_reduction=kind)

    def input_format(self: _B, fmt: str) -> _B:
        return self._set(input_format=fmt)

    def output_format(self: _B, fmt: str) -> _B:
        return self._set(output_format=fmt)

    def speed(self: _B, speed: float) -> _B:
        return self._set(speed=speed)

    def max_output_tokens(self: _B, n: int | Literal["inf"]) -> _B:
        return self._set(max_output_tokens=n)

    def tool(self: _B, fn: ToolSpec | Callable[..., Any]) -> _B:
        """Add a typed tool (a plain function is turned into one), a FunctionTool or an McpTool."""
        if isinstance(fn, (TypedTool, FunctionTool, McpTool)):
            self._tools.append(fn)
        else:
            self._tools.append(_make_tool(fn))
        return self

    def tool_desc(self: _B, name: str, description: str, fn: Callable[..., Any]) -> _B:
        """The seed's ``tool_desc(name, description, fn)``."""
        self._tools.append(_make_tool(fn, name=name, description=description))
        return self

    def mcp(self: _B, server_label: str, **kw: Any) -> _B:
        """Add an MCP server (see :func:`mcp_tool` for the keywords)."""
        self._tools.append(mcp_tool(server_label, **kw))
        return self

    def mcp_approval(self: _B, callback: ApprovalCallback) -> _B:
        return self._set(mcp_approval=callback)

    def tool_choice(self: _B, choice: Any) -> _B:
        return self._set(tool_choice=choice)

    def tracing(self: _B, tracing: Any = "auto") -> _B:
        return self._set(tracing=tracing)

    def truncation(self: _B, truncation: Any) -> _B:
        return self._set(truncation=truncation)

    def auto_barge_in(self: _B, on: bool) -> _B:
        return self._set(auto_barge_in=on)

    def auto_tool_response(self: _B, on: bool) -> _B:
        return self._set(auto_tool_response=on)

    def build(self) -> VoiceConfig:
        """The frozen configuration, checked against the GA rules."""
        cfg = VoiceConfig(**{**self._kw, "tools": tuple(self._tools)})
        cfg.to_session_config()
        return cfg


class Realtime:
    """Entry point mirroring the seed: ``Realtime.builder()``."""

    @staticmethod
    def builder() -> RealtimeBuilder:
        return RealtimeBuilder()

"""Generated from the openai SDK's GA client-event models; do not edit by hand.

Regenerate with ``OAIRT_REGEN_SCHEMA=1 pytest tests/test_fake_server_schema.py``. Types are
encoded as ``"str" | "int" | "float" | "bool" | "null" | "any"`` or lists
``["lit", *values]``, ``["list", T]``, ``["dict", T]``, ``["union", *Ts]``, ``["model", name]``.
"""

from __future__ import annotations

from typing import Any, Final

ROOT: Final[Any] = [
    "union",
    ["model", "conversation_item_create_event:ConversationItemCreateEvent"],
    ["model", "conversation_item_delete_event:ConversationItemDeleteEvent"],
    ["model", "conversation_item_retrieve_event:ConversationItemRetrieveEvent"],
    ["model", "conversation_item_truncate_event:ConversationItemTruncateEvent"],
    ["model", "input_audio_buffer_append_event:InputAudioBufferAppendEvent"],
    ["model", "input_audio_buffer_clear_event:InputAudioBufferClearEvent"],
    ["model", "output_audio_buffer_clear_event:OutputAudioBufferClearEvent"],
    ["model", "input_audio_buffer_commit_event:InputAudioBufferCommitEvent"],
    ["model", "response_cancel_event:ResponseCancelEvent"],
    ["model", "response_create_event:ResponseCreateEvent"],
    ["model", "session_update_event:SessionUpdateEvent"],
]

MODELS: Final[dict[str, dict[str, Any]]] = {
    "ItemReference": {"id": [True, "str"], "type": [True, ["lit", "item_reference"]]},
    "audio_transcription:AudioTranscription": {
        "delay": [False, ["union", ["lit", "minimal", "low", "medium", "high", "xhigh"], "null"]],
        "keywords": [False, ["union", ["list", "str"], "null"]],
        "language": [False, ["union", "str", "null"]],
        "languages": [False, ["union", ["list", "str"], "null"]],
        "model": [
            False,
            [
                "union",
                "str",
                [
                    "lit",
                    "whisper-1",
                    "gpt-transcribe",
                    "gpt-live-transcribe",
                    "gpt-4o-mini-transcribe",
                    "gpt-4o-mini-transcribe-2025-12-15",
                    "gpt-4o-transcribe",
                    "gpt-4o-transcribe-diarize",
                    "gpt-realtime-whisper",
                ],
                "null",
            ],
        ],
        "prompt": [False, ["union", "str", "null"]],
    },
    "conversation_item_create_event:ConversationItemCreateEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "item": [
            True,
            [
                "union",
                [
                    "model",
                    "realtime_conversation_item_system_message:RealtimeConversationItemSystemMessage",
                ],
                [
                    "model",
                    "realtime_conversation_item_user_message:RealtimeConversationItemUserMessage",
                ],
                [
                    "model",
                    "realtime_conversation_item_assistant_message:RealtimeConversationItemAssistantMessage",
                ],
                [
                    "model",
                    "realtime_conversation_item_function_call:RealtimeConversationItemFunctionCall",
                ],
                [
                    "model",
                    "realtime_conversation_item_function_call_output:RealtimeConversationItemFunctionCallOutput",
                ],
                ["model", "realtime_mcp_approval_response:RealtimeMcpApprovalResponse"],
                ["model", "realtime_mcp_list_tools:RealtimeMcpListTools"],
                ["model", "realtime_mcp_tool_call:RealtimeMcpToolCall"],
                ["model", "realtime_mcp_approval_request:RealtimeMcpApprovalRequest"],
            ],
        ],
        "previous_item_id": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "conversation.item.create"]],
    },
    "conversation_item_delete_event:ConversationItemDeleteEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "item_id": [True, "str"],
        "type": [True, ["lit", "conversation.item.delete"]],
    },
    "conversation_item_retrieve_event:ConversationItemRetrieveEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "item_id": [True, "str"],
        "type": [True, ["lit", "conversation.item.retrieve"]],
    },
    "conversation_item_truncate_event:ConversationItemTruncateEvent": {
        "audio_end_ms": [True, "int"],
        "content_index": [True, "int"],
        "event_id": [False, ["union", "str", "null"]],
        "item_id": [True, "str"],
        "type": [True, ["lit", "conversation.item.truncate"]],
    },
    "input_audio_buffer_append_event:InputAudioBufferAppendEvent": {
        "audio": [True, "str"],
        "event_id": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "input_audio_buffer.append"]],
    },
    "input_audio_buffer_clear_event:InputAudioBufferClearEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "input_audio_buffer.clear"]],
    },
    "input_audio_buffer_commit_event:InputAudioBufferCommitEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "input_audio_buffer.commit"]],
    },
    "output_audio_buffer_clear_event:OutputAudioBufferClearEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "output_audio_buffer.clear"]],
    },
    "realtime_audio_config:RealtimeAudioConfig": {
        "input": [
            False,
            ["union", ["model", "realtime_audio_config_input:RealtimeAudioConfigInput"], "null"],
        ],
        "output": [
            False,
            ["union", ["model", "realtime_audio_config_output:RealtimeAudioConfigOutput"], "null"],
        ],
    },
    "realtime_audio_config_input:NoiseReduction": {
        "strength": [False, ["union", "float", "null"]],
        "type": [False, ["union", ["lit", "near_field", "far_field"], "null"]],
    },
    "realtime_audio_config_input:RealtimeAudioConfigInput": {
        "format": [
            False,
            [
                "union",
                [
                    "union",
                    ["model", "realtime_audio_formats:AudioPCM"],
                    ["model", "realtime_audio_formats:AudioPCMU"],
                    ["model", "realtime_audio_formats:AudioPCMA"],
                ],
                "null",
            ],
        ],
        "noise_reduction": [
            False,
            ["union", ["model", "realtime_audio_config_input:NoiseReduction"], "null"],
        ],
        "transcription": [
            False,
            ["union", ["model", "audio_transcription:AudioTranscription"], "null"],
        ],
        "turn_detection": [
            False,
            [
                "union",
                [
                    "union",
                    ["model", "realtime_audio_input_turn_detection:ServerVad"],
                    ["model", "realtime_audio_input_turn_detection:SemanticVad"],
                    "null",
                ],
                "null",
            ],
        ],
    },
    "realtime_audio_config_output:RealtimeAudioConfigOutput": {
        "format": [
            False,
            [
                "union",
                [
                    "union",
                    ["model", "realtime_audio_formats:AudioPCM"],
                    ["model", "realtime_audio_formats:AudioPCMU"],
                    ["model", "realtime_audio_formats:AudioPCMA"],
                ],
                "null",
            ],
        ],
        "speed": [False, ["union", "float", "null"]],
        "voice": [
            False,
            [
                "union",
                "str",
                [
                    "lit",
                    "alloy",
                    "ash",
                    "ballad",
                    "coral",
                    "echo",
                    "sage",
                    "shimmer",
                    "verse",
                    "marin",
                    "cedar",
                ],
                ["model", "realtime_audio_config_output:VoiceID"],
                "null",
            ],
        ],
    },
    "realtime_audio_config_output:VoiceID": {"id": [True, "str"]},
    "realtime_audio_formats:AudioPCM": {
        "rate": [False, ["union", ["lit", 24000], "null"]],
        "type": [False, ["union", ["lit", "audio/pcm"], "null"]],
    },
    "realtime_audio_formats:AudioPCMA": {"type": [False, ["union", ["lit", "audio/pcma"], "null"]]},
    "realtime_audio_formats:AudioPCMU": {"type": [False, ["union", ["lit", "audio/pcmu"], "null"]]},
    "realtime_audio_input_turn_detection:SemanticVad": {
        "create_response": [False, ["union", "bool", "null"]],
        "eagerness": [False, ["union", ["lit", "low", "medium", "high", "auto"], "null"]],
        "interrupt_response": [False, ["union", "bool", "null"]],
        "type": [True, ["lit", "semantic_vad"]],
    },
    "realtime_audio_input_turn_detection:ServerVad": {
        "create_response": [False, ["union", "bool", "null"]],
        "idle_timeout_ms": [False, ["union", "int", "null"]],
        "interrupt_response": [False, ["union", "bool", "null"]],
        "prefix_padding_ms": [False, ["union", "int", "null"]],
        "silence_duration_ms": [False, ["union", "int", "null"]],
        "threshold": [False, ["union", "float", "null"]],
        "type": [True, ["lit", "server_vad"]],
    },
    "realtime_conversation_item_assistant_message:Content": {
        "audio": [False, ["union", "str", "null"]],
        "text": [False, ["union", "str", "null"]],
        "transcript": [False, ["union", "str", "null"]],
        "type": [False, ["union", ["lit", "output_text", "output_audio"], "null"]],
    },
    "realtime_conversation_item_assistant_message:RealtimeConversationItemAssistantMessage": {
        "content": [
            True,
            ["list", ["model", "realtime_conversation_item_assistant_message:Content"]],
        ],
        "id": [False, ["union", "str", "null"]],
        "object": [False, ["union", ["lit", "realtime.item"], "null"]],
        "role": [True, ["lit", "assistant"]],
        "status": [False, ["union", ["lit", "completed", "incomplete", "in_progress"], "null"]],
        "type": [True, ["lit", "message"]],
    },
    "realtime_conversation_item_function_call:RealtimeConversationItemFunctionCall": {
        "arguments": [True, "str"],
        "call_id": [False, ["union", "str", "null"]],
        "id": [False, ["union", "str", "null"]],
        "name": [True, "str"],
        "object": [False, ["union", ["lit", "realtime.item"], "null"]],
        "status": [False, ["union", ["lit", "completed", "incomplete", "in_progress"], "null"]],
        "type": [True, ["lit", "function_call"]],
    },
    "realtime_conversation_item_function_call_output:RealtimeConversationItemFunctionCallOutput": {
        "call_id": [True, "str"],
        "id": [False, ["union", "str", "null"]],
        "object": [False, ["union", ["lit", "realtime.item"], "null"]],
        "output": [True, "str"],
        "status": [False, ["union", ["lit", "completed", "incomplete", "in_progress"], "null"]],
        "type": [True, ["lit", "function_call_output"]],
    },
    "realtime_conversation_item_system_message:Content": {
        "text": [False, ["union", "str", "null"]],
        "type": [False, ["union", ["lit", "input_text"], "null"]],
    },
    "realtime_conversation_item_system_message:RealtimeConversationItemSystemMessage": {
        "content": [True, ["list", ["model", "realtime_conversation_item_system_message:Content"]]],
        "id": [False, ["union", "str", "null"]],
        "object": [False, ["union", ["lit", "realtime.item"], "null"]],
        "role": [True, ["lit", "system"]],
        "status": [False, ["union", ["lit", "completed", "incomplete", "in_progress"], "null"]],
        "type": [True, ["lit", "message"]],
    },
    "realtime_conversation_item_user_message:Content": {
        "audio": [False, ["union", "str", "null"]],
        "detail": [False, ["union", ["lit", "auto", "low", "high"], "null"]],
        "image_url": [False, ["union", "str", "null"]],
        "text": [False, ["union", "str", "null"]],
        "transcript": [False, ["union", "str", "null"]],
        "type": [False, ["union", ["lit", "input_text", "input_audio", "input_image"], "null"]],
    },
    "realtime_conversation_item_user_message:RealtimeConversationItemUserMessage": {
        "content": [True, ["list", ["model", "realtime_conversation_item_user_message:Content"]]],
        "id": [False, ["union", "str", "null"]],
        "object": [False, ["union", ["lit", "realtime.item"], "null"]],
        "role": [True, ["lit", "user"]],
        "status": [False, ["union", ["lit", "completed", "incomplete", "in_progress"], "null"]],
        "type": [True, ["lit", "message"]],
    },
    "realtime_function_tool:RealtimeFunctionTool": {
        "description": [False, ["union", "str", "null"]],
        "name": [False, ["union", "str", "null"]],
        "parameters": [False, ["union", "any", "null"]],
        "type": [False, ["union", ["lit", "function"], "null"]],
    },
    "realtime_mcp_approval_request:RealtimeMcpApprovalRequest": {
        "arguments": [True, "str"],
        "id": [True, "str"],
        "name": [True, "str"],
        "server_label": [True, "str"],
        "type": [True, ["lit", "mcp_approval_request"]],
    },
    "realtime_mcp_approval_response:RealtimeMcpApprovalResponse": {
        "approval_request_id": [True, "str"],
        "approve": [True, "bool"],
        "id": [True, "str"],
        "reason": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "mcp_approval_response"]],
    },
    "realtime_mcp_list_tools:RealtimeMcpListTools": {
        "id": [False, ["union", "str", "null"]],
        "server_label": [True, "str"],
        "tools": [True, ["list", ["model", "realtime_mcp_list_tools:Tool"]]],
        "type": [True, ["lit", "mcp_list_tools"]],
    },
    "realtime_mcp_list_tools:Tool": {
        "annotations": [False, ["union", "any", "null"]],
        "description": [False, ["union", "str", "null"]],
        "input_schema": [True, "any"],
        "name": [True, "str"],
    },
    "realtime_mcp_protocol_error:RealtimeMcpProtocolError": {
        "code": [True, "int"],
        "message": [True, "str"],
        "type": [True, ["lit", "protocol_error"]],
    },
    "realtime_mcp_tool_call:RealtimeMcpToolCall": {
        "approval_request_id": [False, ["union", "str", "null"]],
        "arguments": [True, "str"],
        "error": [
            False,
            [
                "union",
                [
                    "union",
                    ["model", "realtime_mcp_protocol_error:RealtimeMcpProtocolError"],
                    ["model", "realtime_mcp_tool_execution_error:RealtimeMcpToolExecutionError"],
                    ["model", "realtime_mcphttp_error:RealtimeMcphttpError"],
                    "null",
                ],
                "null",
            ],
        ],
        "id": [True, "str"],
        "name": [True, "str"],
        "output": [False, ["union", "str", "null"]],
        "server_label": [True, "str"],
        "type": [True, ["lit", "mcp_call"]],
    },
    "realtime_mcp_tool_execution_error:RealtimeMcpToolExecutionError": {
        "message": [True, "str"],
        "type": [True, ["lit", "tool_execution_error"]],
    },
    "realtime_mcphttp_error:RealtimeMcphttpError": {
        "code": [True, "int"],
        "message": [True, "str"],
        "type": [True, ["lit", "http_error"]],
    },
    "realtime_reasoning:RealtimeReasoning": {
        "effort": [False, ["union", ["lit", "minimal", "low", "medium", "high", "xhigh"], "null"]]
    },
    "realtime_response_create_audio_output:Output": {
        "format": [
            False,
            [
                "union",
                [
                    "union",
                    ["model", "realtime_audio_formats:AudioPCM"],
                    ["model", "realtime_audio_formats:AudioPCMU"],
                    ["model", "realtime_audio_formats:AudioPCMA"],
                ],
                "null",
            ],
        ],
        "voice": [
            False,
            [
                "union",
                "str",
                [
                    "lit",
                    "alloy",
                    "ash",
                    "ballad",
                    "coral",
                    "echo",
                    "sage",
                    "shimmer",
                    "verse",
                    "marin",
                    "cedar",
                ],
                ["model", "realtime_audio_config_output:VoiceID"],
                "null",
            ],
        ],
    },
    "realtime_response_create_audio_output:RealtimeResponseCreateAudioOutput": {
        "output": [
            False,
            ["union", ["model", "realtime_response_create_audio_output:Output"], "null"],
        ]
    },
    "realtime_response_create_mcp_tool:AllowedToolsMcpToolFilter": {
        "read_only": [False, ["union", "bool", "null"]],
        "tool_names": [False, ["union", ["list", "str"], "null"]],
    },
    "realtime_response_create_mcp_tool:RealtimeResponseCreateMcpTool": {
        "allowed_callers": [False, ["union", ["list", ["lit", "direct", "programmatic"]], "null"]],
        "allowed_tools": [
            False,
            [
                "union",
                ["list", "str"],
                ["model", "realtime_response_create_mcp_tool:AllowedToolsMcpToolFilter"],
                "null",
            ],
        ],
        "authorization": [False, ["union", "str", "null"]],
        "connector_id": [
            False,
            [
                "union",
                [
                    "lit",
                    "connector_dropbox",
                    "connector_gmail",
                    "connector_googlecalendar",
                    "connector_googledrive",
                    "connector_microsoftteams",
                    "connector_outlookcalendar",
                    "connector_outlookemail",
                    "connector_sharepoint",
                ],
                "null",
            ],
        ],
        "defer_loading": [False, ["union", "bool", "null"]],
        "headers": [False, ["union", ["dict", "str"], "null"]],
        "require_approval": [
            False,
            [
                "union",
                ["model", "realtime_response_create_mcp_tool:RequireApprovalMcpToolApprovalFilter"],
                ["lit", "always", "never"],
                "null",
            ],
        ],
        "server_description": [False, ["union", "str", "null"]],
        "server_label": [True, "str"],
        "server_url": [False, ["union", "str", "null"]],
        "tunnel_id": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "mcp"]],
    },
    "realtime_response_create_mcp_tool:RequireApprovalMcpToolApprovalFilter": {
        "always": [
            False,
            [
                "union",
                ["model", "realtime_response_create_mcp_tool:AllowedToolsMcpToolFilter"],
                "null",
            ],
        ],
        "never": [
            False,
            [
                "union",
                ["model", "realtime_response_create_mcp_tool:AllowedToolsMcpToolFilter"],
                "null",
            ],
        ],
    },
    "realtime_response_create_params:RealtimeResponseCreateParams": {
        "audio": [
            False,
            [
                "union",
                [
                    "model",
                    "realtime_response_create_audio_output:RealtimeResponseCreateAudioOutput",
                ],
                "null",
            ],
        ],
        "conversation": [False, ["union", "str", ["lit", "auto", "none"], "null"]],
        "input": [
            False,
            [
                "union",
                [
                    "list",
                    [
                        "union",
                        [
                            "model",
                            "realtime_conversation_item_system_message:RealtimeConversationItemSystemMessage",
                        ],
                        [
                            "model",
                            "realtime_conversation_item_user_message:RealtimeConversationItemUserMessage",
                        ],
                        [
                            "model",
                            "realtime_conversation_item_assistant_message:RealtimeConversationItemAssistantMessage",
                        ],
                        [
                            "model",
                            "realtime_conversation_item_function_call:RealtimeConversationItemFunctionCall",
                        ],
                        [
                            "model",
                            "realtime_conversation_item_function_call_output:RealtimeConversationItemFunctionCallOutput",
                        ],
                        ["model", "realtime_mcp_approval_response:RealtimeMcpApprovalResponse"],
                        ["model", "realtime_mcp_list_tools:RealtimeMcpListTools"],
                        ["model", "realtime_mcp_tool_call:RealtimeMcpToolCall"],
                        ["model", "realtime_mcp_approval_request:RealtimeMcpApprovalRequest"],
                        ["model", "ItemReference"],
                    ],
                ],
                "null",
            ],
        ],
        "instructions": [False, ["union", "str", "null"]],
        "max_output_tokens": [False, ["union", "int", ["lit", "inf"], "null"]],
        "metadata": [False, ["union", ["dict", "str"], "null"]],
        "output_modalities": [False, ["union", ["list", ["lit", "text", "audio"]], "null"]],
        "parallel_tool_calls": [False, ["union", "bool", "null"]],
        "prompt": [False, ["union", ["model", "response_prompt:ResponsePrompt"], "null"]],
        "reasoning": [False, ["union", ["model", "realtime_reasoning:RealtimeReasoning"], "null"]],
        "tool_choice": [
            False,
            [
                "union",
                ["lit", "none", "auto", "required"],
                ["model", "tool_choice_function:ToolChoiceFunction"],
                ["model", "tool_choice_mcp:ToolChoiceMcp"],
                "null",
            ],
        ],
        "tools": [
            False,
            [
                "union",
                [
                    "list",
                    [
                        "union",
                        ["model", "realtime_function_tool:RealtimeFunctionTool"],
                        [
                            "model",
                            "realtime_response_create_mcp_tool:RealtimeResponseCreateMcpTool",
                        ],
                    ],
                ],
                "null",
            ],
        ],
    },
    "realtime_session_create_request:RealtimeSessionCreateRequest": {
        "audio": [False, ["union", ["model", "realtime_audio_config:RealtimeAudioConfig"], "null"]],
        "include": [
            False,
            ["union", ["list", ["lit", "item.input_audio_transcription.logprobs"]], "null"],
        ],
        "instructions": [False, ["union", "str", "null"]],
        "max_output_tokens": [False, ["union", "int", ["lit", "inf"], "null"]],
        "model": [
            False,
            [
                "union",
                "str",
                [
                    "lit",
                    "gpt-realtime",
                    "gpt-realtime-1.5",
                    "gpt-realtime-2",
                    "gpt-realtime-2.1",
                    "gpt-realtime-2.1-mini",
                    "gpt-realtime-2025-08-28",
                    "gpt-4o-realtime-preview",
                    "gpt-4o-realtime-preview-2024-10-01",
                    "gpt-4o-realtime-preview-2024-12-17",
                    "gpt-4o-realtime-preview-2025-06-03",
                    "gpt-4o-mini-realtime-preview",
                    "gpt-4o-mini-realtime-preview-2024-12-17",
                    "gpt-realtime-mini",
                    "gpt-realtime-mini-2025-10-06",
                    "gpt-realtime-mini-2025-12-15",
                    "gpt-audio-1.5",
                    "gpt-audio-mini",
                    "gpt-audio-mini-2025-10-06",
                    "gpt-audio-mini-2025-12-15",
                ],
                "null",
            ],
        ],
        "output_modalities": [False, ["union", ["list", ["lit", "text", "audio"]], "null"]],
        "parallel_tool_calls": [False, ["union", "bool", "null"]],
        "prompt": [False, ["union", ["model", "response_prompt:ResponsePrompt"], "null"]],
        "reasoning": [False, ["union", ["model", "realtime_reasoning:RealtimeReasoning"], "null"]],
        "tool_choice": [
            False,
            [
                "union",
                ["lit", "none", "auto", "required"],
                ["model", "tool_choice_function:ToolChoiceFunction"],
                ["model", "tool_choice_mcp:ToolChoiceMcp"],
                "null",
            ],
        ],
        "tools": [
            False,
            [
                "union",
                [
                    "list",
                    [
                        "union",
                        ["model", "realtime_function_tool:RealtimeFunctionTool"],
                        [
                            "model",
                            "realtime_response_create_mcp_tool:RealtimeResponseCreateMcpTool",
                        ],
                    ],
                ],
                "null",
            ],
        ],
        "tracing": [
            False,
            [
                "union",
                ["lit", "auto"],
                ["model", "realtime_tracing_config:TracingConfiguration"],
                "null",
            ],
        ],
        "truncation": [
            False,
            [
                "union",
                ["lit", "auto", "disabled"],
                ["model", "realtime_truncation_retention_ratio:RealtimeTruncationRetentionRatio"],
                "null",
            ],
        ],
        "type": [True, ["lit", "realtime"]],
    },
    "realtime_tracing_config:TracingConfiguration": {
        "group_id": [False, ["union", "str", "null"]],
        "metadata": [False, ["union", "any", "null"]],
        "workflow_name": [False, ["union", "str", "null"]],
    },
    "realtime_transcription_session_audio:RealtimeTranscriptionSessionAudio": {
        "input": [
            False,
            ["union", ["model", "realtime_audio_config_input:RealtimeAudioConfigInput"], "null"],
        ]
    },
    "realtime_transcription_session_create_request:RealtimeTranscriptionSessionCreateRequest": {
        "audio": [
            False,
            [
                "union",
                ["model", "realtime_transcription_session_audio:RealtimeTranscriptionSessionAudio"],
                "null",
            ],
        ],
        "include": [
            False,
            ["union", ["list", ["lit", "item.input_audio_transcription.logprobs"]], "null"],
        ],
        "type": [True, ["lit", "transcription"]],
    },
    "realtime_truncation_retention_ratio:RealtimeTruncationRetentionRatio": {
        "retention_ratio": [True, "float"],
        "token_limits": [
            False,
            ["union", ["model", "realtime_truncation_retention_ratio:TokenLimits"], "null"],
        ],
        "type": [True, ["lit", "retention_ratio"]],
    },
    "realtime_truncation_retention_ratio:TokenLimits": {
        "post_instructions": [False, ["union", "int", "null"]]
    },
    "response_cancel_event:ResponseCancelEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "response_id": [False, ["union", "str", "null"]],
        "type": [True, ["lit", "response.cancel"]],
    },
    "response_create_event:ResponseCreateEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "response": [
            False,
            [
                "union",
                ["model", "realtime_response_create_params:RealtimeResponseCreateParams"],
                "null",
            ],
        ],
        "type": [True, ["lit", "response.create"]],
    },
    "response_input_file:PromptCacheBreakpoint": {
        "mode": [True, ["lit", "explicit"]],
        "ttl": [False, ["union", ["lit", "30m", "12h"], "null"]],
    },
    "response_input_file:ResponseInputFile": {
        "detail": [False, ["union", ["lit", "auto", "low", "high"], "null"]],
        "file_data": [False, ["union", "str", "null"]],
        "file_id": [False, ["union", "str", "null"]],
        "file_url": [False, ["union", "str", "null"]],
        "filename": [False, ["union", "str", "null"]],
        "prompt_cache_breakpoint": [
            False,
            ["union", ["model", "response_input_file:PromptCacheBreakpoint"], "null"],
        ],
        "type": [True, ["lit", "input_file"]],
    },
    "response_input_image:ResponseInputImage": {
        "detail": [True, ["lit", "low", "high", "auto", "original"]],
        "file_id": [False, ["union", "str", "null"]],
        "image_url": [False, ["union", "str", "null"]],
        "prompt_cache_breakpoint": [
            False,
            ["union", ["model", "response_input_file:PromptCacheBreakpoint"], "null"],
        ],
        "type": [True, ["lit", "input_image"]],
    },
    "response_input_text:ResponseInputText": {
        "prompt_cache_breakpoint": [
            False,
            ["union", ["model", "response_input_file:PromptCacheBreakpoint"], "null"],
        ],
        "text": [True, "str"],
        "type": [True, ["lit", "input_text"]],
    },
    "response_prompt:ResponsePrompt": {
        "id": [True, "str"],
        "variables": [
            False,
            [
                "union",
                [
                    "dict",
                    [
                        "union",
                        "str",
                        ["model", "response_input_text:ResponseInputText"],
                        ["model", "response_input_image:ResponseInputImage"],
                        ["model", "response_input_file:ResponseInputFile"],
                    ],
                ],
                "null",
            ],
        ],
        "version": [False, ["union", "str", "null"]],
    },
    "session_update_event:SessionUpdateEvent": {
        "event_id": [False, ["union", "str", "null"]],
        "session": [
            True,
            [
                "union",
                ["model", "realtime_session_create_request:RealtimeSessionCreateRequest"],
                [
                    "model",
                    "realtime_transcription_session_create_request:RealtimeTranscriptionSessionCreateRequest",
                ],
            ],
        ],
        "type": [True, ["lit", "session.update"]],
    },
    "tool_choice_function:ToolChoiceFunction": {
        "name": [True, "str"],
        "type": [True, ["lit", "function"]],
    },
    "tool_choice_mcp:ToolChoiceMcp": {
        "name": [False, ["union", "str", "null"]],
        "server_label": [True, "str"],
        "type": [True, ["lit", "mcp"]],
    },
}

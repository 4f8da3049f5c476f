"""Former home of the voice session's outputs; they live in ``oairt_core._actions`` now.

Kept only so that ``voice_driver`` (replaced by the async layer) still imports;
remove with it.
"""

from __future__ import annotations

from ._actions import ApprovalJob, ToolRun, VoiceActions

__all__ = ["ApprovalJob", "ToolRun", "VoiceActions"]

"""OpenAI Realtime conversation items, content parts and usage objects, GA and beta (§2.1, §6).

Shared by client and server events; import them from `schemas.openai`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from schemas.openai_shared import STRICT

Status = Literal["completed", "incomplete", "in_progress"]
ItemId = Annotated[str, Field(max_length=32)]  # client ids are honoured up to 32 chars (§2.1)


# --- content parts and conversation items (§2.1 item table) ---------------------------------------------


class InputTextPart(BaseModel):
    model_config = STRICT
    type: Literal["input_text"]
    text: str


class InputAudioPart(BaseModel):
    """User audio; server items carry `transcript: null` until transcription lands (§2.1)."""

    model_config = STRICT
    type: Literal["input_audio"]
    audio: str | None = None
    transcript: str | None = None


class InputImagePart(BaseModel):
    model_config = STRICT
    type: Literal["input_image"]
    image_url: str
    detail: Literal["auto", "low", "high"] | None = None


class OutputTextPart(BaseModel):
    model_config = STRICT
    type: Literal["output_text"]
    text: str


class OutputAudioPart(BaseModel):
    model_config = STRICT
    type: Literal["output_audio"]
    audio: str | None = None
    transcript: str | None = None


class BetaTextPart(BaseModel):
    model_config = STRICT
    type: Literal["text"]
    text: str


class BetaAudioPart(BaseModel):
    model_config = STRICT
    type: Literal["audio"]
    audio: str | None = None
    transcript: str | None = None


UserPart = Annotated[InputTextPart | InputAudioPart | InputImagePart, Field(discriminator="type")]
AssistantPart = Annotated[OutputTextPart | OutputAudioPart, Field(discriminator="type")]
BetaUserPart = Annotated[InputTextPart | InputAudioPart, Field(discriminator="type")]
BetaAssistantPart = Annotated[BetaTextPart | BetaAudioPart, Field(discriminator="type")]


class SystemMessage(BaseModel):
    model_config = STRICT
    type: Literal["message"]
    role: Literal["system"]
    content: list[InputTextPart]
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class UserMessage(BaseModel):
    model_config = STRICT
    type: Literal["message"]
    role: Literal["user"]
    content: list[UserPart]
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class AssistantMessage(BaseModel):
    """GA assistant message: parts are `output_text`/`output_audio` (§2.3)."""

    model_config = STRICT
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[AssistantPart]
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class BetaUserMessage(BaseModel):
    model_config = STRICT
    type: Literal["message"]
    role: Literal["user"]
    content: list[BetaUserPart]
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class BetaAssistantMessage(BaseModel):
    """Beta assistant message: parts are `text`/`audio` (§2.3)."""

    model_config = STRICT
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[BetaAssistantPart]
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class FunctionCallItem(BaseModel):
    model_config = STRICT
    type: Literal["function_call"]
    name: str
    arguments: str  # a JSON string
    call_id: str | None = None
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class BetaFunctionCallItem(BaseModel):
    """Beta typed every function_call field as optional (§2.1)."""

    model_config = STRICT
    type: Literal["function_call"]
    name: str | None = None
    arguments: str | None = None
    call_id: str | None = None
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class FunctionCallOutputItem(BaseModel):
    model_config = STRICT
    type: Literal["function_call_output"]
    call_id: str
    output: str
    id: ItemId | None = None
    object: Literal["realtime.item"] | None = None
    status: Status | None = None


class McpApprovalResponseItem(BaseModel):
    model_config = STRICT
    type: Literal["mcp_approval_response"]
    id: ItemId
    approval_request_id: str
    approve: bool
    reason: str | None = None


class McpApprovalRequestItem(BaseModel):
    model_config = STRICT
    type: Literal["mcp_approval_request"]
    id: ItemId
    server_label: str
    name: str
    arguments: str


class McpListedTool(BaseModel):
    model_config = STRICT
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    annotations: dict[str, Any] | None = None


class McpListToolsItem(BaseModel):
    model_config = STRICT
    type: Literal["mcp_list_tools"]
    server_label: str
    tools: list[McpListedTool]
    id: ItemId | None = None


class McpCallItem(BaseModel):
    model_config = STRICT
    type: Literal["mcp_call"]
    id: ItemId
    server_label: str
    name: str
    arguments: str
    approval_request_id: str | None = None
    output: str | None = None
    error: dict[str, Any] | None = None


class ItemReference(BaseModel):
    """`response.create.response.input` may point at an existing item instead of repeating it."""

    model_config = STRICT
    type: Literal["item_reference"]
    id: str


GaMessage = Annotated[SystemMessage | UserMessage | AssistantMessage, Field(discriminator="role")]
BetaMessage = Annotated[SystemMessage | BetaUserMessage | BetaAssistantMessage, Field(discriminator="role")]

# What a GA server event carries as an item: the gateway never emits MCP items.
GaServerItem = Annotated[GaMessage | FunctionCallItem | FunctionCallOutputItem, Field(discriminator="type")]
# What a GA client may create: the SDK's full item union (MCP items included).
GaClientItem = Annotated[
    GaMessage
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpApprovalResponseItem
    | McpApprovalRequestItem
    | McpListToolsItem
    | McpCallItem,
    Field(discriminator="type"),
]
GaInputItem = Annotated[
    GaMessage
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpApprovalResponseItem
    | McpApprovalRequestItem
    | McpListToolsItem
    | McpCallItem
    | ItemReference,
    Field(discriminator="type"),
]
BetaItem = Annotated[BetaMessage | BetaFunctionCallItem | FunctionCallOutputItem, Field(discriminator="type")]
BetaInputItem = Annotated[
    BetaMessage | BetaFunctionCallItem | FunctionCallOutputItem | ItemReference, Field(discriminator="type")
]


# --- usage (§6) -----------------------------------------------------------------------------------------


class BetaCachedTokensDetails(BaseModel):
    model_config = STRICT
    text_tokens: int | None = None
    audio_tokens: int | None = None


class CachedTokensDetails(BetaCachedTokensDetails):
    """GA adds image counts to the beta shape (§6)."""

    image_tokens: int | None = None


class BetaInputTokenDetails(BaseModel):
    model_config = STRICT
    text_tokens: int | None = None
    audio_tokens: int | None = None
    cached_tokens: int | None = None
    cached_tokens_details: BetaCachedTokensDetails | None = None


class InputTokenDetails(BetaInputTokenDetails):
    image_tokens: int | None = None
    cached_tokens_details: CachedTokensDetails | None = None


class OutputTokenDetails(BaseModel):
    model_config = STRICT
    text_tokens: int | None = None
    audio_tokens: int | None = None


class BetaUsage(BaseModel):
    """Beta usage: no image tokens (§6)."""

    model_config = STRICT
    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_token_details: BetaInputTokenDetails | None = None
    output_token_details: OutputTokenDetails | None = None


class Usage(BetaUsage):
    """`response.done.response.usage`, GA: image tokens included (§6)."""

    input_token_details: InputTokenDetails | None = None


class TranscriptionTokenDetails(BaseModel):
    model_config = STRICT
    text_tokens: int | None = None
    audio_tokens: int | None = None


class TranscriptionTokenUsage(BaseModel):
    model_config = STRICT
    type: Literal["tokens"]
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: TranscriptionTokenDetails | None = None


class TranscriptionDurationUsage(BaseModel):
    model_config = STRICT
    type: Literal["duration"]
    seconds: float


TranscriptionUsage = Annotated[TranscriptionTokenUsage | TranscriptionDurationUsage, Field(discriminator="type")]

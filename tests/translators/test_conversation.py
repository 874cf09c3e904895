"""translators/conversation.py: the item order a conversation keeps."""

from __future__ import annotations

import pytest

from translators.conversation import Conversation


def test_previous_id_from_any_position() -> None:
    """The item before any item (None for the first), wherever it was inserted; an unknown id is a bug."""
    conversation = Conversation()
    for item_id in ("a", "b", "c"):
        conversation.insert({"id": item_id, "type": "message", "role": "user", "content": []})
    conversation.insert({"id": "first", "type": "message", "role": "user", "content": []}, "root")
    assert [conversation.previous_id(i) for i in ("first", "a", "b", "c")] == [None, "first", "a", "b"]
    with pytest.raises(ValueError):
        conversation.previous_id("nope")

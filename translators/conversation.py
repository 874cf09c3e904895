"""The session's conversation: items in order, by id (OPENAI_REALTIME.md §2.1 previous_item_id), and their size."""

from __future__ import annotations

from typing import Any

from translators.errors import ClientProtocolError

ROOT = "root"
ITEM_OVERHEAD = 256  # bytes an item costs besides its strings (dicts, ids): a rough, fixed allowance


def item_bytes(item: dict[str, Any]) -> int:
    """About the memory an item takes: the length of every string in it (text, transcripts, arguments,
    outputs) plus a fixed overhead. Items are small trees of dicts and lists; no recursion is needed."""
    size = ITEM_OVERHEAD
    stack: list[Any] = [item]
    while stack:
        node = stack.pop()
        for value in node.values() if isinstance(node, dict) else node:
            if isinstance(value, str):
                size += len(value)
            elif isinstance(value, dict | list):
                stack.append(value)
    return size


class Conversation:
    """Ordered items; each item is the GA-shaped server form of the item (a dict with `id`)."""

    def __init__(self) -> None:
        self._order: list[str] = []  # item ids, oldest first
        self._items: dict[str, dict[str, Any]] = {}  # item id → item
        self._sizes: dict[str, int] = {}  # item id → item_bytes(item)
        self.size = 0  # the sum of _sizes: what the session's conversation holds (capped by the gateway)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._order)

    def get(self, item_id: str) -> dict[str, Any] | None:
        return self._items.get(item_id)

    def items(self) -> list[dict[str, Any]]:
        return [self._items[item_id] for item_id in self._order]

    def last_id(self) -> str | None:
        return self._order[-1] if self._order else None

    def user_text_before(self, item_ids: set[str]) -> str:
        """The user's words since the last assistant item, skipping `item_ids` (the answering response's own)."""
        parts: list[str] = []
        for item_id in reversed(self._order):
            item = self._items[item_id]
            if item_id in item_ids or item.get("type") != "message":
                continue
            if item.get("role") == "assistant":
                break
            if item.get("role") == "user":
                words = [p.get("text") or p.get("transcript") or "" for p in item.get("content") or ()]
                parts.append(" ".join(w for w in words if w))
        return "\n".join(reversed([p for p in parts if p]))

    def previous_id(self, item_id: str) -> str | None:
        """Searched from the end: the item asked about is nearly always the newest (a response's own item),
        and `list.index` from the front grew with the conversation, every turn (issue #15)."""
        order = self._order
        for index in range(len(order) - 1, -1, -1):
            if order[index] == item_id:
                return order[index - 1] if index else None
        raise ValueError(f"{item_id!r} is not in the conversation")

    def insert(self, item: dict[str, Any], previous_item_id: str | None = None) -> str | None:
        """Insert after `previous_item_id` (None/"" = append, "root" = first); returns the real previous id."""
        if item["id"] in self._items:
            raise ClientProtocolError("invalid_value", f"Item with id '{item['id']}' already exists.", param="item.id")
        if not previous_item_id:
            index = len(self._order)
        elif previous_item_id == ROOT:
            index = 0
        elif previous_item_id in self._items:
            index = self._order.index(previous_item_id) + 1
        else:
            raise ClientProtocolError(
                "invalid_value",
                f"Invalid 'previous_item_id': the item with id '{previous_item_id}' does not exist.",
                param="previous_item_id",
            )
        self._order.insert(index, item["id"])
        self._store(item)
        return self._order[index - 1] if index else None

    def update(self, item: dict[str, Any]) -> None:
        self._store(item)

    def delete(self, item_id: str) -> None:
        del self._items[item_id]
        self._order.remove(item_id)
        self.size -= self._sizes.pop(item_id)

    def _store(self, item: dict[str, Any]) -> None:
        size = item_bytes(item)
        self.size += size - self._sizes.get(item["id"], 0)
        self._items[item["id"]], self._sizes[item["id"]] = item, size

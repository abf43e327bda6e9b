"""What the fake Telegram Bot API remembers, and the semantics of its methods, free of HTTP."""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]
MethodHandler = Callable[[JsonDict], Any]

MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Parameters whose values are free text or opaque ids: "123" or "true" must stay strings.
_TEXT_PARAMS = frozenset(
    {
        "business_connection_id",
        "callback_query_id",
        "caption",
        "data",
        "description",
        "inline_message_id",
        "inline_query_id",
        "name",
        "query",
        "question",
        "secret_token",
        "short_description",
        "text",
        "title",
    }
)
_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MAX_UPDATES_PER_POLL = 100


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JsonDict:
        """The JSON body the real API sends with this error."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded as a part of a multipart request."""

    filename: str | None
    content_type: str
    content: bytes


def decode_params(raw: Mapping[str, Any]) -> JsonDict:
    """Decode string values holding JSON (numbers, booleans, objects, arrays), except free text."""
    return {name: _decode_value(name, value) for name, value in raw.items()}


def as_int(value: Any) -> int | None:
    """The value as an int, or None when it is not an integer (e.g. "@channel")."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def command_entities(text: str) -> list[JsonDict]:
    """The bot_command entities Telegram attaches to a text, with UTF-16 offsets."""
    return [
        {
            "type": "bot_command",
            "offset": _utf16_len(text[: m.start()]),
            "length": _utf16_len(m[0]),
        }
        for m in _BOT_COMMAND.finditer(text)
    ]


def user_object(user_id: int, first_name: str = "Test", language_code: str = "vi") -> JsonDict:
    """A Telegram User object for a human user."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def _decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _TEXT_PARAMS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return value if isinstance(decoded, str) else decoded


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _inline_markup(params: JsonDict) -> JsonDict | None:
    """Only inline keyboards are part of a Message object; other markups are not echoed back."""
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def _commands_key(params: JsonDict) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


def _now() -> int:
    return int(time.time())


class TelegramState:
    """Users, chats and their messages, commands, webhook and the update queue of one bot."""

    def __init__(self, token: str, bot_username: str) -> None:
        self.bot_user: JsonDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_username.replace("_", " ").title(),
            "username": bot_username,
        }
        self.webhook: JsonDict = {"url": ""}
        self.pending: list[JsonDict] = []
        self.confirmed_offset = 0
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._injected: dict[int, JsonDict] = {}
        self._users: dict[int, JsonDict] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, content)
        self._chats: dict[int, dict[int, JsonDict]] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._open_callback_queries: set[str] = set()

    def methods(self) -> dict[str, MethodHandler]:
        """Handlers of the Bot API methods, keyed by lower-case method name."""
        handlers: dict[str, MethodHandler] = {
            "getMe": self.get_me,
            "deleteWebhook": self.delete_webhook,
            "setWebhook": self.set_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendMessage": self.send_message,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "getFile": self.get_file,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "answerCallbackQuery": self.answer_callback_query,
            "close": lambda _params: True,
            "logOut": lambda _params: True,
        }
        return {name.lower(): handler for name, handler in handlers.items()}

    # Update queue

    def enqueue(self, update: JsonDict) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        self.pending.append(copy.deepcopy(update))
        return int(update["update_id"])

    def acknowledge(self, offset: int) -> None:
        """Forget the updates below a getUpdates offset, as Telegram does."""
        if offset <= self.confirmed_offset:
            return
        self.confirmed_offset = offset
        self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def next_updates(self, limit: int) -> list[JsonDict]:
        """The oldest pending updates, at most ``limit`` (clamped to 1..100)."""
        return copy.deepcopy(self.pending[: min(max(limit, 1), _MAX_UPDATES_PER_POLL)])

    def check_polling_allowed(self) -> None:
        """Refuse getUpdates while a webhook is set, like the real API."""
        if self.webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )

    def injected(self, update_id: int) -> JsonDict:
        """The update built with that id."""
        return copy.deepcopy(self._injected[update_id])

    # Building updates

    def message_update(
        self, user_id: int, text: str, *, first_name: str = "Test", language_code: str = "vi"
    ) -> JsonDict:
        """An update with a private text message from a user."""
        self._users[user_id] = user_object(user_id, first_name, language_code)
        content: JsonDict = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        return self._user_message_update(user_id, content)

    def sticker_update(self, user_id: int) -> JsonDict:
        """An update with a private sticker message from a user."""
        file_id, unique_id = self._new_file_ids()
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._user_message_update(user_id, {"sticker": sticker})

    def photo_update(self, user_id: int, *, caption: str | None = None) -> JsonDict:
        """An update with a private photo message from a user."""
        content: JsonDict = {"photo": self._photo_sizes(None)}
        if caption is not None:
            content["caption"] = caption
        return self._user_message_update(user_id, content)

    def document_update(self, user_id: int, filename: str, content: bytes) -> JsonDict:
        """An update with a document the user sent; getFile and the file URL then serve it."""
        file_id, unique_id = self._new_file_ids()
        self.files[file_id] = (f"documents/{unique_id}_{filename}", content)
        document = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": filename,
            "file_size": len(content),
        }
        return self._user_message_update(user_id, {"document": document})

    def contact_update(self, user_id: int, phone: str, *, owner: int | None = None) -> JsonDict:
        """An update with a shared contact (the user's own unless ``owner`` says otherwise)."""
        contact = {"phone_number": phone, "first_name": "Test", "user_id": owner or user_id}
        return self._user_message_update(user_id, {"contact": contact})

    def get_file(self, params: JsonDict) -> JsonDict:
        """getFile: where a document the user sent can be downloaded."""
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": path.split("/")[1].split("_")[0],
            "file_size": len(content),
            "file_path": path,
        }

    def edited_message_update(self, user_id: int, text: str, message_id: int) -> JsonDict:
        """An update telling that a user edited the text of one of their messages."""
        message = self._chats.get(user_id, {}).get(message_id)
        if message is None or message["from"]["id"] != user_id:
            raise LookupError(f"user {user_id} has no message {message_id} to edit")
        edited = {k: v for k, v in message.items() if k != "entities"}
        edited.update(text=text, edit_date=_now())
        if entities := command_entities(text):
            edited["entities"] = entities
        return self._new_update("edited_message", self._store(edited))

    def callback_update(
        self, user_id: int, data: str, *, message_id: int | None = None
    ) -> JsonDict:
        """An update with a button press on a bot message (default: its last inline keyboard)."""
        message = self._callback_message(user_id, message_id)
        query_id = f"{user_id}{next(self._callback_ids):08d}"
        self._open_callback_queries.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "message": message,
            "chat_instance": f"-{user_id}{user_id}",
            "data": data,
        }
        return self._new_update("callback_query", query)

    def raw_update(self, update: JsonDict) -> JsonDict:
        """The given update with a fresh update_id, replacing any it had."""
        return self._register({**copy.deepcopy(update), "update_id": next(self._update_ids)})

    # Observing

    def bot_messages(self, chat_id: int) -> list[JsonDict]:
        """The messages the bot sent to a chat, in their latest state, oldest first."""
        messages = self._chats.get(chat_id, {}).values()
        return [copy.deepcopy(m) for m in messages if m["from"]["id"] == self.bot_user["id"]]

    # Bot API methods

    def get_me(self, params: JsonDict) -> JsonDict:
        """getMe: the bot's own User object."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def set_webhook(self, params: JsonDict) -> bool:
        """setWebhook: remember the URL and options; an empty URL removes the webhook."""
        options = ("secret_token", "max_connections", "allowed_updates")
        self.webhook = {"url": str(params.get("url") or "")}
        self.webhook.update({k: params[k] for k in options if k in params})
        self._drop_pending_if_asked(params)
        return True

    def delete_webhook(self, params: JsonDict) -> bool:
        """deleteWebhook: remove the webhook, dropping pending updates if asked."""
        self.webhook = {"url": ""}
        self._drop_pending_if_asked(params)
        return True

    def get_webhook_info(self, params: JsonDict) -> JsonDict:
        """getWebhookInfo: the webhook state (never the secret token)."""
        info: JsonDict = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        info.update(
            {k: v for k, v in self.webhook.items() if k in ("max_connections", "allowed_updates")}
        )
        return info

    def set_my_commands(self, params: JsonDict) -> bool:
        """setMyCommands: store the command list for a scope and language."""
        self._commands[_commands_key(params)] = list(params.get("commands") or [])
        return True

    def get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        """getMyCommands: the command list stored for exactly that scope and language."""
        return self._commands.get(_commands_key(params), [])

    def delete_my_commands(self, params: JsonDict) -> bool:
        """deleteMyCommands: forget the command list of a scope and language."""
        self._commands.pop(_commands_key(params), None)
        return True

    def send_message(self, params: JsonDict) -> JsonDict:
        """sendMessage: store and return a text message from the bot."""
        if not params.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        return self._send(params, {"text": str(params["text"])})

    def send_document(self, params: JsonDict) -> JsonDict:
        """sendDocument: store and return a document message from the bot."""
        return self._send(params, {"document": self._document(params.get("document"))})

    def send_photo(self, params: JsonDict) -> JsonDict:
        """sendPhoto: store and return a photo message from the bot."""
        return self._send(params, {"photo": self._photo_sizes(params.get("photo"))})

    def send_chat_action(self, params: JsonDict) -> bool:
        """sendChatAction: accepted and forgotten."""
        self._chat_id(params)
        return True

    def edit_message_text(self, params: JsonDict) -> JsonDict:
        """editMessageText: replace text and inline keyboard of a bot message."""
        message = self._message_to_edit(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if not params.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        return self._edit(message, {"text": str(params["text"])}, _inline_markup(params))

    def edit_message_reply_markup(self, params: JsonDict) -> JsonDict:
        """editMessageReplyMarkup: replace (or remove) the inline keyboard of a bot message."""
        return self._edit(self._message_to_edit(params), {}, _inline_markup(params))

    def answer_callback_query(self, params: JsonDict) -> bool:
        """answerCallbackQuery: accepted once per callback query the fake sent."""
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callback_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        self._open_callback_queries.discard(query_id)
        return True

    # Helpers

    def _register(self, update: JsonDict) -> JsonDict:
        self._injected[update["update_id"]] = copy.deepcopy(update)
        return update

    def _new_update(self, kind: str, payload: JsonDict) -> JsonDict:
        return self._register({"update_id": next(self._update_ids), kind: payload})

    def _user(self, user_id: int) -> JsonDict:
        return copy.deepcopy(self._users.get(user_id) or user_object(user_id))

    def _chat(self, chat_id: int) -> JsonDict:
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "title": f"Chat {chat_id}", "type": kind}
        return {"id": chat_id, "first_name": self._user(chat_id)["first_name"], "type": "private"}

    def _chat_id(self, params: JsonDict) -> int:
        chat_id = as_int(params.get("chat_id"))
        if chat_id is None:
            raise ApiError(
                400,
                "Bad Request: chat not found"
                if "chat_id" in params
                else "Bad Request: chat_id is empty",
            )
        return chat_id

    def _new_message(self, chat_id: int, sender: JsonDict, content: JsonDict) -> JsonDict:
        message_id = max(self._chats.get(chat_id, {}), default=0) + 1
        chat = self._chat(chat_id)
        return {"message_id": message_id, "from": sender, "chat": chat, "date": _now(), **content}

    def _store(self, message: JsonDict) -> JsonDict:
        chat_messages = self._chats.setdefault(message["chat"]["id"], {})
        chat_messages[message["message_id"]] = copy.deepcopy(message)
        return message

    def _user_message_update(self, user_id: int, content: JsonDict) -> JsonDict:
        message = self._new_message(user_id, self._user(user_id), content)
        return self._new_update("message", self._store(message))

    def _send(self, params: JsonDict, content: JsonDict) -> JsonDict:
        if "caption" in params:
            content["caption"] = str(params["caption"])
        if markup := _inline_markup(params):
            content["reply_markup"] = markup
        return self._store(self._new_message(self._chat_id(params), self.bot_user, content))

    def _message_to_edit(self, params: JsonDict) -> JsonDict:
        chat_messages = self._chats.get(self._chat_id(params), {})
        message = chat_messages.get(as_int(params.get("message_id")) or 0)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _edit(self, message: JsonDict, changes: JsonDict, markup: JsonDict | None) -> JsonDict:
        edited = {k: v for k, v in message.items() if k != "reply_markup"}
        edited.update(changes)
        if markup:
            edited["reply_markup"] = markup
        if edited == message:
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        edited["edit_date"] = _now()
        return self._store(edited)

    def _callback_message(self, chat_id: int, message_id: int | None) -> JsonDict:
        messages = self.bot_messages(chat_id)
        if message_id is not None:
            found = [m for m in messages if m["message_id"] == message_id]
            if not found:
                raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")
            return found[0]
        with_keyboard = [m for m in messages if "reply_markup" in m]
        if not with_keyboard:
            raise LookupError(f"the bot sent no message with an inline keyboard to chat {chat_id}")
        return with_keyboard[-1]

    def _drop_pending_if_asked(self, params: JsonDict) -> None:
        if params.get("drop_pending_updates") is True:
            self.pending.clear()

    def _new_file_ids(self) -> tuple[str, str]:
        number = next(self._file_ids)
        return f"FAKE-FILE-ID-{number}", f"FAKE-UNIQUE-{number}"

    def _document(self, value: Any) -> JsonDict:
        file_id, unique_id = self._new_file_ids()
        if not isinstance(value, UploadedFile):
            return {"file_id": str(value or file_id), "file_unique_id": unique_id}
        document: JsonDict = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "mime_type": value.content_type,
            "file_size": len(value.content),
        }
        if value.filename:
            document["file_name"] = value.filename
        return document

    def _photo_sizes(self, value: Any) -> list[JsonDict]:
        file_id, unique_id = self._new_file_ids()
        size = len(value.content) if isinstance(value, UploadedFile) else 4096
        return [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"{unique_id}-s",
                "width": 90,
                "height": 68,
                "file_size": max(size // 10, 1),
            },
            {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "width": 800,
                "height": 600,
                "file_size": size,
            },
        ]

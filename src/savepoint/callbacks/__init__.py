"""Callbacks with Keras names; checkpointing callbacks are added by the saving issues."""

from savepoint.callbacks.base import Callback, CallbackList, History, LazyLogs, ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "LazyLogs", "ProgbarLogger"]

"""Callbacks with Keras names; checkpointing callbacks are added by the saving issues."""

from savepoint.callbacks.backup_and_restore import BackupAndRestore
from savepoint.callbacks.base import Callback, CallbackList, History, LazyLogs, ProgbarLogger
from savepoint.callbacks.csv_logger import CSVLogger
from savepoint.callbacks.early_stopping import EarlyStopping
from savepoint.callbacks.lambda_callback import LambdaCallback
from savepoint.callbacks.lr_scheduler import LearningRateScheduler
from savepoint.callbacks.model_checkpoint import ModelCheckpoint
from savepoint.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from savepoint.callbacks.terminate_on_nan import TerminateOnNaN
from savepoint.callbacks.remote_monitor import RemoteMonitor  # noqa: E402
from savepoint.callbacks.tensorboard import TensorBoard  # noqa: E402

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LazyLogs", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
           "ReduceLROnPlateau", "TerminateOnNaN", "RemoteMonitor", "TensorBoard"]

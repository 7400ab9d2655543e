"""The models ``savepoint serve`` answers for: each base path's numbered version folders, the
versions its policy serves (the highest by default), and the poller thread that loads new ones.

A new version is loaded beside the one in service and swapped in by replacing one dict (an
atomic assignment), so requests never wait and an in-flight request finishes on the version it
started with. A folder that fails to load (half written, corrupt) is skipped and retried at the
next poll while the older version keeps serving. Version states follow TF Serving's
``GetModelStatus``: ``AVAILABLE`` while served, ``END`` once unloaded.

Example:
    >>> import tempfile, os, savepoint as keras
    >>> from savepoint.serving.config import ModelConfig
    >>> base = tempfile.mkdtemp()
    >>> keras.Sequential([keras.layers.Dense(1, input_shape=(2,))]).save(os.path.join(base, "7"))
    >>> reg = ModelRegistry([ModelConfig("m", base)]); reg.poll()
    >>> reg.get("m").version, reg.status("m")["model_version_status"][0]["state"]
    (7, 'AVAILABLE')
    >>> reg.get("m", version=3)
    Traceback (most recent call last):
    savepoint.serving.servable.ServingError: Servable not found for request: Specific(m, 3)
"""

from __future__ import annotations

import logging
import os
import threading

from savepoint.errors import ConfigError
from savepoint.serving.config import ModelConfig
from savepoint.serving.servable import Servable, ServingError, load_servable

log = logging.getLogger("savepoint.serving")


class _Model:
    """One configured model: what is served now and the history of version states."""

    def __init__(self, config: ModelConfig):
        self.config = config
        self.served: dict[int, Servable] = {}   # replaced whole, never mutated in place
        self.states: dict[int, str] = {}
        self.errors: dict[int, str] = {}       # the last load error per version (logged once)


class ModelRegistry:
    """Loads, serves and hot-swaps the versions of every configured model."""

    def __init__(self, configs: list[ModelConfig], poll_wait_seconds: float = 1.0):
        self._models = {c.name: _Model(c) for c in configs}
        self._poll_wait = poll_wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()     # one poll at a time

    @property
    def names(self) -> list[str]:
        return list(self._models)

    def check_base_paths(self) -> None:
        """Refuse a base path that does not exist (a typo would otherwise poll forever)."""
        for m in self._models.values():
            if not os.path.isdir(m.config.base_path):
                raise ConfigError(
                    f"Expected the base path of model '{m.config.name}' to be a directory of "
                    f"numbered version folders (like {m.config.base_path}/1/). Received "
                    f"{m.config.base_path!r}, which is not a directory. Fix: point "
                    f"--model_base_path (or base_path in --model_config_file) at it.")

    # -- polling -------------------------------------------------------------------------------

    def poll(self) -> None:
        """Look at every base path once: load what the version policy wants, unload the rest."""
        with self._lock:
            for model in self._models.values():
                self._poll_model(model)

    def start(self) -> None:
        """Poll every ``poll_wait_seconds`` in a daemon thread (0: never, as in TF Serving)."""
        if self._poll_wait <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="savepoint-version-poller",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._poll_wait):
            try:
                self.poll()
            except Exception:  # the poller must outlive any surprise; the next poll retries
                log.exception("version poll failed")

    def _poll_model(self, model: _Model) -> None:
        available = _versions(model.config.base_path)
        policy = model.config.version_policy
        if policy[0] == "specific":
            candidates = [v for v in sorted(available, reverse=True) if v in policy[1]]
            wanted_count = len(candidates)
        else:
            candidates = sorted(available, reverse=True)
            wanted_count = policy[1] if policy[0] == "latest" else len(candidates)
        served = dict(model.served)
        keep: dict[int, Servable] = {}
        for version in candidates:
            if len(keep) == wanted_count:
                break
            servable = served.get(version) or self._load(model, version)
            if servable is not None:
                keep[version] = servable
        if not keep and served and not available:
            log.warning("model '%s': no version folders left under %s; still serving %s",
                        model.config.name, model.config.base_path, sorted(served))
            return
        if not keep:
            return  # nothing loadable yet: keep what is served, retry at the next poll
        for version in keep:
            model.states[version] = "AVAILABLE"
        model.served = keep     # the swap: one assignment, readers see old or new whole
        for version in set(served) - set(keep):
            model.states[version] = "END"
            log.warning("model '%s': unloaded version %d", model.config.name, version)

    def _load(self, model: _Model, version: int) -> Servable | None:
        path = os.path.join(model.config.base_path, str(version))
        try:
            servable = load_servable(model.config.name, version, path)
        except Exception as e:  # half-written or broken folder: retry at the next poll
            message = f"{type(e).__name__}: {e}"
            if model.errors.get(version) != message:
                log.warning("model '%s': version %d at %s did not load (retrying at the next "
                            "poll): %s", model.config.name, version, path, message)
            model.errors[version] = message
            return None
        model.errors.pop(version, None)
        log.warning("model '%s': loaded version %d from %s", model.config.name, version, path)
        return servable

    # -- lookups -------------------------------------------------------------------------------

    def get(self, name: str, version: int | None = None, label: str | None = None) -> Servable:
        """The servable a request names: the latest version, a version, or a labelled one."""
        model = self._models.get(name)
        version = _labelled(model, version, label)
        served = model.served if model is not None else {}
        if version is None:
            if not served:
                raise ServingError(404, f"Servable not found for request: Latest({name})")
            return served[max(served)]
        if version not in served:
            raise ServingError(404, f"Servable not found for request: Specific({name}, "
                                    f"{version})")
        return served[version]

    def status(self, name: str, version: int | None = None, label: str | None = None) -> dict:
        """TF Serving's ``GetModelStatusResponse`` as JSON."""
        model = self._models.get(name)
        version = _labelled(model, version, label)
        states = dict(model.states) if model is not None else {}
        if version is not None:
            if version not in states:
                raise ServingError(404, f"Could not find version {version} of model {name}")
            states = {version: states[version]}
        if not states:
            raise ServingError(404, f"Could not find any versions of model {name}")
        return {"model_version_status": [
            {"version": str(v), "state": s, "status": {"error_code": "OK", "error_message": ""}}
            for v, s in sorted(states.items())]}


def _labelled(model: _Model | None, version: int | None, label: str | None) -> int | None:
    """The version a label names (config ``version_labels``), else ``version``."""
    if label is None:
        return version
    if model is None or label not in model.config.version_labels:
        raise ServingError(400, f"Unrecognized servable version label: {label}")
    return model.config.version_labels[label]


def _versions(base_path: str) -> list[int]:
    """The numbered folders of a base path (other names, like ``2.tmp``, are not versions)."""
    try:
        entries = os.listdir(base_path)
    except OSError:
        return []
    return [int(e) for e in entries if e.isdigit() and os.path.isdir(os.path.join(base_path, e))]


__all__ = ["ModelRegistry"]

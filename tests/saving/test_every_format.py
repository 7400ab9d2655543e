"""Every registered format, by iterating ``saving.registry``: a new format is covered here without
editing this file. For each: the round trip is bit for bit, an async save writes the snapshot
taken when it was asked for, ``verify``/``delete_save``/``overwrite=False`` work, damage in any
byte of any file is detected or harmless, random mutations raise only ``SavepointError``, and a
writer killed at any storage operation leaves the previous save or the new one, whole.
"""

from __future__ import annotations

import os
import random
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import savepoint as keras
from savepoint.errors import CheckpointNotFoundError, OverwriteError, SavepointError
from savepoint.saving import registry, storage
from savepoint.saving.api import delete_save
from savepoint.train import CheckpointOptions, verify

FORMATS = [spec for spec in registry.formats() if not spec.read_only]  # these suites save
IDS = [spec.name for spec in FORMATS]
X = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
CRASHED = 77


def make_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def trained(seed: int = 0) -> keras.Model:
    model = make_model(seed)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    return model


def save(spec, model, path: str, **kwargs) -> None:
    if spec.kind == "weights":
        model.save_weights(path, **kwargs)
    else:
        keras.models.save_model(model, path, **kwargs)


def load(spec, path: str) -> keras.Model:
    if spec.kind == "weights":
        model = make_model(seed=99)
        model.load_weights(path)
        return model
    return keras.models.load_model(path)


def weights_of(model: keras.Model) -> list[bytes]:
    return [w.numpy().tobytes() for w in model.weights]


def files_under(root: str) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)


@pytest.fixture(params=FORMATS, ids=IDS)
def spec(request):
    return request.param


def test_the_registry_lists_every_format_once_with_a_selecting_example(spec):
    assert IDS.count(spec.name) == 1
    assert registry.for_path(os.path.join("d", spec.example), spec.kind) is spec
    for alias in spec.aliases:
        assert registry.for_path("anything", spec.kind, save_format=alias) is spec


def test_round_trip_is_bit_for_bit(spec, tmp_path):
    model = trained()
    path = str(tmp_path / spec.example)
    save(spec, model, path)
    loaded = load(spec, path)
    assert weights_of(loaded) == weights_of(model)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_async_save_writes_the_snapshot_taken_when_asked(spec, tmp_path):
    model = trained()
    before = weights_of(model)
    path = str(tmp_path / spec.example)
    save(spec, model, path, options=CheckpointOptions(enable_async=True))
    for w in model.weights:  # training goes on while the file is written
        w.assign(np.full(w.shape, 7.0, "float32"))
    keras.saving.api.wait_for_saves(model)
    assert weights_of(load(spec, path)) == before


def test_verify_detect_delete_and_overwrite(spec, tmp_path):
    model = trained()
    path = str(tmp_path / spec.example)
    save(spec, model, path)
    assert registry.detect(path) is spec
    report = verify(path)
    assert report.n_tensors >= len(model.weights)
    with pytest.raises(OverwriteError, match=r"Expected to write a new save but .* exists and "
                       r"overwrite=False was passed\. Fix: pass overwrite=True or choose "
                       r"another path"):
        save(spec, model, path, overwrite=False)
    delete_save(path)
    assert registry.detect(path) is None
    with pytest.raises(CheckpointNotFoundError, match="does not exist|Expected"):
        load(spec, path)


def _saved(spec, root: str) -> tuple[str, list[bytes]]:
    model = trained()
    path = os.path.join(root, spec.example)
    save(spec, model, path)
    return path, weights_of(model)


def _detected_or_harmless(spec, path: str, expected: list[bytes]) -> None:
    try:
        got = weights_of(load(spec, path))
    except SavepointError:
        return
    assert got == expected, "a damaged save loaded different values without an error"


def _damage_copy(src_root: str, dst_root: str, victim: str, mutate) -> None:
    shutil.rmtree(dst_root, ignore_errors=True)
    shutil.copytree(src_root, dst_root)
    target = os.path.join(dst_root, os.path.relpath(victim, src_root))
    with open(target, "rb") as f:
        data = bytearray(f.read())
    with open(target, "wb") as f:
        f.write(mutate(data))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_damage_in_any_file_is_detected_or_harmless(spec, tmp_path):
    root = str(tmp_path / "orig")
    path, expected = _saved(spec, root)
    rng = random.Random(spec.name)
    for victim in files_under(root):
        size = os.path.getsize(victim)
        offsets = sorted({0, size // 2, max(size - 1, 0)} | {rng.randrange(max(size, 1))
                                                              for _ in range(4)})
        damages = [lambda d, o=o: d[:o] + bytes([d[o] ^ 0x10]) + d[o + 1:] for o in offsets
                   if o < size] + [lambda d: d[:len(d) // 2]]
        for damage in damages:
            copy = str(tmp_path / "copy")
            _damage_copy(root, copy, victim, damage)
            _detected_or_harmless(spec, os.path.join(copy, os.path.basename(path)), expected)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_random_mutations_raise_only_savepoint_errors(fmt, tmp_path_factory):
    root = str(tmp_path_factory.mktemp(fmt.name))
    path, expected = _saved(fmt, root)
    victims = files_under(root)

    @settings(max_examples=12, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(victims) - 1), st.lists(st.tuples(st.integers(0, 2**31),
                                                                st.integers(0, 255)),
                                                      min_size=1, max_size=4))
    def check(which, edits):
        def mutate(data: bytearray) -> bytes:
            for offset, value in edits:
                if data:
                    data[offset % len(data)] = value
            return bytes(data)
        copy = str(tmp_path_factory.mktemp("m"))
        _damage_copy(root, copy, victims[which], mutate)
        _detected_or_harmless(fmt, os.path.join(copy, os.path.basename(path)), expected)
    check()


def _save_in_child(spec, model, path: str, crash_at: int) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            count = [0]

            def hook(op, target):
                if count[0] == crash_at:
                    os._exit(CRASHED)
                count[0] += 1
            storage.FAULT_HOOK = hook
            save(spec, model, path)
            os._exit(0)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status)


def _operations(spec, model, path: str) -> int:
    ops = []
    storage.FAULT_HOOK = lambda op, target: ops.append(op)
    try:
        save(spec, model, path)
    finally:
        storage.FAULT_HOOK = None
    return len(ops)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_writer_killed_at_any_operation_leaves_a_whole_save(spec, tmp_path):
    old, new = trained(seed=0), trained(seed=1)
    n_ops = _operations(spec, new, str(tmp_path / "count" / spec.example))
    assert n_ops >= 1
    for crash_at in range(n_ops + 1):
        root = tmp_path / f"crash{crash_at}"
        path = str(root / spec.example)
        save(spec, old, path)
        code = _save_in_child(spec, new, path, crash_at)
        assert code in (0, CRASHED)
        got = weights_of(load(spec, path))
        assert got in (weights_of(old), weights_of(new)), f"torn save after op {crash_at}"
        if code == 0:
            assert got == weights_of(new)

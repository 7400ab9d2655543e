"""HDF5 isolation: files that would read another file (external links, virtual datasets,
external raw storage) or hold soft links are refused by every HDF5 read and by ``verify``."""

from __future__ import annotations

import doctest
import importlib.util
import io
import os
import shutil
import zipfile

import h5py
import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import FormatError
from savepoint.saving.formats import h5_isolation

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
SECRET = 42.0  # what the victim file holds: it must never reach a model


def build(name: str) -> keras.Model:
    """The architectures of the fixtures in tests/fixtures/h5 (tools/make_h5_fixtures.py)."""
    spec = importlib.util.spec_from_file_location(
        "sp_keras_models", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
            __file__))), "interop", "keras_models.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.h5_fixture(keras, name)


def victim(tmp_path, shape: tuple, dtype: str = "float32") -> str:
    """Another user's HDF5 file ``/secret`` and raw file ``victim.bin``, both all ``SECRET``."""
    values = np.full(shape, SECRET, dtype)
    with h5py.File(tmp_path / "victim.h5", "w") as f:
        f["secret"] = values
    (tmp_path / "victim.bin").write_bytes(values.tobytes())
    return str(tmp_path / "victim.h5")


def tamper(file: h5py.File, path: str, kind: str, tmp_path) -> str:
    """Replace dataset ``path`` of the open ``file`` as a hostile file would; the message part
    the refusal must contain."""
    shape, dtype = file[path].shape, file[path].dtype
    source = victim(tmp_path, shape, dtype.str)
    del file[path]
    if kind == "external_link":
        file[path] = h5py.ExternalLink(source, "/secret")
        return f"is an external link to '{source}:/secret'"
    if kind == "virtual":
        layout = h5py.VirtualLayout(shape, dtype)
        layout[...] = h5py.VirtualSource(source, "/secret", shape, dtype)
        file.create_virtual_dataset(path, layout)
        return f"is a virtual dataset mapping '{source}:/secret'"
    if kind == "external_storage":
        raw = str(tmp_path / "victim.bin")
        file.create_dataset(path, shape, dtype, external=[(raw, 0, int(np.prod(shape)) *
                                                          dtype.itemsize)])
        return f"is a dataset with external raw storage in '{raw}'"
    parent = "/" + path.rpartition("/")[0]
    file[path] = h5py.SoftLink(parent)  # the dataset's name now leads back to its own group
    return f"is a soft link to '{parent}' \\(a link cycle"


KINDS = ["external_link", "virtual", "external_storage", "soft_cycle"]


def hostile_copy(tmp_path, fixture: str, name: str, dataset: str, kind: str) -> tuple[str, str]:
    path = str(tmp_path / name)
    shutil.copyfile(os.path.join(FIXTURES, fixture), path)
    with h5py.File(path, "r+") as f:
        found = tamper(f, dataset, kind, tmp_path)
    return path, found


def refusal(path: str, obj: str, found: str) -> str:
    """The message pattern: the file, the object, what was found, what is expected, the fix."""
    return (f"HDF5 file '{path}.*': object '/{obj}' {found}.*Expected every group and dataset "
            f"to be stored inside this file.*Fix: ")


def snapshot(model: keras.Model) -> list[np.ndarray]:
    return [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fixture,dataset", [
    ("h5/seq.h5", "dense/dense/bias:0"),            # tf.keras (Keras 2) weights
    ("h5/seq.weights.h5", "layers/dense/vars/1"),   # Keras 3 weights
])
def test_weights_files_reading_other_files_are_refused(tmp_path, kind, fixture, dataset):
    path, found = hostile_copy(tmp_path, fixture, os.path.basename(fixture), dataset, kind)
    model = build("seq")
    before = snapshot(model)
    with pytest.raises(FormatError, match=refusal(path, dataset, found)):
        model.load_weights(path)
    for old, new in zip(before, model.get_weights()):
        assert np.array_equal(old, new)  # nothing assigned, the victim's values least of all
    with pytest.raises(FormatError, match=refusal(path, dataset, found)):
        keras.train.verify(path)


@pytest.mark.parametrize("kind", KINDS)
def test_whole_h5_models_reading_other_files_are_refused(tmp_path, kind):
    dataset = "model_weights/dense/dense/kernel:0"
    path, found = hostile_copy(tmp_path, "h5_model/sequential.h5", "m.h5", dataset, kind)
    with pytest.raises(FormatError, match=refusal(path, dataset, found)):
        keras.models.load_model(path)
    with pytest.raises(FormatError, match=refusal(path, dataset, found)):
        keras.train.verify(path)


def hostile_keras(tmp_path, kind: str, compression: int) -> tuple[str, str]:
    """tutorial.keras with ``layers/dense/vars/1`` of its ``model.weights.h5`` tampered,
    re-zipped with every member ``compression`` (stored: read in place; deflated: extracted)."""
    with zipfile.ZipFile(os.path.join(FIXTURES, "keras", "tutorial.keras")) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        found = tamper(f, "layers/dense/vars/1", kind, tmp_path)
    members["model.weights.h5"] = buffer.getvalue()
    path = str(tmp_path / "m.keras")
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path, found


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_keras_archives_whose_weights_read_other_files_are_refused(tmp_path, kind,
                                                                   compression):
    path, found = hostile_keras(tmp_path, kind, compression)
    pattern = f"HDF5 file '.*model.weights.h5': object '/layers/dense/vars/1' {found}.*Fix: "
    with pytest.raises(FormatError, match=pattern):
        keras.models.load_model(path)
    with pytest.raises(FormatError, match=pattern):
        keras.train.verify(path)


def test_links_anywhere_in_the_file_are_refused_not_only_on_the_read_path(tmp_path):
    """A soft-link cycle and an external link in groups no load reads are found by the walk."""
    path = str(tmp_path / "w.h5")
    shutil.copyfile(os.path.join(FIXTURES, "h5", "seq.h5"), path)
    with h5py.File(path, "r+") as f:
        f["dense/loop"] = h5py.SoftLink("/dense")
    model = build("seq")
    with pytest.raises(FormatError, match=refusal(path, "dense/loop", "is a soft link to "
                                                  "'/dense' \\(a link cycle")):
        model.load_weights(path)
    with h5py.File(path, "r+") as f:
        del f["dense/loop"]
        f["unused/deep/elsewhere"] = h5py.ExternalLink("other.h5", "/x")
    with pytest.raises(FormatError, match=refusal(path, "unused/deep/elsewhere",
                                                  "is an external link to 'other.h5:/x'")):
        keras.train.verify(path)


def test_hard_link_cycles_and_shared_objects_are_walked_once_and_load(tmp_path):
    path = str(tmp_path / "w.h5")
    shutil.copyfile(os.path.join(FIXTURES, "h5", "seq.h5"), path)
    with h5py.File(path, "r+") as f:
        f["dense/dense/back"] = f["/"]        # a hard-link cycle through the root
        f["dense/dense/again"] = f["dense/dense/kernel:0"]
        for i in range(30):                   # 2**30 paths, 31 groups
            f[f"chain/g{i + 1}"] = f.create_group(f"chain/g{i}/a")
            f[f"chain/g{i}/b"] = f[f"chain/g{i}/a"]
    model = build("seq")
    model.load_weights(path)
    expected = np.load(os.path.join(FIXTURES, "h5", "seq.tf_keras.npz"))
    for i, w in enumerate(model.get_weights()):
        assert np.array_equal(w, expected[f"w{i}"])


def test_libhdf5_itself_cannot_follow_external_links_through_the_reader_access(tmp_path):
    """Without the walk, reaching an external link through ``open_object``/``exists`` fails in
    libhdf5 (the linked file is never read), while h5py's default access would read it."""
    source = victim(tmp_path, (3,))
    path = str(tmp_path / "w.h5")
    with h5py.File(path, "w") as f:
        f["g/ext"] = h5py.ExternalLink(source, "/secret")
        f["g/w"] = np.ones(3)
    with h5py.File(path, "r") as f:
        assert f["g/ext"][0] == SECRET  # what the library would do by default
        with pytest.raises((KeyError, OSError), match="open"):
            h5_isolation.open_object(f, "g/ext", path)
        assert not h5_isolation.exists(f, "g/ext")
        assert h5_isolation.exists(f, "g/w") and h5_isolation.open_object(f, "g/w", path)[1] == 1


def test_every_real_fixture_passes_the_walk_and_still_loads():
    names = [os.path.join(d, n) for d in ("h5", "h5_model") for n in
             sorted(os.listdir(os.path.join(FIXTURES, d))) if n.endswith(".h5")]
    assert len(names) == 8
    for name in names:
        with h5py.File(os.path.join(FIXTURES, name), "r") as f:
            h5_isolation.check_file(f, name)
        keras.train.verify(os.path.join(FIXTURES, name))
    for name in ("tutorial", "functional"):
        assert keras.train.verify(os.path.join(FIXTURES, "keras", f"{name}.keras")).n_tensors
        keras.models.load_model(os.path.join(FIXTURES, "keras", f"{name}.keras"))
    keras.models.load_model(os.path.join(FIXTURES, "h5_model", "sequential.h5"))
    for name in ("seq", "conv", "emb"):
        for suffix in (".h5", ".weights.h5"):
            build(name).load_weights(os.path.join(FIXTURES, "h5", name + suffix))


def test_savepoint_files_round_trip_through_the_isolated_reader(tmp_path):
    model = build("seq")
    for name in ("w.h5", "m.weights.h5"):
        model.save_weights(str(tmp_path / name))
        other = build("seq")
        other.load_weights(str(tmp_path / name))
        for a, b in zip(model.get_weights(), other.get_weights()):
            assert np.array_equal(a, b)


def test_doctests():
    result = doctest.testmod(h5_isolation, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

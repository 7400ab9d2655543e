"""HDF5 isolation: an HDF5 file is read only from its own bytes, never from another file.

HDF5 can pull data from other files: external links (``h5py.ExternalLink``), virtual datasets
(VDS) and datasets with external raw storage (``create_dataset(..., external=...)``). A hostile
``.h5``/``.weights.h5``/``.keras`` file could use them to load another file's contents into a
model's weights, and files from tf.keras and Keras 3 carry no checksum that would notice. Neither
Keras nor savepoint writes any link other than hard links, so the rules are strict:

- ``check_file`` walks every group once (object addresses are tracked, so hard-link cycles and
  shared groups cost one visit) and refuses external links, soft links (cycles included),
  user-defined links, virtual datasets and external storage, before anything is read;
- ``open_object``/``exists`` reach objects through a link access property list whose external
  link file access uses the in-memory core driver over a non-HDF5 image, so libhdf5 itself
  fails to open any linked file (it never reads one), and ``open_object`` checks every dataset's
  layout before handing it out.

Every refusal is a ``FormatError`` naming the file, the object, what was found and the fix.

Example:
    >>> import h5py, numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "w.h5")
    >>> with h5py.File(p, "w") as f:
    ...     f["w"] = np.ones(2); f["x"] = h5py.ExternalLink("other.h5", "/secret")
    >>> with h5py.File(p, "r") as f:
    ...     check_file(f, p)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    savepoint.errors.FormatError: ... object '/x' is an external link to 'other.h5:/secret' ...
"""

from __future__ import annotations

from typing import Any

import h5py

from savepoint.errors import FormatError

MAX_LINKS = 10_000_000  # links walked in one file; real Keras files hold thousands
_EXPECTED = ("Expected every group and dataset to be stored inside this file and reached by "
             "hard links only, as tf.keras, Keras 3 and savepoint write them; savepoint never "
             "reads another file through an HDF5 file.")
_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


def _refusing_lapl() -> h5py.h5p.PropLAID:
    """A link access list whose external links open files with the core driver over an image
    that is not HDF5: libhdf5 uses the image instead of the named file, so traversal fails."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fapl_core(backing_store=False)
    fapl.set_file_image(b"\0" * 64)
    lapl = h5py.h5p.create(h5py.h5p.LINK_ACCESS)
    lapl.set_elink_fapl(fapl)
    return lapl


_LAPL = _refusing_lapl()


def check_file(file: h5py.File, where: str) -> None:
    """Walk every object of the open ``file`` once; ``FormatError`` on the first link or
    dataset that reads outside it (``where`` names the file in messages).

    Example:
        >>> import h5py, numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "ok.h5")
        >>> with h5py.File(p, "w") as f:
        ...     f["g/w"] = np.ones(2); f["g/again"] = f["g/w"]  # a second hard link is fine
        >>> with h5py.File(p, "r") as f:
        ...     check_file(f, p)
    """
    try:
        _walk(file, where)
    except FormatError:
        raise
    except _ERRORS as exc:
        raise FormatError(f"HDF5 file {where!r} is damaged: walking its groups failed "
                          f"({exc}).") from None


def _walk(file: h5py.File, where: str) -> None:
    root = h5py.h5o.open(file.id, b"/", lapl=_LAPL)
    seen = {h5py.h5o.get_info(root).addr}
    stack, links = [("", root)], 0
    while stack:
        path, gid = stack.pop()
        names = _link_names(gid, MAX_LINKS - links, where, path)
        links += len(names)
        for name in names:
            child = f"{path}/{name.decode('utf-8', 'replace')}"
            info = gid.links.get_info(name)  # the link itself, never its target
            if info.type != h5py.h5l.TYPE_HARD:
                raise _refusal(where, child, _link_kind(gid, name, info.type, child))
            if info.u in seen:
                continue  # a hard-link cycle or a shared object: already walked
            seen.add(info.u)
            obj = h5py.h5o.open(gid, name, lapl=_LAPL)
            if isinstance(obj, h5py.h5g.GroupID):
                stack.append((child, obj))
            elif isinstance(obj, h5py.h5d.DatasetID):
                check_dataset(obj, where, child)


def _link_names(gid: h5py.h5g.GroupID, budget: int, where: str, path: str) -> list[bytes]:
    names: list[bytes] = []

    def collect(name: bytes) -> bool | None:
        names.append(name)
        return True if len(names) > budget else None  # a non-None result stops the iteration

    gid.links.iterate(collect)
    if len(names) > budget:
        raise FormatError(f"HDF5 file {where!r} holds more than {MAX_LINKS} links (walking "
                          f"{path or '/'!r}); refusing to read it. Expected a Keras weights or "
                          f"model file. Fix: load a file saved by Keras or savepoint.")
    return names


def _link_kind(gid: h5py.h5g.GroupID, name: bytes, kind: int, path: str) -> str:
    if kind == h5py.h5l.TYPE_EXTERNAL:
        target_file, target = gid.links.get_val(name)
        return f"an external link to '{_text(target_file)}:{_text(target)}'"
    if kind == h5py.h5l.TYPE_SOFT:
        target = _text(gid.links.get_val(name))
        cycle = path == target or path.startswith(target.rstrip("/") + "/")
        return f"a soft link to {target!r}" + (" (a link cycle: it points back at itself or a "
                                               "group that contains it)" if cycle else "")
    return f"a user-defined link (type {kind})"


def check_dataset(dataset: h5py.h5d.DatasetID, where: str, path: str) -> None:
    """``FormatError`` if the dataset's data lives outside the file: a virtual dataset or
    external raw storage.

    Example:
        >>> import h5py, numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "ok.h5")
        >>> with h5py.File(p, "w") as f:
        ...     f["w"] = np.ones(2)
        >>> with h5py.File(p, "r") as f:
        ...     check_dataset(f["w"].id, p, "/w")
    """
    plist = dataset.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        sources = ", ".join(f"'{_text(plist.get_virtual_filename(i))}:"
                            f"{_text(plist.get_virtual_dsetname(i))}'"
                            for i in range(min(plist.get_virtual_count(), 3)))
        raise _refusal(where, path, f"a virtual dataset mapping {sources or 'nothing'}",
                       "store the values in a regular dataset")
    if plist.get_external_count():
        raise _refusal(where, path, f"a dataset with external raw storage in "
                                    f"'{_text(plist.get_external(0)[0])}'",
                       "store the values in a regular dataset")


def open_object(file: h5py.File, path: str, where: str) -> Any:
    """The group, dataset or named datatype at ``path``, reached without following any link
    out of the file (datasets checked by ``check_dataset``); ``KeyError`` if it is missing.

    Example:
        >>> import h5py, numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "ok.h5")
        >>> with h5py.File(p, "w") as f:
        ...     f["g/w"] = np.ones(2)
        >>> with h5py.File(p, "r") as f:
        ...     open_object(f, "g/w", p).shape
        (2,)
    """
    oid = h5py.h5o.open(file.id, path.encode("utf-8"), lapl=_LAPL)
    if isinstance(oid, h5py.h5g.GroupID):
        return h5py.Group(oid)
    if isinstance(oid, h5py.h5d.DatasetID):
        check_dataset(oid, where, "/" + path.lstrip("/"))
        return h5py.Dataset(oid, readonly=True)
    return h5py.Datatype(oid)


def exists(file: h5py.File, path: str) -> bool:
    """Whether an object exists at ``path``, reached without following links out of the file.

    Example:
        >>> import h5py, numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "ok.h5")
        >>> with h5py.File(p, "w") as f:
        ...     f["g/w"] = np.ones(2)
        >>> with h5py.File(p, "r") as f:
        ...     exists(f, "g/w"), exists(f, "g/x/y")
        (True, False)
    """
    try:
        return bool(h5py.h5o.exists_by_name(file.id, path.encode("utf-8"), lapl=_LAPL))
    except _ERRORS:
        return False  # a missing intermediate group, or a link that failed to resolve


def _refusal(where: str, path: str, found: str,
             fix: str = "copy the linked data into the file") -> FormatError:
    return FormatError(
        f"HDF5 file {where!r}: object {path!r} is {found}. {_EXPECTED} Fix: {fix} (or re-save "
        f"the weights from a model that holds them) and load the self-contained file.")


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

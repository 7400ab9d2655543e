"""The small text tree shared by tools/make_directory_dataset_goldens.py (tf-keras) and
tests/utils/test_directory_datasets.py (savepoint)."""

import os

FILES = {
    "neg/a.txt": "bad movie", "neg/b.txt": "awful", "neg/sub/c.txt": "not good at all",
    "neg/skip.md": "ignored", "pos/x.txt": "great fun", "pos/y.txt": "loved it",
    "pos/z.TXT": "superb", "zzz/only.txt": "third class", "pos/w.txt": "fine",
}
CASES = {
    "plain": dict(shuffle=False, batch_size=3),
    "categorical": dict(shuffle=False, batch_size=4, label_mode="categorical", max_length=5),
    "unbatched": dict(shuffle=False, batch_size=None),
    "seeded": dict(shuffle=True, seed=7, batch_size=2),
    "train": dict(shuffle=True, seed=3, validation_split=0.3, subset="training"),
    "val": dict(shuffle=True, seed=3, validation_split=0.3, subset="validation"),
    "class_names": dict(shuffle=False, class_names=["zzz", "pos", "neg"]),
}


def make_tree(root: str) -> None:
    for rel, text in FILES.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

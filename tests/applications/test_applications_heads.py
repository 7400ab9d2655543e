"""The classifier top and the headless pooling of one builder per family, shared by
``imagenet_utils.classifier_top``/``pooled_features``, match the last layers real tf.keras builds
(names, classes, output shape) for ``include_top=True`` and ``pooling`` None, "avg", "max"
(tests/fixtures/applications/heads/heads.json, tools/make_applications_manifest.py heads)."""

from __future__ import annotations

import json
import os

import pytest

from savepoint import applications
from test_applications import _stem  # the auto-name stems, shared with the manifest test

HEADS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                     "applications", "heads", "heads.json")
with open(HEADS) as _f:
    GOLDEN = json.load(_f)


@pytest.mark.parametrize("key", sorted(GOLDEN["heads"]))
def test_classifier_top_and_pooling_match_tf_keras(key):
    builder, variant = key.split("/")
    size = GOLDEN["sizes"][builder]
    model = getattr(applications, builder)(weights=None, input_shape=(size, size, 3),
                                           **GOLDEN["variants"][variant])
    theirs = GOLDEN["heads"][key]
    count = len(theirs["layers"])
    assert [(_stem(l.name), type(l).__name__) for l in model.layers[-count:]] == [
        (_stem(n), c) for n, c in theirs["layers"]]
    assert list(model.output_shape) == theirs["output_shape"]

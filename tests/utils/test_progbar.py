"""keras.utils.Progbar: Keras's averaging of values, stateful metrics, add()."""

import io

from savepoint.utils import Progbar


def test_values_are_averaged_over_steps_unless_stateful():
    out = io.StringIO()
    bar = Progbar(4, stateful_metrics=["acc"], stream=out)
    bar.update(1, [("loss", 1.0), ("acc", 0.1)])
    bar.update(3, [("loss", 3.0), ("acc", 0.5)])  # covers 2 steps: (1 + 3*2) / 3
    bar.add(1, [("loss", 5.0), ("acc", 0.9)])  # (7 + 5) / 4
    line = out.getvalue().strip().splitlines()[-1]
    assert line.startswith("4/4 [==============================]")
    assert line.endswith("- loss: 3.0000 - acc: 0.9000")


def test_verbose_2_prints_one_summary_line():
    out = io.StringIO()
    bar = Progbar(2, verbose=2, stream=out)
    bar.update(1, [("loss", 2.0)])
    bar.update(2, [("loss", 4.0)])
    text = out.getvalue()
    assert text.count("\n") == 1 and text.startswith("2/2 - ") and "loss: 3.0000" in text


def test_pack_unpack_helpers_are_in_utils():
    import savepoint as keras
    assert keras.utils.unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert keras.utils.pack_x_y_sample_weight(1, 2) == (1, 2)

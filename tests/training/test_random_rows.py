"""The one sampler of rows (``training.data.random_rows``): a uniform, seeded, ordered subset."""

from __future__ import annotations

import numpy as np

from training.data import random_rows


def test_a_seeded_subset_in_the_rows_order() -> None:
    rows = [f"headline {i}" for i in range(1000)]
    picked = random_rows(rows, 100, seed=7)
    assert len(picked) == len(set(picked)) == 100
    assert picked == sorted(picked, key=rows.index)  # in the rows' order
    assert picked == random_rows(rows, 100, seed=7) != random_rows(rows, 100, seed=8)
    # the draw every caller made before there was one sampler: trained models pick the same rows
    assert picked == [rows[i] for i in sorted(np.random.default_rng(7).choice(1000, 100, replace=False))]


def test_all_rows_where_there_are_no_more_than_the_limit() -> None:
    rows = ["a", "b", "c"]
    assert random_rows(rows, 3, seed=0) == rows and random_rows(rows, 10, seed=0) is not rows


def test_not_stratified_the_mix_is_kept_only_on_average() -> None:
    rows = [("en", i % 2) for i in range(900)] + [("ro", i % 2) for i in range(100)]
    picked = random_rows(rows, 100, seed=0)
    romanian = sum(lang == "ro" for lang, _ in picked)
    assert 0 < romanian < 30  # about a tenth, as in the rows, but not exactly

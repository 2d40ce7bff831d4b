"""Benchmark sizes. `quick` fits 15 minutes on a 2-core CPU; `full` is the
seed-sized job for a GPU machine; `tiny` is for the test suite (seconds per scenario)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from trainer.errors import UserError


@dataclass(frozen=True)
class Profile:
    name: str
    # setup
    setup_repeats: int          # cold and warm stack starts each
    first_run_repeats: int      # SDK first runs per tracker, each in a fresh process
    # micro
    micro_calls: int            # logging calls per style
    micro_batch: int            # values per batched call
    # macro: the training job
    image_size: int
    epochs: int
    batch_size: int
    macro_repeats: int          # measured rounds (each round runs every arm once, order rotated)
    macro_warmup: int           # discarded rounds
    # storage
    storage_values: int         # metric values logged to measure bytes per value
    # query
    query_run_counts: tuple[int, ...]
    query_repeats: int
    query_steps: int            # metric history length per stored run
    # load
    load_writers: int
    load_points: int            # per writer
    load_batch: int

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    "tiny": Profile("tiny", setup_repeats=1, first_run_repeats=1, micro_calls=50, micro_batch=10,
                    image_size=32, epochs=1, batch_size=32, macro_repeats=2, macro_warmup=0,
                    storage_values=500, query_run_counts=(2, 5), query_repeats=3, query_steps=5,
                    load_writers=2, load_points=100, load_batch=50),
    "quick": Profile("quick", setup_repeats=2, first_run_repeats=3, micro_calls=1000, micro_batch=10,
                     image_size=64, epochs=3, batch_size=32, macro_repeats=3, macro_warmup=1,
                     storage_values=20000, query_run_counts=(10, 100, 1000), query_repeats=15, query_steps=20,
                     load_writers=4, load_points=5000, load_batch=100),
    "full": Profile("full", setup_repeats=3, first_run_repeats=5, micro_calls=10000, micro_batch=10,
                    image_size=256, epochs=50, batch_size=32, macro_repeats=5, macro_warmup=1,
                    storage_values=100000, query_run_counts=(10, 100, 1000), query_repeats=30, query_steps=50,
                    load_writers=8, load_points=20000, load_batch=500),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UserError(f"unknown profile {name!r}; valid: {', '.join(PROFILES)}") from None

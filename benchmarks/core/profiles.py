"""Benchmark sizes. `quick` fits 15 minutes on a 2-core CPU, stack start included;
`full` is the seed-sized job for a GPU machine; `tiny` is for the test suite."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from trainer.errors import UserError


@dataclass(frozen=True)
class Profile:
    name: str
    # setup
    setup_repeats: int          # cold and warm stack starts each
    first_run_repeats: int      # SDK first runs per tracker, each in a fresh process
    # micro: the training loop's logging call alone
    micro_calls: int            # measured calls (steps) per tracker and style
    micro_warmup: int           # calls made first and discarded
    micro_values: int           # values per call: the loop logs one (train/loss) per step
    # step: per-step cost from paired blocks inside one process per arm
    step_image_sizes: tuple[int, ...]   # tuned and deferred at each; naive and calibration at the first
    step_batch_size: int
    step_block_steps: int       # optimizer steps per block
    step_pairs: tuple[int, ...]  # measured pairs of blocks (logged, plain) per arm, by image size (calibrations:
    #                              the first size's count, the resolution they check)
    step_naive_pairs: int       # the same for the naive arms, whose cost is milliseconds, not 100 µs
    step_warmup_pairs: int      # pairs run first and discarded
    step_rewarm_steps: int      # untimed steps after each block's drain, so every block starts warm
    # macro: the training job
    image_size: int
    epochs: int
    batch_size: int
    macro_styles: tuple[str, ...]   # the metrics-only arms' styles (per-step cost by style: the step scenario)
    macro_rounds: int           # measured paired rounds of `none` and the metrics-only arms
    macro_warmup: int           # discarded rounds
    extra_rounds: int           # rounds that also run the full family, system metrics and the 4x job
    long_factor: int            # the model check's longer job: this many times the epochs
    probe_image_size: int       # the step-time probe for the projection to the seed's job
    probe_steps: int
    probe_warmup: int
    seed_epochs: int            # the seed's job the projection targets
    seed_image_size: int
    # storage
    storage_values: int         # metric values logged to measure bytes per value
    # query
    query_run_counts: tuple[int, ...]
    query_repeats: int
    query_steps: int            # metric history length per stored run
    ui_repeats: int             # page loads per page and run count in a real browser
    # load
    load_writers: int
    load_points: int            # per writer
    load_batch: int

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def indicative_extras(self) -> bool:
        """Fewer than 10 rounds: the report labels those figures indicative."""
        return self.extra_rounds < 10


PROFILES = {
    "tiny": Profile("tiny", setup_repeats=1, first_run_repeats=1, micro_calls=50, micro_warmup=5, micro_values=1,
                    step_image_sizes=(32,), step_batch_size=8, step_block_steps=2, step_pairs=(4,), step_naive_pairs=4,
                    step_warmup_pairs=1, step_rewarm_steps=1,
                    image_size=32, epochs=1, batch_size=32, macro_styles=("naive", "tuned", "deferred"),
                    macro_rounds=2, macro_warmup=0, extra_rounds=1,
                    long_factor=2, probe_image_size=64, probe_steps=2, probe_warmup=1, seed_epochs=50,
                    seed_image_size=256, storage_values=500, query_run_counts=(2, 5), query_repeats=3, query_steps=5, ui_repeats=1,
                    load_writers=2, load_points=100, load_batch=50),
    "quick": Profile("quick", setup_repeats=1, first_run_repeats=1, micro_calls=400, micro_warmup=50,
                     micro_values=1, step_image_sizes=(32, 64), step_batch_size=1, step_block_steps=2,
                     step_pairs=(350, 250), step_naive_pairs=40, step_warmup_pairs=2, step_rewarm_steps=1,
                     image_size=48, epochs=2, batch_size=32, macro_styles=("tuned",),
                     macro_rounds=10, macro_warmup=1, extra_rounds=2, long_factor=4, probe_image_size=256, probe_steps=5, probe_warmup=2,
                     seed_epochs=50, seed_image_size=256, storage_values=20000, query_run_counts=(10, 100, 1000),
                     query_repeats=10, query_steps=20, ui_repeats=1, load_writers=4, load_points=5000, load_batch=100),
    "full": Profile("full", setup_repeats=3, first_run_repeats=5, micro_calls=10000, micro_warmup=500,
                    micro_values=1, step_image_sizes=(64, 256), step_batch_size=32, step_block_steps=4,
                    step_pairs=(400, 400), step_naive_pairs=100, step_warmup_pairs=5, step_rewarm_steps=1,
                    image_size=256, epochs=50, batch_size=32, macro_styles=("naive", "tuned", "deferred"),
                    macro_rounds=10, macro_warmup=1,
                    extra_rounds=10, long_factor=4, probe_image_size=256, probe_steps=20, probe_warmup=5,
                    seed_epochs=50, seed_image_size=256, storage_values=100000, query_run_counts=(10, 100, 1000),
                    query_repeats=30, query_steps=50, ui_repeats=10, load_writers=8, load_points=20000, load_batch=500),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UserError(f"unknown profile {name!r}; valid: {', '.join(PROFILES)}") from None

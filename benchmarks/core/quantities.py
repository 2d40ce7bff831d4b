"""What a figure measures: one enumeration of quantities, each with its unit, its label, which way is
better, and how `compare` judges two runs' values of it (with the reason for the margin).

Scenarios name their figures' quantity with a member of `Quantity`; the headline, the report, the plots
and `compare` select through the same members, so go-to-definition leads from a report row to here and
from here to every scenario that measures it."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Better(StrEnum):
    LOWER = "lower"
    HIGHER = "higher"
    NEITHER = "neither"   # a description of the run, not a cost or a benefit


class Check(StrEnum):
    """How `compare` judges a quantity's two values."""
    TEST = "test"      # samples in both runs: differs when Holm-significant AND beyond the margin (else: margin)
    EQUAL = "equal"    # a count the same job must repeat exactly: any difference is a disagreement
    MARGIN = "margin"  # one value per run, no interval: differs when beyond the margin
    SHOW = "show"      # shown side by side, not judged (the reason is the margin's `why`)


@dataclass(frozen=True)
class Margin:
    """What a user would call the same: |a - b| within max(absolute, relative x the larger |value|).
    Within-run intervals leave out run-to-run variation; the margin is the practical allowance for it."""
    relative: float = 0.0
    absolute: float = 0.0
    why: str = ""

    def allows(self, a: float, b: float) -> bool:
        return abs(a - b) <= max(self.absolute, self.relative * max(abs(a), abs(b)))


EXACT = Margin(why="a count the same job repeats exactly")
BYTES = Margin(relative=0.05, why="the rows and files of one job; 5 % leaves room for compression and page fill")
STEP = Margin(relative=0.25, absolute=5000.0,
              why="5 ms per optimizer step is about 5 % of one step of the quick profile's job on a CPU (the loop "
                  "amortises validation and checkpoints over few steps), below what would change a choice, and "
                  "what other load on a shared CPU moves the loop time by between runs; 25 % for larger costs")
BLOCKS = Margin(relative=0.25, absolute=100.0,
                why="100 µs per step is what paired blocks inside one process resolve on a 2-core CPU; 25 % for "
                    "larger costs")
SECONDS = Margin(relative=0.25, absolute=0.5,
                 why="a per-run cost half a second apart is the same to a user waiting for a job; 25 % for longer ones")
SERVICE_START = Margin(relative=0.25, absolute=1.0, why="process start-up depends on the page cache: 1 s or 25 %")
SHARE = Margin(relative=0.25, absolute=2.0,
               why="2 percentage points of a job's time, or 25 % of the overhead: a user would not choose differently")
PROJECTED = Margin(relative=0.25, absolute=0.5,
                   why="half a percentage point of a 50-epoch job, or 25 %: below what would change a choice")
CALL = Margin(relative=0.25, absolute=20.0,
              why="20 µs per call, or 25 %: per-call timings move with CPU frequency and cache state between runs")
LATENCY = Margin(relative=0.25, absolute=5.0, why="5 ms, or 25 %: below what a user of the UI notices")
PAGE = Margin(relative=0.25, absolute=50.0, why="50 ms, or 25 %: below what a user of the UI notices")
THROUGHPUT = Margin(relative=0.25, why="writers and server share this machine's cores: 25 %")
REQUESTS = Margin(relative=0.5,
                  why="async logging sends what each flush finds queued, so the request count follows timing: "
                      "a factor below 2 is the same integration")
MEMORY = Margin(relative=0.25, why="resident memory moves with allocator and cache state: 25 %")
ACCURACY = Margin(absolute=0.02, why="the same seeded job; CPU thread scheduling may change the last digits")
NOT_JUDGED = Margin(why="depends on this machine's speed at the time, not on the tracker")


class Quantity(StrEnum):
    """value, unit, label, better, check, margin."""

    def __new__(cls, value: str, unit: str, label: str, better: Better, check: Check, margin: Margin):
        member = str.__new__(cls, value)
        member._value_ = value
        member.unit, member.label, member.better, member.check, member.margin = unit, label, better, check, margin
        return member

    # setup
    COLD_START = ("cold_start", "s", "service start to healthy, after a clean", Better.LOWER, Check.TEST,
                  SERVICE_START)
    WARM_START = ("warm_start", "s", "service start to healthy, data kept", Better.LOWER, Check.TEST, SERVICE_START)
    FIRST_RUN = ("first_run", "s", "SDK first run: import + init + first metric readable + finish", Better.LOWER,
                 Check.TEST, SERVICE_START)
    # micro
    CALLER_COST = ("caller_cost", "µs/call", "training-thread cost of one logging call (p50)", Better.LOWER,
                   Check.MARGIN, CALL)
    END_TO_END_COST = ("end_to_end_cost", "µs/value", "end to end per value, flush included", Better.LOWER,
                       Check.MARGIN, CALL)
    AUTH_COST = ("auth_cost", "µs/request", "what MLflow's login adds to one request", Better.LOWER, Check.TEST,
                 Margin(relative=0.5, absolute=200.0,
                        why="0.2 ms per request, or 50 %: a difference of a few requests' noise on a shared CPU"))
    REQUEST_TIME = ("request_time", "ms/request", "one synchronous log-metric request", Better.LOWER, Check.MARGIN,
                    LATENCY)
    # step
    PER_STEP_COST = ("per_step_cost", "µs/step", "logging cost per optimizer step, from paired blocks in one process",
                     Better.LOWER, Check.TEST, BLOCKS)
    PLANTED_COST = ("planted_cost", "µs/step", "a calibration arm's planted per-step cost, as measured",
                    Better.NEITHER, Check.SHOW,
                    Margin(why="a check of the harness: whether its interval covers the planted value, in this run"))
    # macro
    PER_STEP_OVERHEAD = ("per_step_overhead", "µs/step", "extra loop time per optimizer step", Better.LOWER,
                         Check.TEST, STEP)
    STYLE_DIFFERENCE = ("style_difference", "µs/step", "per-step difference between two styles", Better.LOWER,
                        Check.TEST, STEP)
    FIXED_COST = ("fixed_cost", "s", "fixed per-run cost", Better.LOWER, Check.TEST, SECONDS)
    PHASE_TIME = ("phase_time", "s", "mean seconds in one phase of the job", Better.LOWER, Check.TEST, SECONDS)
    JOB_OVERHEAD = ("job_overhead", "%", "whole-job overhead of the measured job", Better.LOWER, Check.TEST, SHARE)
    JOB_OVERHEAD_PROJECTED = ("job_overhead_projected", "%", "projected overhead of the seed's job", Better.LOWER,
                              Check.TEST, PROJECTED)
    MODEL_CHECK = ("model_check", "%", "longer job's overhead, predicted vs measured", Better.NEITHER, Check.SHOW,
                   Margin(why="a check of the projection model, reported with its verdict"))
    RESOLUTION = ("resolution", "µs/step", "per-step resolution of this machine", Better.LOWER, Check.SHOW,
                  NOT_JUDGED)
    IMAGES_PER_S = ("images_per_s", "images/s", "training throughput", Better.HIGHER, Check.SHOW, NOT_JUDGED)
    TEST_ACCURACY = ("test_accuracy", "", "test accuracy of the timed job", Better.HIGHER, Check.MARGIN, ACCURACY)
    # api_calls
    SDK_CALLS = ("sdk_calls", "calls", "SDK calls in one tracked run", Better.LOWER, Check.EQUAL, EXACT)
    VALUES_LOGGED = ("values_logged", "values", "metric values logged", Better.NEITHER, Check.EQUAL, EXACT)
    OTHER_HOST_REQUESTS = ("other_host_requests", "requests", "HTTP requests to hosts outside the stack",
                           Better.LOWER, Check.EQUAL, EXACT)
    RECORDS_WRITTEN = ("records_written", "records", "records in the .wandb file", Better.LOWER, Check.MARGIN,
                       Margin(relative=0.1, why="the SDK adds timing and telemetry records: 10 %"))
    HTTP_REQUESTS = ("http_requests", "requests", "HTTP requests to the stack in one tracked run", Better.LOWER,
                     Check.MARGIN, REQUESTS)
    SERVER_REQUESTS = ("server_requests", "requests", "requests in the MLflow server's access log", Better.LOWER,
                       Check.MARGIN, REQUESTS)
    ARTIFACT_PROXY_REQUESTS = ("artifact_proxy_requests", "requests", "artifact requests proxied by the server",
                               Better.LOWER, Check.MARGIN, REQUESTS)
    # storage
    BYTES_PER_VALUE = ("bytes_per_value", "bytes/value", "storage per logged value", Better.LOWER, Check.MARGIN,
                       BYTES)
    METRICS_TABLE_BYTES_PER_VALUE = ("metrics_table_bytes_per_value", "bytes/value",
                                     "metrics table bytes per logged value", Better.LOWER, Check.MARGIN, BYTES)
    RUN_METADATA_BYTES = ("run_metadata_bytes", "bytes", "metadata store bytes per run", Better.LOWER, Check.MARGIN,
                          BYTES)
    RUN_ARTIFACT_BYTES = ("run_artifact_bytes", "bytes", "bucket bytes per run", Better.LOWER, Check.MARGIN, BYTES)
    RUN_FOLDER_BYTES = ("run_folder_bytes", "bytes", "W&B run folder bytes per run", Better.LOWER, Check.MARGIN,
                        BYTES)
    SERVER_VOLUME_BYTES_PER_RUN = ("server_volume_bytes_per_run", "bytes", "W&B server volume bytes per run",
                                   Better.LOWER, Check.MARGIN, BYTES)
    # query
    LATENCY = ("latency", "ms", "REST call latency (p50)", Better.LOWER, Check.TEST, LATENCY)
    UI_PAGE_LOAD = ("ui_page_load", "ms", "UI page load in a headless browser (p50)", Better.LOWER, Check.TEST, PAGE)
    # load
    POINTS_PER_S = ("points_per_s", "points/s", "concurrent writers: points/s at the highest K", Better.HIGHER,
                    Check.MARGIN, THROUGHPUT)
    POINTS_PER_S_AT_K = ("points_per_s_at_k", "points/s", "points/s at K writers", Better.HIGHER, Check.MARGIN,
                         THROUGHPUT)
    POINTS_ATTEMPTED = ("points_attempted", "points", "points attempted", Better.NEITHER, Check.SHOW,
                        Margin(why="writers log for a fixed time, so the count follows the machine's speed"))
    POINTS_STORED = ("points_stored", "points", "points read back", Better.NEITHER, Check.SHOW,
                     Margin(why="writers log for a fixed time, so the count follows the machine's speed"))
    POINTS_LOST = ("points_lost", "points", "points attempted and not read back", Better.LOWER, Check.EQUAL, EXACT)
    POINTS_DUPLICATED = ("points_duplicated", "points", "points read back twice or never attempted", Better.LOWER,
                         Check.EQUAL, EXACT)
    FAILED_REQUESTS = ("failed_requests", "requests", "failed requests", Better.LOWER, Check.EQUAL, EXACT)
    WRITER_OVERLAP = ("writer_overlap", "fraction", "share of the span when every writer logged at once",
                      Better.HIGHER, Check.SHOW, Margin(why="a validity check of the load's common start"))
    USL_PEAK = ("usl_peak", "points/s", "USL fit: peak throughput within the measured range of K", Better.HIGHER,
                Check.TEST, THROUGHPUT)
    # monitoring
    VISIBLE_LATENCY = ("visible_latency", "ms", "log call to readable through the tracker's read API, p50",
                       Better.LOWER, Check.MARGIN,
                       Margin(relative=0.5, absolute=20.0, why="20 ms, or half: a reader polling a chart sees no "
                                                               "difference; W&B's file is written in blocks"))
    # api_calls: what one full-work run stored to show
    VISUAL_KINDS = ("visual_kinds", "views", "views of one kind stored by a full-work run", Better.HIGHER,
                    Check.EQUAL, EXACT)
    # macro: the hybrid (--tracker both), from the paired rounds
    HYBRID_STEP_COST = ("hybrid_step_cost", "µs/step", "hybrid: extra loop time per step, both trackers",
                        Better.LOWER, Check.TEST, STEP)
    HYBRID_RUN_COST = ("hybrid_run_cost", "s", "hybrid: extra seconds per run, both trackers", Better.LOWER,
                       Check.TEST, SECONDS)
    # storage
    STAGED_ARTIFACT_BYTES = ("staged_artifact_bytes", "bytes", "W&B artifact files staged by the SDK per run",
                             Better.LOWER, Check.MARGIN, BYTES)
    SERVICE_MEMORY = ("service_memory", "MiB", "resident memory of a service's process tree", Better.LOWER,
                      Check.MARGIN, MEMORY)

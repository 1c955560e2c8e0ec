"""The one settings object of core. Nothing else in core reads the environment.

Fields are grouped in sections a reader looks for (``settings.runner.memory_bytes``,
``settings.api.max_batch_rows``); a section field is the environment variable
``TRACER_<SECTION>__<FIELD>`` (``TRACER_RUNNER__MEMORY_BYTES``), a top-level field
``TRACER_<FIELD>`` (``TRACER_HOME``). ``docs/settings.md`` lists them all; a test keeps that
page complete. Other distributions own their sections (``TRACER_REGISTRY__*``), so unknown
top-level names are left to them; an old flat name from before the sections
(``TRACER_RUNNER_<FIELD>``) is logged with the name that replaced it
(``tracer.settings_renamed``).

The embedded defaults put everything under ``TRACER_HOME`` (``.tracer/`` in the working
directory): a SQLite platform database, an MLflow SQLite store with a local artifact folder,
and content-addressed blobs. No server is needed.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracer.settings_renamed import CORE_RENAMED, warn_renamed


class Tier(BaseModel):
    """A tenant tier: what a month buys and what overage costs (money in minor units).

    A plain model, not settings: only ``TRACER_TIERS`` sets tiers, so an unprefixed
    ``OVERAGE_ALLOWED`` in the environment changes nothing."""

    monthly_price_cents: int
    predictions_per_month: int
    training_runs_per_month: int
    custom_domains: int
    overage_allowed: bool = True
    #: automatic retraining (tracer.restraint): hours between two automatic challengers,
    #: and how many a month at most
    retraining_cooldown_hours: float = 24.0
    automatic_retraining_per_month: int = 8


def _default_tiers() -> dict[str, Tier]:
    return {
        "starter": Tier(monthly_price_cents=9_900, predictions_per_month=10_000,
                        training_runs_per_month=10, custom_domains=1, overage_allowed=False,
                        retraining_cooldown_hours=72.0, automatic_retraining_per_month=2),
        "professional": Tier(monthly_price_cents=49_900, predictions_per_month=250_000,
                             training_runs_per_month=100, custom_domains=5),
        "enterprise": Tier(monthly_price_cents=249_900, predictions_per_month=5_000_000,
                           training_runs_per_month=1_000, custom_domains=50,
                           retraining_cooldown_hours=6.0, automatic_retraining_per_month=30),
    }


class Section(BaseModel):
    """A group of settings. A misspelt name inside a section (``TRACER_RUNNER__MEMROY_BYTES``)
    stops the process at start instead of being ignored."""

    model_config = ConfigDict(extra="forbid")


class MlflowSettings(Section):
    tracking_uri: str | None = Field(
        default=None, description="MLflow store; default sqlite:///<home>/mlflow.db")
    artifact_root: Path | None = Field(
        default=None, description="MLflow artifacts; default <home>/mlruns")


class PluginSettings(Section):
    allow: list[str] | None = Field(
        default=None,
        description="If set, only entry points (or distributions) with these names load.")
    block: list[str] = Field(default_factory=list,
                             description="Entry points never loaded (kill list).")
    dir: Path | None = Field(
        default=None, description="Where verified third-party wheels are installed; "
        "default <home>/plugins. Never on the host's import path: its plugins run in runners.")
    first_party: list[str] = Field(
        default_factory=lambda: ["tracer-registry"],
        description="Distributions trusted to run in-process when installed in the "
        "platform's own environment, with those they name in their `tracer.first_party` "
        "entry points; every other plugin runs in a confined runner.")
    kill_list_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often a serving host re-reads the kill list.")

    @field_validator("allow", "block", "first_party", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class RunnerSettings(Section):
    """The confined processes third-party plugin code runs in."""

    memory_bytes: int = Field(default=2 << 30, ge=256 << 20,
                              description="Address-space limit of one runner.")
    cpu_seconds: int = Field(default=3_600, ge=10,
                             description="CPU seconds one runner may use in its life.")
    open_files: int = Field(default=256, ge=32)
    file_bytes: int = Field(default=64 << 20, ge=1 << 20,
                            description="Largest file a runner may write (scratch).")
    scratch_bytes: int = Field(default=64 << 20, ge=1 << 20,
                               description="Size of a runner's /tmp (tmpfs).")
    threads: int = Field(default=2, ge=1, description="OpenMP threads in a runner.")
    call_seconds: float = Field(default=30.0, gt=0, description="Time limit of one hook call.")
    train_seconds: float = Field(default=1_800.0, gt=0,
                                 description="Time limit of one tracer_train call.")
    start_seconds: float = Field(default=120.0, gt=0,
                                 description="Time limit to start and import.")
    idle_seconds: float = Field(default=300.0, gt=0,
                                description="A runner idle this long is stopped.")
    max: int = Field(default=8, ge=1, description="Live runners per host process "
                     "(the least recently used is stopped to start another).")


class TrainingSettings(Section):
    """How a model is trained and judged, and what a training job (tracer.jobs,
    tracer.dispatch) may ask for and where it runs."""

    eval_fraction: float = Field(default=0.2, gt=0, lt=0.5,
                                 description="Latest share of records held out for evaluation.")
    calibration_fraction: float = Field(default=0.2, gt=0, lt=0.5,
                                        description="Latest share of training rows for "
                                                    "calibration.")
    bootstrap_samples: int = Field(default=500, ge=50)
    tenant_row_weight: float = Field(default=4.0, gt=0, description="Sample weight of each "
                                     "of a tenant's own rows next to reference rows (1).")
    backend: Literal["local", "dask"] = Field(
        default="local", description="Where training jobs run: `local` (a worker "
        "subprocess of the API process) or `dask` (a task on the Dask cluster at "
        "`training.dask_scheduler_address`, running the same confined worker subprocess).")
    dask_scheduler_address: str | None = Field(
        default=None, description="The Dask scheduler, e.g. tcp://127.0.0.1:8786 "
        "(backend=dask).")
    slots: int = Field(default=1, ge=1, description="Training jobs running at once, across "
                       "every API process; the next to start is the oldest job of the tenant "
                       "with the fewest running.")
    max_rounds: int = Field(default=10_000, ge=1, description="Largest `num_boost_round` / "
                            "`n_estimators` a job may ask for.")
    max_depth: int = Field(default=12, ge=1, description="Largest `max_depth` a job may ask for.")
    max_rows: int = Field(default=5_000_000, ge=40, description="Most rows a job may train on.")
    max_seconds: float = Field(default=3_600.0, gt=0, description="Wall time of one job from "
                               "its start; past it the job is killed and failed (unless it is "
                               "registering its model).")
    max_attempts: int = Field(default=2, ge=1, description="Starts of one job on Dask when "
                              "the worker running it dies.")
    poll_seconds: float = Field(default=1.0, gt=0, description="How often a running job's "
                                "supervisor checks for a cancel or the wall time, and reports "
                                "it is alive.")
    heartbeat_seconds: float = Field(
        default=120.0, gt=0, description="A running job whose supervisor has not reported "
        "for this long is failed (its API process or Dask worker is gone).")


class ApiSettings(Section):
    """The HTTP API (`tracer serve`): where it listens and what one request may carry."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default=1, ge=0, description="Server processes `tracer serve` runs on its port "
        "(SO_REUSEPORT); 0 runs one per core.")
    max_batch_rows: int = Field(default=1_000, ge=1)
    max_body_bytes: int = Field(default=2_000_000, ge=1_024)
    max_upload_bytes: int = Field(default=50_000_000, ge=1_024)
    max_upload_expanded_bytes: int = Field(default=200_000_000, ge=1_024, description="An "
                                           "upload's size once decompressed (gzip, Parquet).")
    max_upload_rows: int = Field(default=1_000_000, ge=1)
    max_active_keys: int = Field(default=20, ge=1, le=10_000, description="Unrevoked API "
                                 "keys one tenant (or one holder of a non-tenant key) may hold.")
    max_name_chars: int = Field(default=100, ge=1, le=1_000, description="Longest key name, "
                                "tenant name or key subject; control characters are refused.")
    mcp_calls_per_minute: int = Field(
        default=300, ge=1, description="Tool calls one API key may make on the MCP endpoint "
        "(/mcp) in any minute, across all API workers (counted in the platform database).")
    champion_refresh_seconds: float = Field(default=2.0, ge=0)
    auth_cache_seconds: float = Field(
        default=2.0, ge=0, description="How long a verified API key is trusted without a "
        "database look-up; revocations in the same process apply at once, in others within "
        "this time. 0 looks every key up on every request.")


class TelemetrySettings(Section):
    """/metrics for operators (tracer.api.telemetry)."""

    metrics_token: str | None = Field(
        default=None, description="A bearer token that may read /metrics besides admin "
        "keys (give it to the Prometheus scraper); unset: admin keys only.")
    metrics_dir: Path | None = Field(
        default=None, description="Where `tracer serve --workers N` keeps the workers' "
        "Prometheus samples (multiprocess mode; emptied at every start); default "
        "<home>/metrics.")


class UiSettings(Section):
    """The web console (tracer.ui)."""

    secret: str | None = Field(
        default=None, description="Signs console session cookies and CSRF tokens; default: "
        "a random secret kept in <home>/ui-secret (mode 0600), shared by every worker.")
    session_seconds: int = Field(default=8 * 3600, ge=60,
                                 description="A console sign-in lasts this long.")


class BillingSettings(Section):
    """The platform's own prices (minor units of USD; sub-cent prices in micro-units:
    1 USD = 1_000_000). Core's spend estimate (tracer.spend) and the ledger's rating at
    period close both price with them, so they live here, not in the ledger."""

    currency: str = "USD"
    overage_price_micros: int = 10_000  # $0.01 per prediction above the allowance
    training_run_price_micros: int = 50_000  # $0.05
    custom_domain_price_micros: int = 500_000  # $0.50


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACER_", env_nested_delimiter="__",
                                      extra="ignore")

    home: Path = Field(default=Path(".tracer"), description="Where embedded stores live.")
    database_url: str | None = Field(
        default=None, description="Platform DB; default sqlite:///<home>/tracer.db")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL", description="SQLite durability of a commit: FULL syncs to disk "
        "before an answer leaves (survives a power cut); NORMAL leaves the sync to the next "
        "checkpoint (survives a killed server, not a power cut) and saves a disk flush per "
        "commit.")
    seed: int = 20261123
    clock: str | None = Field(default=None, description="Pin (ISO instant) or offset "
                              "(+31d, -2h) the platform clock (tracer.clock).")
    tiers: dict[str, Tier] = Field(default_factory=_default_tiers)
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)

    def model_post_init(self, context: Any, /) -> None:
        warn_renamed(os.environ, CORE_RENAMED)

    @property
    def platform_db_url(self) -> str:
        if self.database_url:
            return self.database_url
        if not self.home.is_absolute():  # relative to the current directory, which may move
            return f"sqlite:///{(self.home / 'tracer.db').resolve()}"
        return _sqlite_url(self.home)

    @property
    def tracking_uri(self) -> str:
        return self.mlflow.tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        return (self.mlflow.artifact_root or self.home / "mlruns").resolve()

    @property
    def plugins_path(self) -> Path:
        return (self.plugins.dir or self.home / "plugins").resolve()

    @property
    def blobs(self) -> Path:
        return (self.home / "blobs").resolve()

    @property
    def data_dir(self) -> Path:
        return (self.home / "data").resolve()

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    # MLflow's only network attempt is usage telemetry; Tracer runs offline.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()


@lru_cache(maxsize=64)
def _sqlite_url(home: Path) -> str:
    """The embedded database's URL (resolved once per home: every transaction asks)."""
    return f"sqlite:///{(home / 'tracer.db').resolve()}"

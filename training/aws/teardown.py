"""Tear down the project's endpoints, endpoint configs and models.

Two rules hold whatever is asked:

- only resources carrying the project's tag (``sentiment-api:project=sentiment-api``) are
  deleted; anything else is refused by name or simply never seen;
- the endpoint the live vocabulary names (pointer -> vocabulary -> model record) is spared
  unless ``force_live`` is given, since deleting it takes the API down.

The work is split into a plan (pure, shown to the person) and its execution.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from training.aws import sagemaker_adapter as sma
from training.aws.sagemaker_adapter import Progress
from training.errors import UsageError
from vocab_store.store import VocabularyStore

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeardownPlan:
    """What will be deleted, in order, and the live endpoint that is being spared."""

    endpoints: tuple[str, ...]
    configs: tuple[str, ...]
    models: tuple[str, ...]
    spared_live: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.endpoints or self.configs or self.models)

    def describe(self) -> list[str]:
        lines = [f"endpoint {n}" for n in self.endpoints]
        lines += [f"endpoint config {n}" for n in self.configs]
        lines += [f"model {n}" for n in self.models]
        return lines


def live_endpoint(store: VocabularyStore) -> str | None:
    """The endpoint named by the live vocabulary, or ``None`` when nothing is live.

    Raises :class:`vocab_store.StoreError` when S3 cannot say: teardown must not guess.
    """
    pointer = store.current_pointer()
    if pointer is None:
        return None
    vocabulary = store.read(pointer.key)
    return None if vocabulary.model is None else vocabulary.model.endpoint


def _used(names: Iterable[str], uses: dict[str, set[str]]) -> set[str]:
    return {u for n in names for u in uses.get(n, set())}


def plan_teardown(
    sagemaker: SageMakerClient,
    *,
    names: Sequence[str] = (),
    everything: bool = False,
    except_live: bool = False,
    live: str | None = None,
    force_live: bool = False,
) -> TeardownPlan:
    """Work out what to delete. ``names`` are endpoint (or leftover model/config) names;
    ``everything`` selects all the project's endpoints; ``except_live`` all but the live one.

    Raises :class:`UsageError` for a name that is not the project's, and when the live
    endpoint is selected without ``force_live``.
    """
    if bool(names) + everything + except_live != 1:
        raise UsageError("name the endpoints to tear down, or pass --all or --except-live")
    inventory = sma.project_inventory(sagemaker)
    endpoints = {r.name for r in inventory.endpoints}
    configs = {r.name for r in inventory.configs}
    models = {r.name for r in inventory.models}
    # endpoint -> its config, config -> its models: a kept resource keeps what it uses.
    endpoint_uses: dict[str, set[str]] = {}
    for name in endpoints:
        state = sma.describe_endpoint(sagemaker, name)
        endpoint_uses[name] = {state.config_name} if state else set()
    config_uses: dict[str, set[str]] = {}
    for name in configs:
        config = sma.describe_endpoint_config(sagemaker, name)
        config_uses[name] = {v.model_name for v in config.variants} if config else set()

    if names:
        unknown = [n for n in names if n not in endpoints | configs | models]
        if unknown:
            raise UsageError(
                f"not the project's: {', '.join(unknown)} (no such endpoint, endpoint config "
                "or model tagged sentiment-api:project); `sentiment endpoints` lists them"
            )
        chosen = set(names) & endpoints
    else:
        chosen = set(endpoints)

    spared = None
    if live is not None and live in chosen and not force_live:
        if not except_live:
            raise UsageError(
                f"endpoint {live} serves the live vocabulary: deleting it takes the API down. "
                "Publish another run first, use --except-live, or pass --force-live"
            )
        chosen.discard(live)
        spared = live

    kept_endpoints = endpoints - chosen
    if names:
        doomed_configs = (_used(chosen, endpoint_uses) | set(names)) & configs
    else:
        doomed_configs = set(configs)
    doomed_configs -= _used(kept_endpoints, endpoint_uses)
    if names:
        doomed_models = (_used(doomed_configs, config_uses) | set(names)) & models
    else:
        doomed_models = set(models)
    doomed_models -= _used(configs - doomed_configs, config_uses)
    return TeardownPlan(
        endpoints=tuple(sorted(chosen)),
        configs=tuple(sorted(doomed_configs)),
        models=tuple(sorted(doomed_models)),
        spared_live=spared,
    )


def execute_teardown(
    sagemaker: SageMakerClient, plan: TeardownPlan, *, progress: Progress | None = None
) -> int:
    """Delete what ``plan`` names (endpoints, then configs, then models); returns how many
    were deleted. Something already gone is skipped, not an error."""
    say = progress or (lambda message: log.info("%s", message))
    deleted = 0
    steps = (
        ("endpoint", plan.endpoints, sma.delete_endpoint),
        ("endpoint config", plan.configs, sma.delete_endpoint_config),
        ("model", plan.models, sma.delete_model),
    )
    for what, names, delete in steps:
        for name in names:
            if delete(sagemaker, name):
                deleted += 1
                say(f"deleted {what} {name}")
            else:
                say(f"{what} {name} was already gone")
    return deleted

"""A posterior sampling's status on its way to the server's progress: relayed by a Dask worker as the
runner sent it (checked by the same decoder), kept in the stored progress, and put in words."""

from __future__ import annotations

import dataclasses
from typing import Any

from metagenx.engine.posterior import SamplingStatus, sampling_words
from metagenx.events import Progress, Violation
from metagenx.executors.dask_events import decode_update
from metagenx.runner.protocol import encode
from metagenx.server.schemas import Progress as ProgressPublic
from metagenx.server.views import sampling_fields, stored_sampling


def test_a_dask_worker_relays_the_sampling_status_unchanged() -> None:
    sent = Progress(7, 40, 0.02, 1200, 3.5, sampling=SamplingStatus(0, 10_000, 40, 200))
    assert decode_update(7, encode(sent)) == sent
    too_many = dataclasses.replace(sent, sampling=SamplingStatus(20_000, 10_000, 300, 200))
    assert isinstance(decode_update(7, encode(too_many)), Violation), "the same checks as a local runner's"


def test_the_words_say_burn_in_then_draws() -> None:
    assert sampling_words(SamplingStatus(0, 10_000, 40, 200)) == (
        "sampling the posterior: burn-in 40/200 generations"
    )
    assert (
        sampling_words(SamplingStatus(1200, 10_000, 260, 200)) == "sampling the posterior: 1200/10000 draws"
    )


def test_live_and_stored_progress_carry_the_sampling_and_its_words() -> None:
    status = SamplingStatus(1200, 10_000, 260, 200)
    live: dict[str, Any] = {"generation": 40, "best_fom": 0.02, "evaluations": 1200, "elapsed": 3.5}
    public = ProgressPublic(**live, **sampling_fields(status))
    assert public.sampling == dataclasses.asdict(status)
    assert public.sampling_words == "sampling the posterior: 1200/10000 draws"
    assert ProgressPublic(**live, **sampling_fields(None)).sampling_words is None
    assert stored_sampling(dataclasses.asdict(status)) == sampling_fields(status)
    assert stored_sampling(None) == {} and stored_sampling({"draws": 1}) == {}

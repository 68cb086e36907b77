"""Small inert classes that take the place of GenX's pickled classes while reading a ``.gx``.

A pickle of a GenX object names its class (e.g. ``data.DataSet`` in GenX 2,
``genx.data.DataSet`` in GenX 3) and then hands that class its attribute dict.
The stand-ins here only store that dict: they have no behaviour, run no code of
the file, and cannot be called. :mod:`metagenx.engine.gx.mapping` then copies what it
understands onto real GenX 3 objects.
"""

from __future__ import annotations

import pickle
from typing import Any, ClassVar


class StandIn:
    """A pickled GenX object: the name of its class and its attribute dict."""

    __slots__ = ("state",)
    genx_class: ClassVar[str] = "object"
    """The GenX class this stands in for, without module (e.g. ``"DataSet"``)."""

    state: dict[str, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> StandIn:
        if args or kwargs:
            raise pickle.UnpicklingError(
                f"{cls.genx_class} was pickled with constructor arguments; not a GenX file"
            )
        instance = super().__new__(cls)
        instance.state = {}
        return instance

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            merged: dict[str, Any] = dict(state[0] or {})
            if isinstance(state[1], dict):
                merged.update(state[1])
            state = merged
        if not isinstance(state, dict) or not all(isinstance(key, str) for key in state):
            raise pickle.UnpicklingError(f"{self.genx_class}: its pickled state is not an attribute dict")
        self.state = state

    def get(self, name: str, default: Any = None) -> Any:
        """The pickled attribute ``name``, or ``default`` when the file lacks it."""
        return self.state.get(name, default)

    def __repr__(self) -> str:
        return f"<{self.genx_class} stand-in with {sorted(self.state)}>"


class DataListStandIn(StandIn):
    __slots__ = ()
    genx_class = "DataList"


class DataSetStandIn(StandIn):
    __slots__ = ()
    genx_class = "DataSet"


class ParametersStandIn(StandIn):
    __slots__ = ()
    genx_class = "Parameters"


class DiffEvStandIn(StandIn):
    __slots__ = ()
    genx_class = "DiffEv"


class DiffEvConfigStandIn(StandIn):
    __slots__ = ()
    genx_class = "DiffEvConfig"


class CircBufferStandIn(StandIn):
    __slots__ = ()
    genx_class = "CircBuffer"


class CallbacksStandIn(StandIn):
    __slots__ = ()
    genx_class = "DiffEvDefaultCallbacks"


class ColorCycleStandIn(StandIn):
    __slots__ = ()
    genx_class = "CyclicList"


class ParameterRowStandIn(list[Any]):
    """GenX 3's ``ParameterRow`` (a list subclass); pickled as a list plus appends."""

    genx_class: ClassVar[str] = "ParameterRow"

    def __setstate__(self, state: Any) -> None:
        if state not in (None, {}):
            raise pickle.UnpicklingError("ParameterRow: unexpected pickled state")


class DumpDictStandIn(dict[str, Any]):
    """GenX 3's ``DumpDict`` (a dict subclass in data set metadata)."""

    genx_class: ClassVar[str] = "DumpDict"

    def __setstate__(self, state: Any) -> None:
        if state not in (None, {}):
            raise pickle.UnpicklingError("DumpDict: unexpected pickled state")


class GlobalReference:
    """A function the file names but that is never called, e.g. its FOM function ``fom_funcs.log``.

    Instances are not callable and accept no state, so a pickle cannot use them to run
    anything; they only carry the module and name.
    """

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError(f"{self.module}.{self.name} cannot take pickled state")

    def __repr__(self) -> str:
        return f"<reference to {self.module}.{self.name}>"


class MethodReference:
    """A method of a pickled GenX object, as GenX 2 pickled it (``getattr(optimizer, "rand_1_bin")``).

    Only names on :data:`REFERABLE_METHODS` become one; it holds the class and method names
    and nothing else (not the object), cannot be called and accepts no state.
    """

    __slots__ = ("genx_class", "name")

    def __init__(self, genx_class: str, name: str) -> None:
        self.genx_class = genx_class
        self.name = name

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError(f"{self.genx_class}.{self.name} cannot take pickled state")

    def __repr__(self) -> str:
        return f"<method {self.genx_class}.{self.name}>"


MUTATION_SCHEMES = frozenset(
    {"best_1_bin", "rand_1_bin", "best_either_or", "rand_either_or", "jade_best", "simplex_best_1_bin"}
)
"""The optimizer's trial-vector methods: GenX's ``create_trial`` choices."""

REFERABLE_METHODS: dict[str, frozenset[str]] = {
    "DiffEv": MUTATION_SCHEMES
    | {
        "standard_init_new_generation",
        "simplex_init_new_generation",
        "simplex_old_init_new_generation",
        "jade_init_new_generation",
        "standard_update_pop",
        "jade_update_pop",
        "calc_trial_fom",
        "calc_trial_fom_parallel",
        "text_output",
        "plot_output",
        "parameter_output",
        "fitting_ended",
        "autosave",
    },
    "DiffEvDefaultCallbacks": frozenset(
        {"text_output", "plot_output", "parameter_output", "fitting_ended", "autosave"}
    ),
}
"""Methods a GenX 2 optimizer pickle may refer to, by class: the mutation schemes, generation
and population steps and callbacks GenX 2's ``DiffEv`` kept as attributes."""


STANDIN_CLASSES: dict[str, type[Any]] = {
    "data.DataList": DataListStandIn,
    "data.DataSet": DataSetStandIn,
    "parameters.Parameters": ParametersStandIn,
    "parameters.ParameterRow": ParameterRowStandIn,
    "diffev.DiffEv": DiffEvStandIn,
    "diffev.DiffEvConfig": DiffEvConfigStandIn,
    "diffev.CircBuffer": CircBufferStandIn,
    "diffev.DiffEvDefaultCallbacks": CallbacksStandIn,
    "core.colors.CyclicList": ColorCycleStandIn,
    "model.DumpDict": DumpDictStandIn,
}
"""GenX classes by module-relative name; GenX 3 prefixes the module with ``genx.``."""

INERT_FUNCTIONS = frozenset(
    {
        "diffev.default_plot_output",
        "diffev.default_text_output",
        "diffev.default_parameter_output",
        "diffev.default_fitting_ended",
        "diffev.defualt_autosave",
        "multiprocessing.cpu_count",
        "processing.cpuCount",
    }
)
"""Functions a GenX 2 optimizer pickle refers to (callbacks, ``cpu_count``); read as names only."""

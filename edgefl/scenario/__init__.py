"""Scenarios: the schema, its loader and its error messages.

A scenario is one YAML file. Loading it: parse the YAML (bounded, see
:mod:`edgefl.scenario.loader`), apply ``--set dotted.path=value`` overrides
(:mod:`.overrides`), merge the named channel profile under the inline channel fields,
validate everything against :class:`Scenario` (:mod:`.schema`; unknown keys are errors),
then resolve device profile names (:mod:`.resolve`). Every problem is reported as
``file: field = value: what is allowed`` through :class:`ScenarioError` (:mod:`.errors`),
before any simulation work starts.
"""

from edgefl.config_model import StrictModel
from edgefl.scenario.errors import (
    MISSING,
    FieldProblem,
    ScenarioError,
    problems_from_validation,
)
from edgefl.scenario.loader import load_scenario
from edgefl.scenario.overrides import apply_overrides, parse_override
from edgefl.scenario.resolve import ResolvedScenario, ResourceError, resolve
from edgefl.scenario.schema import (
    CompressionConfig,
    GaussianCEOConfig,
    OutputConfig,
    Position,
    RateAllocationConfig,
    Scenario,
    ServerConfig,
    WorkerGroup,
    WorkerOverride,
    WorkersConfig,
    json_schema,
)

__all__ = [
    "MISSING", "CompressionConfig", "FieldProblem", "GaussianCEOConfig", "OutputConfig", "Position",
    "RateAllocationConfig", "ResolvedScenario", "ResourceError", "Scenario", "ScenarioError", "ServerConfig",
    "StrictModel", "WorkerGroup", "WorkerOverride", "WorkersConfig", "apply_overrides", "json_schema", "load_scenario",
    "parse_override", "problems_from_validation", "resolve",
]

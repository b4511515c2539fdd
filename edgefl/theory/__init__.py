"""Rate-distortion theory of the RD paper (Zhang, Tao, Wang, Xu): Gaussian CEO rate region,
sum-rate-distortion functions, the P1 rate allocator and the Corollary 3 cost bound.
Pure functions; rates in bits unless ``unit="nats"``."""

from .allocation import (
    UNCODED_BITS_PER_PARAM,
    alpha_from_snr,
    fdma_bandwidth_for_deadline,
    fdma_split_for_bandwidth,
    p1_rates_bits,
    symmetric_rates_bits,
    tdma_airtime,
)
from .ceo import (
    corner_point,
    corollary1_point,
    distortion,
    in_rate_region,
    lemma1_order,
    r_from_z,
    region_slack,
    symmetric_point,
    z_from_r,
)
from .convergence import (
    cost_per_iteration_bits,
    iterations_bound,
    optimal_rho,
    remark6_cost_decreasing,
    remark6_ratio,
    total_cost_bits,
)
from .p1 import P1Result, solve_p1
from .report import bound_report, plan_report
from .sumrate import (
    distortion_from_rho,
    dsc_gain,
    noise_rate,
    r_in,
    r_sum,
    rho_from_distortion,
    signsgd_distortion,
    signsgd_point,
)

__all__ = [
    "P1Result", "UNCODED_BITS_PER_PARAM", "alpha_from_snr", "bound_report", "corner_point",
    "corollary1_point", "cost_per_iteration_bits", "distortion", "distortion_from_rho", "dsc_gain",
    "fdma_bandwidth_for_deadline", "fdma_split_for_bandwidth", "in_rate_region", "iterations_bound", "lemma1_order",
    "noise_rate", "optimal_rho", "p1_rates_bits", "plan_report", "r_from_z", "r_in", "r_sum",
    "region_slack", "remark6_cost_decreasing", "remark6_ratio", "rho_from_distortion",
    "signsgd_distortion", "signsgd_point", "solve_p1", "symmetric_point", "symmetric_rates_bits",
    "tdma_airtime", "total_cost_bits", "z_from_r",
]

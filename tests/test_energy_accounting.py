"""Round energy: components sum to the total and match hand formulas; batteries drop workers."""

import numpy as np
import pytest

from edgefl.energy import Batteries, server_round_energy, worker_round_energy


def test_components_match_hand_formula_and_sum_to_total():
    e = worker_round_energy(
        round_s=10.0,
        compute_s=np.array([2.0, 4.0]),
        transmit_s=np.array([1.0, 0.5]),
        receive_s=np.array([0.25, 0.25]),
        compute_power_w=np.array([5.0, 2.0]),
        tx_power_w=np.array([3.0, 1.0]),
        rx_power_w=np.array([1.0, 0.5]),
        idle_power_w=np.array([0.5, 0.1]),
    )
    assert e.compute_j.tolist() == [10.0, 8.0]
    assert e.transmit_j.tolist() == [3.0, 0.5]
    assert e.receive_j.tolist() == [0.25, 0.125]
    assert e.idle_j == pytest.approx([(10 - 3.25) * 0.5, (10 - 4.75) * 0.1])
    assert e.total_j == pytest.approx(e.compute_j + e.transmit_j + e.receive_j + e.idle_j)
    assert e.total_j[0] == pytest.approx(10 + 3 + 0.25 + 3.375)


def test_inactive_worker_idles_the_whole_round():
    e = worker_round_energy(4.0, np.array([1.0]), np.array([1.0]), np.array([1.0]),
                            np.array([9.0]), np.array([9.0]), np.array([9.0]), np.array([0.5]),
                            active=np.array([False]))
    assert e.total_j.tolist() == [2.0] and e.compute_j.tolist() == [0.0]


def test_busy_longer_than_the_round_is_an_error():
    with pytest.raises(ValueError, match="worker 1 is busy 6 s in a round of 5 s"):
        worker_round_energy(5.0, np.array([1.0, 4.0]), np.array([1.0, 2.0]), np.zeros(2),
                            np.ones(2), np.ones(2), np.ones(2), np.ones(2))


def test_server_energy_from_the_decoder_profile():
    assert server_round_energy(1e9, 22.7e-12, 0.5, 100.0) == pytest.approx((0.0227, 50.0))
    assert server_round_energy(1e9, None, 0.5, None) == (0.0, 0.0)


def test_batteries_drop_a_worker_after_the_round_that_empties_it():
    b = Batteries(np.array([10.0, np.nan, 3.0]))
    assert b.alive().tolist() == [True, True, True]
    assert b.drain(np.array([4.0, 100.0, 4.0])).tolist() == [False, False, True]
    assert b.alive().tolist() == [True, True, False]
    assert b.drain(np.array([6.0, 100.0, 0.0])).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="capacities"):
        Batteries(np.array([0.0]))

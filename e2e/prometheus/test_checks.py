"""Tests of checks.py (no processes): run-prometheus-e2e.sh --self-test, or
python3 -m unittest discover -s e2e/prometheus -p 'test_*.py'."""
import json
import math
import os
import sys
import unittest
from fractions import Fraction

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "envoy"))
import checks  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(HERE), "fixtures", "envoy-1.40")


def promql_quantile(q, buckets):
    """histogram_quantile over [(lower, upper, count)] as Prometheus walks it
    (float rank, first bucket whose cumulative count reaches it, linear)."""
    total = sum(c for _, _, c in buckets)
    rank = q * total
    running = 0
    for lower, upper, c in buckets:
        if running + c >= rank:
            return lower + (upper - lower) * ((rank - running) / c) if c else upper
        running += c
    return buckets[-1][1]


class TrueQuantile(unittest.TestCase):
    def test_rank_is_ceil_of_exact_product(self):
        values = list(range(1, 601))
        self.assertEqual(checks.true_quantile(values, 0.99), 594)  # 0.99 * 600 = 594 exactly
        self.assertEqual(checks.true_quantile(values, 0.5), 300)
        self.assertEqual(checks.true_quantile(list(range(1, 11)), 0.95), 10)  # ceil(9.5)
        self.assertEqual(checks.true_quantile([7], 0.01), 7)
        self.assertIsNone(checks.true_quantile([], 0.5))

    def test_float_q_would_round_wrongly(self):
        # 0.29 * 100 is 28.999999999999996 in floats; the exact rank is 29.
        self.assertEqual(checks.true_quantile(list(range(1, 101)), 0.29), 29)


class Classic(unittest.TestCase):
    B = checks.ENVOY_MS

    def test_le_is_inclusive(self):
        self.assertEqual(checks.classic_bucket(0, self.B), 0)
        self.assertEqual(checks.classic_bucket(0.5, self.B), 0)
        self.assertEqual(checks.classic_bucket(1, self.B), 1)
        self.assertEqual(checks.classic_bucket(1.0001, self.B), 2)
        self.assertEqual(checks.classic_bucket(10 ** 9, self.B), len(self.B))

    def test_seconds_bounds_are_the_literals(self):
        self.assertEqual(checks.ENVOY_SECONDS[0], 0.0005)
        self.assertEqual(checks.ENVOY_SECONDS[7], 0.25)
        self.assertEqual(checks.classic_bucket(251 / 1000, checks.ENVOY_SECONDS), 8)
        self.assertEqual(checks.classic_bucket(250 / 1000, checks.ENVOY_SECONDS), 7)

    def test_cumulative_and_edges(self):
        cum = checks.classic_cumulative([0, 1, 3, 7, 400, 10 ** 8], self.B)
        self.assertEqual(cum[:3], [1, 2, 3])
        self.assertEqual(cum[-1], 6)
        self.assertEqual(checks.classic_edges(0, self.B), (0.0, 0.5))
        self.assertEqual(checks.classic_edges(len(self.B), self.B), (3600000, 3600000))

    def test_promql_estimate_of_the_fixture_p99(self):
        # 592 durations <= 250 ms, 7 in (250, 500], 1 in (1000, 2500]: rank 594
        # is 2/7 into (0.25, 0.5].
        values = [0.1] * 592 + [0.251] * 7 + [1.301]
        cum = checks.classic_cumulative(values, checks.ENVOY_SECONDS)
        self.assertAlmostEqual(checks.promql_classic_quantile(0.99, checks.ENVOY_SECONDS, cum),
                               0.25 + 0.25 * 2 / 7, places=12)

    def test_plus_inf_bucket_reports_highest_bound(self):
        cum = checks.classic_cumulative([10 ** 8] * 3, self.B)
        self.assertEqual(checks.promql_classic_quantile(0.5, self.B, cum), 3600000)
        lo, hi, first, last = checks.quantile_range(0.5, checks.classic_buckets([10 ** 8] * 3, self.B))
        self.assertEqual((lo, hi), (3600000, 3600000))


class Native(unittest.TestCase):
    def test_index(self):
        base = checks.native_base()
        self.assertEqual(checks.native_index(1), 0)
        self.assertEqual(checks.native_index(2), 8)
        self.assertEqual(checks.native_index(0.5), -8)
        self.assertEqual(checks.native_index(0.25), -16)
        self.assertEqual(checks.native_index(1.0000001), 1)
        for v in (0.001, 0.251, 3, 7, 148, 1301, 3600000):
            i = checks.native_index(v)
            self.assertLess(base ** (i - 1), v)
            self.assertLessEqual(v, base ** i * (1 + 1e-15))

    def test_index_of_upper_round_trips(self):
        for i in range(-100, 200):
            self.assertEqual(checks.index_of_upper(checks.native_edges(i)[1]), i)

    def test_buckets(self):
        zero, counts = checks.native_buckets([0, 0, 1, 2, 2, 3], 2.0 ** -128)
        self.assertEqual(zero, 2)
        self.assertEqual(counts, {0: 1, 8: 2, checks.native_index(3): 1})
        lst = checks.native_bucket_list([0, 0, 1], 2.0 ** -128)
        self.assertEqual(lst[0], (0.0, 2.0 ** -128, 2))


class QuantileRange(unittest.TestCase):
    def test_exact_counts_give_the_bucket_of_the_true_quantile(self):
        values = [0.1] * 592 + [0.251] * 7 + [1.301]
        lo, hi, first, last = checks.quantile_range(0.99, checks.classic_buckets(values, checks.ENVOY_SECONDS))
        self.assertEqual((lo, hi, first, last), (0.25, 0.5, 8, 8))

    def test_rank_on_an_edge_widens_only_under_scaling(self):
        buckets = [(0, 1, 19), (1, 2, 1)]  # q*n = 19 = cumulative count of the first bucket
        self.assertEqual(checks.quantile_range(0.95, buckets)[2:], (0, 0))
        self.assertEqual(checks.quantile_range(0.95, buckets, 1.001)[2:], (0, 1))

    def test_empty_is_none(self):
        self.assertIsNone(checks.quantile_range(0.5, [(0, 1, 0), (1, 2, 0)]))

    def test_scaled_estimates_stay_inside(self):
        # Scale every bucket by its own factor within rho: the PromQL estimate
        # must stay inside quantile_range(rho).
        import random
        rnd = random.Random(7)
        for _ in range(300):
            values = [rnd.choice([0, 1, 2, 3, 7, 12, 40, 90, 120, 260, 600]) for _ in range(rnd.randint(1, 60))]
            rho = 1 + rnd.choice([0, 1e-5, 0.01, 0.1])
            buckets = checks.classic_buckets(values, checks.ENVOY_MS)
            scaled = [(l, u, c * (1 + rnd.random() * (rho - 1))) for l, u, c in buckets]
            for q in (0.5, 0.95, 0.99):
                lo, hi, _, _ = checks.quantile_range(q, buckets, rho)
                est = promql_quantile(q, scaled)
                self.assertTrue(lo - 1e-9 <= est <= hi + 1e-9, (values, q, rho, est, lo, hi))


class RateEnvelope(unittest.TestCase):
    def test_window_starting_at_the_first_sample(self):
        # 60 samples 1 s apart, the first 1 ms after the window start, the last
        # 0.999 s before its end (timestamps in ms, at epoch scale).
        t = 1795327379198
        f_max, rho = checks.window_envelope([(t, t + 59000, 60)] * 3, t + 59999, 60000)
        self.assertAlmostEqual(f_max, 1 + (0.001 + 0.999) / 59, places=12)
        self.assertAlmostEqual(rho, 1 + 0.001 / 59, places=10)

    def test_last_sample_at_the_window_end(self):
        t = 1795327379198
        f_max, rho = checks.window_envelope([(t, t + 59999, 61)], t + 59999, 60000)
        self.assertAlmostEqual(f_max, 1 + 0.001 / 59.999, places=12)

    def test_far_window_start_is_capped_at_1_1_intervals(self):
        f_max, rho = checks.window_envelope([(1030000, 1050000, 21)], 1050000, 60000)
        self.assertAlmostEqual(rho, 1 + 1.1 / 20, places=9)
        self.assertAlmostEqual(f_max, 1 + 1.1 / 20, places=9)

    def test_mixed_geometry_falls_back_to_f_max(self):
        f_max, rho = checks.window_envelope([(1000000, 1050000, 51), (1001000, 1050000, 50)], 1050500, 60000)
        self.assertAlmostEqual(rho, f_max * (1 + 1e-12), places=12)

    def test_too_few_samples(self):
        self.assertIsNone(checks.window_envelope([(1000000, 1000000, 1)], 1010000, 60000))


class Priming(unittest.TestCase):
    def test_split_keeps_order(self):
        prime, rest = checks.prime_split(["a", "b", "a", "c", "b", "a"], key=lambda r: r)
        self.assertEqual(prime, [0, 1, 3])
        self.assertEqual(rest, [2, 4, 5])

    def test_fixture_primes_one_line_per_istio_series(self):
        from prom_e2e import Data
        data = Data(FIXTURE)
        prime, rest = checks.prime_split(data.records, Data.istio_key)
        self.assertEqual(len(prime) + len(rest), 600)
        routes = {Data.route(data.records[i]) for i in prime}
        self.assertEqual(routes, set(data.totals["by_route"]))


class Diff(unittest.TestCase):
    def test_lists_missing_extra_wrong(self):
        lines = checks.diff_counts({"a": 1, "b": 2}, {"b": 3.0, "c": 1.0}, "route=")
        self.assertEqual(lines, ["missing route=a: expected 1", "wrong   route=b: expected 2, got 3",
                                 "extra   route=c: 1 (not in the truth)"])
        self.assertEqual(checks.diff_counts({"x": 5}, {"x": 5.0}), [])


class FixtureFigures(unittest.TestCase):
    """The figures the README quotes for the committed fixture."""

    def test_p99(self):
        with open(os.path.join(FIXTURE, "access.log")) as f:
            durations = [json.loads(l)["duration"] for l in f]
        self.assertEqual(checks.true_quantile(durations, 0.99), 251)
        self.assertEqual(checks.true_quantile(durations, 0.5), 0)


if __name__ == "__main__":
    unittest.main()

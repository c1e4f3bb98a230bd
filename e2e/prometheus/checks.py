"""Pure logic of the Prometheus end-to-end check: what the access log says the
answers must be, and how far a PromQL estimate may be from them.

No I/O and no processes here, so that tests/test_checks.py can exercise it.

Quantiles
---------
The true q-quantile of n observations is the observation of rank ceil(q*n)
(1-based, sorted ascending), q taken as the exact decimal (0.99 is 99/100).

PromQL's histogram_quantile, for classic and native histograms alike, takes
rank = q * count and walks the buckets up to the first whose cumulative
count reaches rank, then interpolates inside it.  So the estimate always lies
inside the bucket that holds the true quantile: [lower, upper] of that
bucket.  Two edge cases: a rank in the classic +Inf bucket returns the highest
finite bound, and the native zero bucket [-t, t] is read as [0, t] when there
are no negative buckets.  Prometheus computes rank in floating point; float(q)
is below q for 0.5 < q < 1 with q = 0.95 or 0.99 (and exact for 0.5), and the
rounded product float(q) * n is never above the exact q * n, so the bucket
chosen is the one the exact arithmetic chooses.

Under rate()
------------
sum(rate(x_bucket[r])) by (le) is, per bucket series, the increase over the
window times an extrapolation factor f that rate() computes per series:
f = (SI + e_start + e_end) / SI, SI the time between the first and the last
sample in the window.  Prometheus extrapolates to a window edge when the gap to
it is below 1.1 average sample intervals, else by half an interval, and never
past the point where the counter would have been zero.  Hence
0 <= e_start <= min(gap_start, 1.1 * avg) and likewise e_end.  Series scraped
together (one target) share SI and e_end; only e_start may differ (through the
zero point, which depends on the series' own values).  The bucket counts seen
by histogram_quantile are therefore c_k * f_k with f_k within a factor rho of
each other, rho = 1 + min(gap_start, 1.1 * avg) / SI, and the bucket chosen
lies between the one chosen with all lower buckets inflated by rho and the one
chosen with them deflated by rho (quantile_range below).  Evaluating at
t_first + range - 1 ms makes gap_start 1 ms, so rho - 1 is about 2e-5 and the
range is the single bucket of the true quantile unless its rank sits exactly
on a bucket edge.
"""
import math
from fractions import Fraction

# Envoy's default histogram bounds in milliseconds (Istio uses the same), as in
# Sources/Histograms (BucketLayout.envoyMilliseconds); the default slow-request
# threshold, 1000 ms, is already one of them.
ENVOY_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
            300000, 600000, 1800000, 3600000)
ENVOY_SECONDS = tuple(b / 1000 for b in ENVOY_MS)  # correctly rounded: the same doubles as 0.0005, ...

NATIVE_SCHEMA = 3


def native_base(schema=NATIVE_SCHEMA):
    return 2.0 ** (2.0 ** -schema)


def exact_q(q):
    """q as an exact fraction of its decimal form: 0.99 -> 99/100."""
    return Fraction(str(q)) if not isinstance(q, Fraction) else q


def true_quantile(values, q):
    """The observation of rank ceil(q*n) among `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(exact_q(q) * len(ordered))
    return ordered[max(rank, 1) - 1]


# --- classic buckets -------------------------------------------------------------

def classic_bucket(x, bounds):
    """Index of the classic bucket holding x: the first bound >= x (le is
    inclusive), len(bounds) for +Inf."""
    for i, b in enumerate(bounds):
        if x <= b:
            return i
    return len(bounds)


def classic_edges(index, bounds):
    """(lower, upper) of a classic bucket as histogram_quantile can report it:
    the lowest bucket starts at 0; the +Inf bucket reports the highest finite
    bound, so both its edges are that bound."""
    if index >= len(bounds):
        return bounds[-1], bounds[-1]
    return (0.0 if index == 0 else bounds[index - 1]), bounds[index]


def classic_cumulative(values, bounds):
    """Cumulative counts for every bound, then +Inf."""
    counts = [0] * (len(bounds) + 1)
    for v in values:
        counts[classic_bucket(v, bounds)] += 1
    out, running = [], 0
    for c in counts:
        running += c
        out.append(running)
    return out


def classic_buckets(values, bounds):
    """[(lower, upper, count)] in order, +Inf last, for quantile_range()."""
    cumulative = classic_cumulative(values, bounds)
    previous, out = 0, []
    for i, c in enumerate(cumulative):
        lower, upper = classic_edges(i, bounds)
        out.append((lower, upper, c - previous))
        previous = c
    return out


def promql_classic_quantile(q, bounds, cumulative):
    """What histogram_quantile computes from exact cumulative counts (linear
    interpolation, as Prometheus 2.x and 3.x do for classic buckets)."""
    total = cumulative[-1]
    if total == 0:
        return math.nan
    rank = float(q) * total
    b = next((i for i, c in enumerate(cumulative[:-1]) if c >= rank), len(bounds))
    if b == len(bounds):
        return bounds[-1]
    start = 0.0 if b == 0 else bounds[b - 1]
    below = 0 if b == 0 else cumulative[b - 1]
    return start + (bounds[b] - start) * ((rank - below) / (cumulative[b] - below))


# --- native buckets (schema 3 by default) ---------------------------------------------

def native_index(v, schema=NATIVE_SCHEMA):
    """Index i of the native bucket (base^(i-1), base^i] holding v > 0.

    Exact for powers of two (bucket boundaries at every schema); elsewhere a
    float log2, which is exact enough for integers and n/1000 values: none of
    them is near an irrational boundary (Histograms.docc)."""
    mantissa, exponent = math.frexp(v)
    if mantissa == 0.5:
        return (exponent - 1) * (1 << schema)
    return math.ceil(math.log2(v) * (1 << schema))


def native_edges(index, schema=NATIVE_SCHEMA):
    base = native_base(schema)
    return base ** (index - 1), base ** index


def native_buckets(values, zero_threshold, schema=NATIVE_SCHEMA):
    """{index: count} plus the zero-bucket count, for non-negative values."""
    zero, counts = 0, {}
    for v in values:
        if v <= zero_threshold:
            zero += 1
        else:
            i = native_index(v, schema)
            counts[i] = counts.get(i, 0) + 1
    return zero, counts


def native_bucket_list(values, zero_threshold, schema=NATIVE_SCHEMA):
    """[(lower, upper, count)] in order (zero bucket as [0, t] first), for quantile_range()."""
    zero, counts = native_buckets(values, zero_threshold, schema)
    out = [(0.0, zero_threshold, zero)] if zero else []
    for i in sorted(counts):
        lower, upper = native_edges(i, schema)
        out.append((lower, upper, counts[i]))
    return out


def index_of_upper(upper, schema=NATIVE_SCHEMA):
    """The index of a native bucket from its upper edge as Prometheus reports it."""
    return round(math.log2(upper) * (1 << schema))


# --- where an estimate may land ---------------------------------------------------------

def quantile_range(q, buckets, rho=1):
    """(lo, hi, first, last): the values histogram_quantile(q) may return for
    buckets [(lower, upper, count)], when each bucket's count may be scaled by
    its own factor within a ratio rho of the others (rho = 1: exact counts).
    first/last are the indexes of the buckets the estimate may come from.
    None when the buckets are empty (PromQL returns NaN)."""
    rho = Fraction(rho)
    q = exact_q(q)
    total = sum(c for _, _, c in buckets)
    if total == 0:
        return None
    cumulative, running = [], 0
    for _, _, c in buckets:
        running += c
        cumulative.append(running)
    last_index = len(buckets) - 1

    def first_reaching(target):
        return next((i for i, c in enumerate(cumulative) if c >= target), last_index)

    first = first_reaching(q * total / rho)
    last = first_reaching(q * total * rho)
    return buckets[first][0], buckets[last][1], first, last


def rate_factor_bounds(first_ms, last_ms, samples, eval_ms, range_ms):
    """(f_max, start_slack) for one series in a rate() window, from integer
    millisecond timestamps (epoch seconds as floats lose ~2e-7 s): the
    extrapolation factor lies in [1, f_max]; start_slack bounds how much it can
    differ from that of another series of the same scrapes (relative)."""
    si = (last_ms - first_ms) / 1000
    if samples < 2 or si <= 0:
        return None
    avg = si / (samples - 1)
    gap_start = (first_ms - (eval_ms - range_ms)) / 1000
    gap_end = (eval_ms - last_ms) / 1000
    start = min(gap_start, 1.1 * avg)
    end = min(gap_end, 1.1 * avg)
    return 1 + (start + end) / si, start / si


def window_envelope(geometries, eval_ms, range_ms):
    """For series of one rate() window, given [(first_ms, last_ms, samples)]:
    (f_max, rho).  The increase of every series is multiplied by a factor in
    [1, f_max]; factors differ between series by at most rho.  Series with the
    same first and last sample share SI and the end extrapolation, so only the
    start extrapolation makes them differ; otherwise rho is f_max."""
    if not geometries:
        return None
    bounds = [rate_factor_bounds(f, l, n, eval_ms, range_ms) for f, l, n in geometries]
    if any(b is None for b in bounds):
        return None
    f_max = max(b[0] for b in bounds)
    if len(set(geometries)) == 1:
        rho = 1 + bounds[0][1]
    else:
        rho = f_max
    return f_max, rho * (1 + 1e-12)


# --- priming the followed file -------------------------------------------------------

def prime_split(records, key):
    """Split records (in log order) into one first record per key, and the rest
    (in log order).  Returns two lists of indexes."""
    seen, prime, rest = set(), [], []
    for i, rec in enumerate(records):
        k = key(rec)
        if k in seen:
            rest.append(i)
        else:
            seen.add(k)
            prime.append(i)
    return prime, rest


# --- comparing ------------------------------------------------------------------

def diff_counts(expected, actual, what="", limit=40):
    """Lines describing every difference between two {key: number} maps
    (exact comparison; numbers from Prometheus are floats of integers)."""
    lines = []
    for k in sorted(set(expected) | set(actual), key=str):
        e, a = expected.get(k), actual.get(k)
        if e is None:
            lines.append(f"extra   {what}{fmt_key(k)}: {fmt_num(a)} (not in the truth)")
        elif a is None:
            lines.append(f"missing {what}{fmt_key(k)}: expected {fmt_num(e)}")
        elif float(e) != float(a):
            lines.append(f"wrong   {what}{fmt_key(k)}: expected {fmt_num(e)}, got {fmt_num(a)}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
    return lines


def fmt_key(k):
    if isinstance(k, tuple):
        return "{" + ", ".join(str(x) for x in k) + "}"
    return str(k)


def fmt_num(x):
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def parse_value(text):
    """A sample value as the HTTP API writes it ("1", "NaN", "+Inf")."""
    return float(text)

"""How one access-log record maps to the labels of logmetrics_http_requests_total.

This is the contract the end-to-end check holds logmetrics to, written once
and shared by the plan (a-priori truth), the run self-check and compare.py:

  route           Envoy's route_name; when it is null (no route matched), the
                  request path with its query string removed
  method          the request method
  response_code   the status code as a decimal string; "0" when no response
                  was sent (the client went away first)
  response_flags  Envoy's flags as a set, written in Envoy's enum order
                  ("URX,UF" and "UF,URX" both become "UF,URX"); "-" for none
  error_type      "server_error" if code >= 500, "client_error" if >= 400,
                  else "none"
  slow_request    "true" if duration > SLOW_THRESHOLD_MS, else "false"

The harness never relies on logmetrics' automatic path templating: every path
that reaches the null-route fallback is free of ids, numbers and hex.
"""
from collections import namedtuple

LABELS = ("route", "method", "response_code", "response_flags", "error_type", "slow_request")
SeriesKey = namedtuple("SeriesKey", LABELS)

SLOW_THRESHOLD_MS = 1000

# Envoy's CoreResponseFlag enum order (envoy/stream_info/stream_info.h).
FLAG_ORDER = (
    "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE",
    "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF",
    "DO", "DR", "UDO",
)
_FLAG_RANK = {f: i for i, f in enumerate(FLAG_ORDER)}


def normalize_flags(value):
    """'URX,UF' -> 'UF,URX'; None, '' and '-' -> '-'.  Unknown flags sort
    after the known ones, alphabetically, so the result is still canonical."""
    if value is None or value in ("", "-"):
        return "-"
    flags = {f.strip() for f in value.split(",") if f.strip() and f.strip() != "-"}
    if not flags:
        return "-"
    return ",".join(sorted(flags, key=lambda f: (_FLAG_RANK.get(f, len(FLAG_ORDER)), f)))


def flag_set(normalized):
    return set() if normalized == "-" else set(normalized.split(","))


def error_type(code):
    if code >= 500:
        return "server_error"
    if code >= 400:
        return "client_error"
    return "none"


def route_label(route_name, path):
    if route_name is not None and route_name not in ("", "-"):
        return route_name
    return (path or "").split("?", 1)[0]


def series_key(route_name, path, method, code, flags, duration_ms):
    return SeriesKey(
        route=route_label(route_name, path),
        method=method or "",
        response_code=str(int(code or 0)),
        response_flags=normalize_flags(flags),
        error_type=error_type(int(code or 0)),
        slow_request="true" if (duration_ms or 0) > SLOW_THRESHOLD_MS else "false",
    )


def key_of_record(rec):
    """Series key of one decoded Istio JSON access-log record."""
    return series_key(rec.get("route_name"), rec.get("path"), rec.get("method"),
                      rec.get("response_code"), rec.get("response_flags"), rec.get("duration"))


def key_to_labels(key):
    return dict(zip(LABELS, key))


def labels_to_key(labels):
    return SeriesKey(*(labels[name] for name in LABELS))
